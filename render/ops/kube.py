"""The thin layer that talks to a cluster, with the official `kubernetes` client and the
user's kubeconfig. The only module that imports `kubernetes`; every failure becomes an
`OpsError` with a message and a hint, never a traceback.

Objects are read as the raw JSON of the API (`_preload_content=False`), so the pure
modules see the same camelCase dicts `kubectl get -o json` shows.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from render.ops.snapshot import RAY_SERVICE, Snapshot
from render.problems import UserError

RAY_GROUP, RAY_VERSION = "ray.io", "v1"
REQUEST_TIMEOUT_S = 30  # a cluster that does not answer is reported, not waited for


class OpsError(UserError):
    """A cluster operation that cannot be done: no cluster, no permission, not found."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


@dataclass(frozen=True)
class Cluster:
    core: Any  # kubernetes.client.CoreV1Api
    custom: Any  # kubernetes.client.CustomObjectsApi
    host: str


def require_client() -> None:
    """The ops extra is installed (checked first: without it nothing else matters)."""
    try:
        import kubernetes  # noqa: F401
    except ImportError:  # the CLI says which extra brings it, and exits 4 (render/exitcodes.py)
        raise ModuleNotFoundError("No module named 'kubernetes'", name="kubernetes") from None


def connect(kubeconfig: str | None = None, context: str | None = None) -> Cluster:
    """API clients from the kubeconfig (KUBECONFIG or ~/.kube/config unless given)."""
    try:
        from kubernetes import client, config
        from kubernetes.config.config_exception import ConfigException
    except ImportError:  # the CLI says which extra brings it, and exits 4 (render/exitcodes.py)
        raise ModuleNotFoundError("No module named 'kubernetes'", name="kubernetes") from None

    # The configuration is complete before the ApiClient exists: the client builds its TLS
    # pool (the cluster's CA, client certificates) once, when it is created.
    configuration = client.Configuration()
    try:
        config.load_kube_config(config_file=kubeconfig, context=context, client_configuration=configuration)
    except ConfigException as e:
        raise OpsError(f"no usable Kubernetes configuration: {e}",
                       "set KUBECONFIG or pass --kubeconfig (and --context) for your tenant's cluster") from None
    except (OSError, ValueError, TypeError) as e:
        raise OpsError(f"cannot read the kubeconfig: {e}", "check the file given by --kubeconfig or KUBECONFIG") from None
    send_bearer_token(configuration)
    api = client.ApiClient(configuration=configuration)
    return Cluster(client.CoreV1Api(api), client.CustomObjectsApi(api), str(api.configuration.host))


def send_bearer_token(configuration: Any) -> None:
    """The kubeconfig loader stores a token under api_key["authorization"], but the client
    sends only what auth_settings() names ("BearerToken"): copy it there, and again each
    time the loader's refresh hook renews it (exec plugins such as gke-gcloud-auth-plugin)."""
    def copy(conf: Any) -> None:
        if "authorization" in conf.api_key:
            conf.api_key["BearerToken"] = conf.api_key["authorization"]

    refresh = configuration.refresh_api_key_hook

    def hook(conf: Any) -> None:
        if refresh is not None:
            refresh(conf)
        copy(conf)

    copy(configuration)
    if refresh is not None:
        configuration.refresh_api_key_hook = hook


