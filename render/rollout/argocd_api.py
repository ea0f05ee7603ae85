"""A small read-only client of the ArgoCD REST API: one Application's health and sync.

GET /api/v1/applications/<name> with a bearer token (an ArgoCD account that may only
`get` applications is enough). Standard library only; urllib is imported when a client
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

    @property
    def ok(self) -> bool:
        return self.found and self.health == "Healthy" and self.sync == "Synced"


def application_names(tenant: str) -> tuple[str, str]:
    """The two Applications render/argocd/tenant_apps.py renders per tenant: workloads and guardrails."""
    return layout.namespace(tenant), f"{layout.namespace(tenant)}-guardrails"


def parse_application(name: str, data: Any) -> AppStatus:
    status = _mapping(data, "status")
    health, sync = _mapping(status, "health"), _mapping(status, "sync")
    return AppStatus(name, True, str(health.get("status") or "Unknown"), str(sync.get("status") or "Unknown"),
                     str(sync.get("revision") or ""), str(health.get("message") or "")[:300])


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

    def application(self, name: str) -> AppStatus:
        import urllib.error
        import urllib.request

        if not layout.DNS1123_LABEL.fullmatch(name) or len(name) > 63:
            raise ArgoCDError(f"{name!r} is not an Application name")
        request = urllib.request.Request(f"{self._base}/api/v1/applications/{quote(name)}",
                                         headers={"Authorization": f"Bearer {self._token}", "Accept": "application/json"})
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
