"""Pods as the cluster would run them, from the rendered workloads.

The tenant's pod list (render/pods.py, the one the quota counts and the footprint prices)
read from the manifests on disk, each pod tied to the manifest it comes from so a problem
points at its pod template. KubeRay adds its own labels to the head and worker pods of a
RayService (ray.io/node-type, ray.io/cluster, ray.io/group, ray.io/is-ray-node) and the
autoscaler sidecar to the head; policies, Services and PodMonitors select on those, so
these pods carry them. Read by the whole-system checks (reachability, capacity,
references). Pure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from render import pods as pod_list
from render.conformance.manifests import Manifest

HEAD_GROUP = pod_list.HEAD_GROUP


@dataclass(frozen=True)
class Pod:
    name: str
    namespace: str
    labels: dict[str, str]
    spec: dict[str, Any]
    source: Manifest
    path: tuple[str | int, ...]  # of the pod template in its source
    group: str = ""  # the Ray group: headgroup or a worker group name
    max_count: int = 1
    containers: list[dict[str, Any]] = field(default_factory=list)
    listed: pod_list.Pod | None = None  # its entry of the tenant's pod list


def _d(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def namespace_of(m: Manifest) -> str:
    return str(_d(m.obj.get("metadata")).get("namespace", ""))


def pods(manifests: list[Manifest]) -> list[Pod]:
    """The pod list of each folder's objects in each namespace (a cross-cluster move renders
    the target's objects, same names, in a folder of their own), in manifest order."""
    groups: dict[tuple[str, str], list[Manifest]] = {}
    for m in manifests:
        if m.is_object and isinstance(m.obj, dict):
            groups.setdefault((namespace_of(m), m.file.rpartition("/")[0]), []).append(m)
    out: list[Pod] = []
    for (ns, _), ms in groups.items():
        source = {(m.kind, m.name): m for m in ms}
        out += [_pod(p, ns, source[(p.kind, p.workload)]) for p in pod_list.of_objects(m.obj for m in ms)]
    return out


def _pod(p: pod_list.Pod, ns: str, m: Manifest) -> Pod:
    spec = dict(p.spec)
    containers = list(spec.get("containers") or [])
    if p.ray_group:
        cluster = f"{m.name}-raycluster"
        name = f"{cluster}-head" if p.ray_group == HEAD_GROUP else f"{cluster}-{p.ray_group}-worker"
        options = _d(_d(_d(m.obj.get("spec")).get("rayClusterConfig")).get("autoscalerOptions"))
        containers += [{"name": c.name, "resources": _d(options.get("resources"))} for c in p.containers if c.sidecar]
    else:
        name = p.name
    # A scaled-to-zero workload still has one pod to check (its template is what would run).
    return Pod(name, ns, dict(p.labels), spec, m, p.path, p.ray_group, max(p.max_count, 1) if not p.ray_group else p.max_count,
               containers, p)