def call(cluster: Cluster, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run one API call; turn the client's exceptions into an OpsError that says what failed."""
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    kwargs.setdefault("_request_timeout", REQUEST_TIMEOUT_S)
    try:
        return fn(*args, **kwargs)
    except ApiException as e:
        raise _api_error(e, what) from None
    except (HTTPError, OSError) as e:
        raise OpsError(f"cannot reach the cluster at {cluster.host} to {what}: {network_reason(e)}",
                       "check your network/VPN and the kubeconfig's current context") from None


def network_reason(e: BaseException) -> str:
    """What went wrong on the network, in the words of the innermost error ("[Errno 111]
    Connection refused", "timed out"), without urllib3's class names and object addresses."""
    seen: BaseException = e
    while True:
        inner = getattr(seen, "reason", None)
        if not isinstance(inner, BaseException) or inner is seen:
            break
        seen = inner
    text = str(seen) or type(seen).__name__
    return re.sub(r"^<[^>]*>:\s*", "", text).removeprefix("Failed to establish a new connection: ")


def _api_error(e: Any, what: str) -> OpsError:
    status = int(getattr(e, "status", 0) or 0)
    detail = _status_message(e)
    if status == 401:
        return OpsError(f"the cluster rejected your credentials ({what})",
                        "log in again (e.g. refresh your cloud credentials) and retry")
    if status == 403:
        return OpsError(f"permission denied: you may not {what}" + (f" ({detail})" if detail else ""),
                        "tenant operators may view pods, events and Ray clusters, scale worker groups and "
                        "port-forward in their own namespace only; check --context and the tenant name")
    if status == 404:
        return OpsError(f"not found: {what}" + (f" ({detail})" if detail else ""),
                        "check the tenant name; has the tenant been synced by ArgoCD?")
    return OpsError(f"the API server answered {status} {getattr(e, 'reason', '')} to {what}"
                    + (f": {detail}" if detail else ""))


def _status_message(e: Any) -> str:
    try:
        return str(json.loads(getattr(e, "body", "") or "{}").get("message", ""))
    except (ValueError, AttributeError):
        return ""


def _status_details(e: Any) -> dict[str, Any]:
    try:
        return dict(json.loads(getattr(e, "body", "") or "{}").get("details") or {})
    except (ValueError, AttributeError, TypeError):
        return {}


def _json(response: Any) -> Any:
    return json.loads(response.data)


def read_snapshot(cluster: Cluster, namespace: str) -> Snapshot:
    pods = _json(call(cluster, f"list pods in {namespace}", cluster.core.list_namespaced_pod, namespace,
                      _preload_content=False))
    events = _json(call(cluster, f"list events in {namespace}", cluster.core.list_namespaced_event, namespace,
                        _preload_content=False))
    service = call(cluster, f"get rayservice {RAY_SERVICE} in {namespace}", _ray_service_or_none, cluster, namespace)
    clusters = call(cluster, f"list rayclusters in {namespace}", cluster.custom.list_namespaced_custom_object,
                    RAY_GROUP, RAY_VERSION, namespace, "rayclusters")
    return Snapshot(namespace, list(pods.get("items") or []), list(events.get("items") or []), service,
                    list(clusters.get("items") or []))


def _ray_service_or_none(cluster: Cluster, namespace: str, **kwargs: Any) -> Any:
    """The RayService, or None when it does not exist (yet); other errors propagate."""
    from kubernetes.client.exceptions import ApiException

    try:
        return cluster.custom.get_namespaced_custom_object(RAY_GROUP, RAY_VERSION, namespace, "rayservices",
                                                           RAY_SERVICE, **kwargs)
    except ApiException as e:
        # A missing object's Status names it in `details`; a missing CRD's Status does not.
        if e.status == 404 and _status_details(e).get("name") == RAY_SERVICE:
            return None
        raise


def worker_replicas_patch(index: int, group: str, replicas: int) -> list[dict[str, Any]]:
    return [
        {"op": "test", "path": f"/spec/workerGroupSpecs/{index}/groupName", "value": group},
        {"op": "replace", "path": f"/spec/workerGroupSpecs/{index}/replicas", "value": replicas},
    ]


def patch_worker_replicas(cluster: Cluster, namespace: str, ray_cluster: str, index: int, group: str,
                          replicas: int) -> None:
    """JSON patch of one worker group's replicas; the `test` op refuses if the list moved."""
    patch = worker_replicas_patch(index, group, replicas)
    call(cluster, f"patch raycluster {ray_cluster} in {namespace}", cluster.custom.patch_namespaced_custom_object,
         RAY_GROUP, RAY_VERSION, namespace, "rayclusters", ray_cluster, patch,
         _content_type="application/json-patch+json")
