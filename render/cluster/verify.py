"""After an apply: every tenant pod admitted (it exists: Pod Security and the
ValidatingAdmissionPolicies let it in), scheduled by the real scheduler onto a node of the
right pool (the pool registry/platform.yaml `nodes.placement` names for its component,
render/pools.py; GPU requests on a GPU pool, nothing else there), Ready, and every
namespace's quota usage within its hard limits."""

from __future__ import annotations

from typing import Any

from render import layout, pools, quantity
from render.cluster import api, health, nodes


def tenant_namespaces(admin: api.Api) -> list[str]:
    return sorted(n["metadata"]["name"] for n in api.items(admin, "v1", "Namespace", selector=layout.LABEL_TENANT))


def _gpus(pod: dict[str, Any]) -> int:
    return sum(int((c.get("resources") or {}).get("requests", {}).get(nodes.GPU_RESOURCE, 0) or 0)
               for c in pod["spec"]["containers"])


def check(admin: api.Api, namespaces: list[str], platform: dict[str, Any] | None = None) -> list[str]:
    """Problems of the pods and quotas of `namespaces`; with `platform`, each pod's node
    must also be of its component's pool (`nodes.placement`)."""
    by_name = {n["metadata"]["name"]: n for n in api.items(admin, "v1", "Node")}
    gpu_pools = {nodes.pool_of(n) for n in by_name.values() if nodes.GPU_RESOURCE in n["status"].get("allocatable", {})}
    problems = []
    for ns in namespaces:
        for pod in api.items(admin, "v1", "Pod", ns):
            where = f"pod {ns}/{pod['metadata']['name']}"
            node = pod["spec"].get("nodeName")
            if not node:
                problems.append(f"{where} is not scheduled: {health.pod_reason(pod)}")
                continue
            pool = nodes.pool_of(by_name.get(node, {"metadata": {"labels": {}}}))
            if (_gpus(pod) > 0) != (pool in gpu_pools):
                problems.append(f"{where} ({_gpus(pod)} GPU) is on node {node} of pool {pool}")
            component = pools.component_of(pod["metadata"].get("labels") or {})
            if platform is not None and pool != (wanted := pools.pool_of(platform, component) if component else "?"):
                problems.append(f"{where} ({component or 'no platform component'}) is on node {node} of pool {pool}, "
                                f"not {wanted}")
            if health.judge(pod)[0] != health.HEALTHY:
                problems.append(f"{where} is not Ready: {health.pod_reason(pod)}")
        for quota in api.items(admin, "v1", "ResourceQuota", ns):
            st = quota.get("status") or {}
            for res, hard in (st.get("hard") or {}).items():
                used = (st.get("used") or {}).get(res, "0")
                if quantity.parse(used) > quantity.parse(hard):
                    problems.append(f"quota {ns}/{quota['metadata']['name']}: {res} used {used} > hard {hard}")
    return problems


def summary(admin: api.Api) -> list[str]:
    all_nodes = api.items(admin, "v1", "Node")
    ready = sum(1 for n in all_nodes if any(c["type"] == "Ready" and c["status"] == "True"
                                             for c in n.get("status", {}).get("conditions") or []))
    lines = [f"nodes: {len(all_nodes)} ({ready} Ready)"]
    for ns in tenant_namespaces(admin):
        pods = api.items(admin, "v1", "Pod", ns)
        ok = sum(1 for p in pods if health.judge(p)[0] == health.HEALTHY)
        lines.append(f"{ns}: {len(pods)} pods, {ok} Ready")
    return lines
