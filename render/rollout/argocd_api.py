"""A small client of the ArgoCD REST API: one Application's health, sync and operation.

GET /api/v1/applications/<name> with a bearer token (an ArgoCD account that may only
`get` applications is enough); DELETE /api/v1/applications/<name>/operation terminates the
running operation (server/application/application.proto TerminateOperation; ArgoCD checks
the `sync` action on the Application). Standard library only; urllib is imported when a client
is made, so the renderer's import path stays light. The token is never printed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from render import layout

LOOPBACK = ("127.0.0.1", "localhost", "::1")
MAX_BYTES = 4 * 1024 * 1024


class ArgoCDError(Exception):
    """ArgoCD could not be read: the gate decides nothing from it."""


@dataclass(frozen=True)
class AppStatus:
    name: str
    found: bool
    health: str  # Healthy, Progressing, Degraded, Suspended, Missing, Unknown
    sync: str  # Synced, OutOfSync, Unknown
    revision: str  # the commit ArgoCD last compared against
    message: str = ""
    operation_phase: str = ""  # status.operationState.phase: Running, Terminating, Succeeded, Failed, Error
    operation_started: str = ""
    operation_message: str = ""

    @property
    def ok(self) -> bool:
        return self.found and self.health == "Healthy" and self.sync == "Synced"


def application_names(tenant: str) -> tuple[str, str]:
    """The two Applications render/argocd/tenant_apps.py renders per tenant: workloads and guardrails."""
    return layout.namespace(tenant), f"{layout.namespace(tenant)}-guardrails"


def parse_application(name: str, data: Any) -> AppStatus:
    status = _mapping(data, "status")
    health, sync, op = _mapping(status, "health"), _mapping(status, "sync"), _mapping(status, "operationState")
    return AppStatus(name, True, str(health.get("status") or "Unknown"), str(sync.get("status") or "Unknown"),
                     str(sync.get("revision") or ""), str(health.get("message") or "")[:300],
                     str(op.get("phase") or ""), str(op.get("startedAt") or ""), str(op.get("message") or "")[:300])


def _mapping(data: Any, key: str) -> dict[str, Any]:
    """data[key] when both are mappings, else {}: an odd answer reads as Unknown, never Healthy."""
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, dict) else {}


def base_url(url: str) -> str:
    """https://host[:port], or plain http to this machine only (a stand-in in tests)."""
    if "://" not in url:
        url = f"https://{url}"
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.username or parts.query or parts.fragment:
        raise ArgoCDError(f"{url!r} is not an ArgoCD server URL (https://host[:port])")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK:
        raise ArgoCDError("refusing to send the ArgoCD token over plain http; use https://")
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def _no_redirect_handler() -> Any:
    import urllib.request

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        """A redirect is an error: urllib would send the bearer token on to the new host."""

        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    return NoRedirect()


class ArgoCD:
    def __init__(self, url: str, token: str, timeout: float = 15.0) -> None:
        import urllib.request  # here, not at import time: the renderer never needs it

        if not token:
            raise ArgoCDError("no ArgoCD token (set ARGOCD_AUTH_TOKEN)")
        self._base = base_url(url)
        self._token = token
        self._timeout = timeout
        self._open = urllib.request.build_opener(_no_redirect_handler()).open

    def terminate_operation(self, name: str) -> None:
        """End the Application's running operation (as `argocd app terminate-op`)."""
        import urllib.error

        try:
            with self._open(self._request(name, "/operation", "DELETE"), timeout=self._timeout) as response:
                response.read(MAX_BYTES)
        except urllib.error.HTTPError as e:
            detail = _error_message(e.read(MAX_BYTES))
            raise ArgoCDError(f"terminate the operation of {name}: HTTP {e.code} {detail or e.reason}") from None
        except (urllib.error.URLError, OSError) as e:
            raise ArgoCDError(f"terminate the operation of {name}: {getattr(e, 'reason', e)}") from None

    def _request(self, name: str, suffix: str = "", method: str = "GET") -> Any:
        import urllib.request

        if not layout.DNS1123_LABEL.fullmatch(name) or len(name) > 63:
            raise ArgoCDError(f"{name!r} is not an Application name")
        return urllib.request.Request(f"{self._base}/api/v1/applications/{quote(name)}{suffix}", method=method,
                                      headers={"Authorization": f"Bearer {self._token}", "Accept": "application/json"})

    def application(self, name: str) -> AppStatus:
        import urllib.error

        request = self._request(name)
        try:
            with self._open(request, timeout=self._timeout) as response:
                body = response.read(MAX_BYTES + 1)
        except urllib.error.HTTPError as e:
            if e.code == 404:
                return AppStatus(name, False, "Missing", "Unknown", "", "no such Application in ArgoCD")
            raise ArgoCDError(f"GET application {name}: HTTP {e.code} {e.reason}") from None
        except (urllib.error.URLError, OSError) as e:
            raise ArgoCDError(f"GET application {name}: {getattr(e, 'reason', e)}") from None
        if len(body) > MAX_BYTES:
            raise ArgoCDError(f"GET application {name}: the answer is over {MAX_BYTES} bytes")
        try:
            return parse_application(name, json.loads(body))
        except ValueError:
            raise ArgoCDError(f"GET application {name}: the answer is not JSON") from None


def _error_message(body: bytes) -> str:
    """ArgoCD's error answer {"error": ..., "message": ...}, as one short line."""
    try:
        data = json.loads(body)
    except ValueError:
        return ""
    text = data.get("message") or data.get("error") if isinstance(data, dict) else ""
    return str(text or "").splitlines()[0][:200] if text else ""
