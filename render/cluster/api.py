"""Talking to the local control plane: server-side apply, reads, and acting as a given
identity (a ServiceAccount's token, or impersonation by the admin). The only module of
render/cluster that imports `kubernetes`; API refusals become `Refused` with the API
server's own message.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from render.ops import kube
from render.problems import UserError

T = TypeVar("T")

FIELD_MANAGER = "argocd-controller"  # what ArgoCD's server-side apply names itself
TIMEOUT_S = 120  # a busy 2-core machine answers a megabyte CRD slowly


class Unreachable(UserError):
    """The API server did not answer (stopped, or too slow)."""


class Refused(UserError):
    """The API server refused a request; `message` is its Status message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Api:
    client: Any  # kubernetes.client.ApiClient
    dynamic: Any  # kubernetes.dynamic.DynamicClient


def connect(kubeconfig: str, impersonate: str = "", groups: tuple[str, ...] = (), token: str = "") -> Api:
    """An API client from `kubeconfig`; as `impersonate` (and `groups`) or as a bearer
    `token` instead of the kubeconfig's client certificate when given."""
    from kubernetes import client, config
    from kubernetes.dynamic import DynamicClient

    conf = client.Configuration()
    config.load_kube_config(config_file=kubeconfig, client_configuration=conf)
    if token:
        conf.cert_file = conf.key_file = None
        conf.api_key = {"authorization": f"Bearer {token}"}
    kube.send_bearer_token(conf)
    api = client.ApiClient(configuration=conf)
    if impersonate:
        api.set_default_header("Impersonate-User", impersonate)
        for g in groups:  # the client sends one header; several groups need a list header
            api.default_headers.setdefault("Impersonate-Group", g)
    return Api(api, DynamicClient(api))


def _network(fn: Callable[..., T]) -> Callable[..., T]:
    """The API server not answering becomes `Unreachable`, never a traceback."""
    @functools.wraps(fn)
    def wrapped(*args: Any, **kwargs: Any) -> T:
        from urllib3.exceptions import HTTPError
        try:
            return fn(*args, **kwargs)
        except HTTPError as e:
            raise Unreachable(f"the local API server did not answer: {type(e).__name__}: {str(e)[:200]}") from None
    return wrapped


@_network
def resource(api: Api, api_version: str, kind: str) -> Any:
    return api.dynamic.resources.get(api_version=api_version, kind=kind)


def refresh(api: Api) -> None:
    """Forget discovery (after CRDs were created)."""
    api.dynamic.resources.invalidate_cache()


def _refused(e: Any) -> Refused:
    try:
        message = str(json.loads(e.body).get("message", ""))
    except (ValueError, TypeError, AttributeError):
        message = str(getattr(e, "reason", e))
    return Refused(int(getattr(e, "status", 0) or 0), message)


# Content-Type of a server-side apply: with a parameter, so that the client library sends
# our bytes (go_json) instead of serializing the object itself; the API server drops it.
APPLY_CONTENT_TYPE = "application/apply-patch+yaml; charset=utf-8"
GO_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def go_json(obj: Any) -> bytes:
    """`obj` as ArgoCD's apply sends it (Go's encoding/json): non-ASCII characters as UTF-8,
    not as \\u escapes (Python's default, which the API server's YAML decoder reads
    differently: a surrogate pair is refused there, an escaped control character admitted)."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    for char, escape in GO_ESCAPES.items():
        text = text.replace(char, escape)
    return text.encode("utf-8")


@_network
def apply(api: Api, obj: dict[str, Any], manager: str = FIELD_MANAGER, dry_run: bool = False) -> dict[str, Any]:
    """Server-side apply of `obj` (force: the applier owns its fields, as ArgoCD does);
    `dry_run`: every validation and admission step runs, nothing is stored (dryRun=All)."""
    from kubernetes.client.exceptions import ApiException
    from kubernetes.dynamic.exceptions import DynamicApiError

    meta = obj["metadata"]
    try:
        res = resource(api, obj["apiVersion"], obj["kind"])
        path = res.path(name=meta["name"], namespace=meta.get("namespace") if res.namespaced else None)
        out = api.dynamic.request("patch", path, body=go_json(obj), content_type=APPLY_CONTENT_TYPE,
                                  field_manager=manager, force_conflicts=True, _request_timeout=TIMEOUT_S,
                                  **({"dry_run": "All"} if dry_run else {}))
    except (ApiException, DynamicApiError) as e:
        raise _refused(e) from None
    return dict(out.to_dict())


@_network
def get(api: Api, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
    from kubernetes.client.exceptions import ApiException
    from kubernetes.dynamic.exceptions import DynamicApiError, NotFoundError

    try:
        return dict(resource(api, api_version, kind).get(name=name, namespace=namespace,
                                                          _request_timeout=TIMEOUT_S).to_dict())
    except NotFoundError:
        return None
    except (ApiException, DynamicApiError) as e:
        raise _refused(e) from None


@_network
def items(api: Api, api_version: str, kind: str, namespace: str | None = None,
          selector: str = "") -> list[dict[str, Any]]:
    from kubernetes.client.exceptions import ApiException
    from kubernetes.dynamic.exceptions import DynamicApiError

    res = resource(api, api_version, kind)
    try:
        out = res.get(namespace=namespace, label_selector=selector or None, _request_timeout=TIMEOUT_S).to_dict()
    except (ApiException, DynamicApiError) as e:
        raise _refused(e) from None
    return list(out.get("items") or [])


@_network
def patch_status(api: Api, obj: dict[str, Any], status: dict[str, Any], manager: str) -> None:
    """Server-side apply of `status` to obj's status subresource (what a controller does)."""
    from kubernetes.client.exceptions import ApiException
    from kubernetes.dynamic.exceptions import DynamicApiError

    meta = obj["metadata"]
    body = {"apiVersion": obj["apiVersion"], "kind": obj["kind"],
            "metadata": {"name": meta["name"], "namespace": meta.get("namespace")}, "status": status}
    res = resource(api, obj["apiVersion"], obj["kind"])
    path = res.path(name=meta["name"], namespace=meta.get("namespace")) + "/status"
    try:
        api.dynamic.request("patch", path, body=body, content_type="application/apply-patch+yaml",
                            field_manager=manager, force_conflicts=True, _request_timeout=TIMEOUT_S)
    except (ApiException, DynamicApiError) as e:
        raise _refused(e) from None


@_network
def request(api: Api, method: str, path: str, body: Any = None, content_type: str = "") -> Any:
    """A raw request (subresources: scale, eviction, token); refusals as `Refused`."""
    from kubernetes.client.exceptions import ApiException
    from kubernetes.dynamic.exceptions import DynamicApiError

    kwargs: dict[str, Any] = {"_request_timeout": TIMEOUT_S}
    if content_type:
        kwargs["content_type"] = content_type
    try:
        return api.dynamic.request(method, path, body=body, **kwargs)
    except (ApiException, DynamicApiError) as e:
        raise _refused(e) from None
