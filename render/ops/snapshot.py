"""What the ops commands read from a tenant's namespace, and how to read it.

A `Snapshot` holds plain dicts exactly as the Kubernetes API returns them (camelCase
keys): pods, events, the RayService and its RayClusters. The helpers here interpret them
(which worker group a pod belongs to, which RayCluster is serving, what Serve config is
deployed) without any I/O, so diagnosis and status can be tested on recorded objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from render import layout

RAY_SERVICE = layout.RAY_SERVICE
LABEL_NODE_TYPE = "ray.io/node-type"
LABEL_GROUP = "ray.io/group"
LABEL_CLUSTER = "ray.io/cluster"
LABEL_APP = layout.LABEL_NAME

Obj = dict[str, Any]


@dataclass(frozen=True)
class Snapshot:
    namespace: str
    pods: list[Obj] = field(default_factory=list)
    events: list[Obj] = field(default_factory=list)
    ray_service: Obj | None = None
    ray_clusters: list[Obj] = field(default_factory=list)


def name_of(obj: Obj) -> str:
    return str(obj.get("metadata", {}).get("name", ""))


def labels_of(obj: Obj) -> dict[str, str]:
    return dict(obj.get("metadata", {}).get("labels") or {})


def active_cluster_name(s: Snapshot) -> str:
    """The RayCluster serving traffic (RayService status), else the only one there is."""
    status = (s.ray_service or {}).get("status") or {}
    name = str((status.get("activeServiceStatus") or {}).get("rayClusterName") or "")
    if not name and len(s.ray_clusters) == 1:
        name = name_of(s.ray_clusters[0])
    return name


def active_cluster(s: Snapshot) -> Obj | None:
    name = active_cluster_name(s)
    return next((c for c in s.ray_clusters if name_of(c) == name), None)


def worker_groups(cluster: Obj | None) -> list[Obj]:
    return list(((cluster or {}).get("spec") or {}).get("workerGroupSpecs") or [])


def pod_role(pod: Obj) -> str:
    """'head', a worker group name, or the app name (celery-worker, redis, ...)."""
    labels = labels_of(pod)
    if labels.get(LABEL_NODE_TYPE) == "head":
        return "head"
    if labels.get(LABEL_NODE_TYPE) == "worker":
        return labels.get(LABEL_GROUP, "worker")
    return labels.get(LABEL_APP) or name_of(pod)


def pods_of_cluster(s: Snapshot, cluster: str) -> list[Obj]:
    """Ray pods of one RayCluster (pods of an old cluster linger during an upgrade)."""
    return [p for p in s.pods if labels_of(p).get(LABEL_CLUSTER) == cluster]


def phase(pod: Obj) -> str:
    if pod.get("metadata", {}).get("deletionTimestamp"):
        return "Terminating"
    return str((pod.get("status") or {}).get("phase") or "Unknown")


def container_statuses(pod: Obj) -> list[Obj]:
    status = pod.get("status") or {}
    return list(status.get("containerStatuses") or []) + list(status.get("initContainerStatuses") or [])


def container_spec(pod: Obj, container: str) -> Obj:
    spec = pod.get("spec") or {}
    for c in list(spec.get("containers") or []) + list(spec.get("initContainers") or []):
        if c.get("name") == container:
            return dict(c)
    return {}


def events_for(s: Snapshot, kind: str, name: str) -> list[Obj]:
    """Events about one object, newest last (core/v1 Event shape)."""
    found = [e for e in s.events
             if (e.get("involvedObject") or {}).get("kind") == kind and (e.get("involvedObject") or {}).get("name") == name]
    return sorted(found, key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime") or ""))


def serve_applications(s: Snapshot) -> dict[str, Obj]:
    """Serve applications by name: the deployed config merged with their live status."""
    spec = (s.ray_service or {}).get("spec") or {}
    try:
        config = yaml.safe_load(spec.get("serveConfigV2") or "") or {}
    except yaml.YAMLError:
        config = {}
    status = (((s.ray_service or {}).get("status") or {}).get("activeServiceStatus") or {}).get("applicationStatuses") or {}
    apps: dict[str, Obj] = {}
    for app in config.get("applications") or []:
        deployments = app.get("deployments") or [{}]
        apps[str(app.get("name"))] = {"config": deployments[0], "status": status.get(app.get("name")) or {}}
    for app_name, app_status in status.items():
        apps.setdefault(app_name, {"config": {}, "status": app_status})
    return dict(sorted(apps.items()))


def group_of_resources(cluster: Obj | None, resources: dict[str, Any]) -> str:
    """The worker group whose custom Ray resources an actor asks for ('' if none)."""
    for g in worker_groups(cluster):
        if set(g.get("resources") or {}) & set(resources or {}):
            return str(g.get("groupName"))
    return ""
