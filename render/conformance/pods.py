"""Pods as the cluster would run them, synthesized from the rendered workloads.

KubeRay adds its own labels to the head and worker pods of a RayService (ray.io/node-type,
ray.io/cluster, ray.io/group, ray.io/is-ray-node) and the autoscaler sidecar to the head;
policies, Services and PodMonitors select on those, so the synthesized pods carry them.
PlatformInputs by the whole-system checks (reachability, capacity, references). Pure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from render.conformance.manifests import Manifest

WORKLOADS = ("Deployment", "StatefulSet", "Job", "CronJob")
HEAD_GROUP = "headgroup"


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


def _d(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def namespace_of(m: Manifest) -> str:
    return str(_d(m.obj.get("metadata")).get("namespace", ""))


def pods(manifests: list[Manifest]) -> list[Pod]:
    out: list[Pod] = []
    scaled = _scaled_max(manifests)
    for m in manifests:
        if not m.is_object:
            continue
        if m.kind in WORKLOADS:
            out += _workload(m, scaled.get((namespace_of(m), m.name)))
        elif m.kind == "RayService":
            out += ray_pods(m)
    return out


def _scaled_max(manifests: list[Manifest]) -> dict[tuple[str, str], int]:
    """(namespace, Deployment) -> the max replicas a KEDA ScaledObject gives it."""
    out = {}
    for m in manifests:
        if m.kind == "ScaledObject":
            spec = _d(m.obj.get("spec"))
            out[(namespace_of(m), str(_d(spec.get("scaleTargetRef")).get("name")))] = int(spec.get("maxReplicaCount", 100))
    return out


def _workload(m: Manifest, scaled_max: int | None) -> list[Pod]:
    spec = _d(m.obj.get("spec"))
    path: tuple[str | int, ...] = ("spec", "template")
    if m.kind == "CronJob":  # concurrencyPolicy Forbid: one Job, one pod at a time
        spec, path = _d(_d(spec.get("jobTemplate")).get("spec")), ("spec", "jobTemplate", "spec", "template")
    tpl = _d(spec.get("template"))
    pod_spec = _d(tpl.get("spec"))
    labels = {str(k): str(v) for k, v in _d(_d(tpl.get("metadata")).get("labels")).items()}
    count = scaled_max if scaled_max is not None else spec.get("replicas", 1) if m.kind not in ("Job", "CronJob") else 1
    return [Pod(m.name, namespace_of(m), labels, pod_spec, m, path, max_count=int(count or 1),
                containers=list(pod_spec.get("containers") or []))]


def ray_pods(m: Manifest) -> list[Pod]:
    """The head and one pod per worker group of the RayService's active cluster."""
    spec = _d(m.obj.get("spec"))
    cluster = _d(spec.get("rayClusterConfig"))
    ns, cluster_name = namespace_of(m), f"{m.name}-raycluster"
    base = {"ray.io/cluster": cluster_name, "ray.io/is-ray-node": "yes"}
    out = []
    head = _d(cluster.get("headGroupSpec"))
    path: tuple[str | int, ...] = ("spec", "rayClusterConfig", "headGroupSpec", "template")
    out.append(_ray_pod(m, head, path, ns, f"{cluster_name}-head", HEAD_GROUP,
                        {**base, "ray.io/node-type": "head", "ray.io/group": HEAD_GROUP}, 1, _autoscaler(cluster)))
    for i, g in enumerate(cluster.get("workerGroupSpecs") or []):
        g = _d(g)
        name = str(g.get("groupName", i))
        path = ("spec", "rayClusterConfig", "workerGroupSpecs", i, "template")
        out.append(_ray_pod(m, g, path, ns, f"{cluster_name}-{name}-worker", name,
                            {**base, "ray.io/node-type": "worker", "ray.io/group": name}, int(g.get("maxReplicas", 1) or 0), None))
    return out


def _ray_pod(m: Manifest, group: dict[str, Any], path: tuple[str | int, ...], ns: str, name: str, group_name: str,
             kuberay: dict[str, str], count: int, sidecar: dict[str, Any] | None) -> Pod:
    tpl = _d(group.get("template"))
    pod_spec = _d(tpl.get("spec"))
    labels = {str(k): str(v) for k, v in _d(_d(tpl.get("metadata")).get("labels")).items()} | kuberay
    containers = list(pod_spec.get("containers") or []) + ([sidecar] if sidecar else [])
    return Pod(name, ns, labels, pod_spec, m, path, group_name, count, containers)


def _autoscaler(cluster: dict[str, Any]) -> dict[str, Any] | None:
    """The autoscaler sidecar KubeRay adds to the head (in-tree autoscaling)."""
    if not cluster.get("enableInTreeAutoscaling"):
        return None
    return {"name": "autoscaler", "resources": _d(_d(cluster.get("autoscalerOptions")).get("resources"))}
