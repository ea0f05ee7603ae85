"""Kubernetes objects shaped like real API responses (as `kubectl get -o json` prints
them) for the ops tests: KubeRay-labelled pods, scheduler and cluster-autoscaler events,
a RayService with Serve application statuses, and its RayCluster."""

from __future__ import annotations

import copy
from typing import Any

NS = "tenant-acme"
CLUSTER = "engine-x7k2p"
CREATED = "2026-11-27T09:00:00Z"

SERVE_CONFIG = """\
proxy_location: EveryNode
http_options: {host: 0.0.0.0, port: 8000}
applications:
- name: text_extractor_v1
  import_path: engine.extractors.text_extractor.v1:app
  route_prefix: /extractors/text_extractor_v1
  deployments:
  - name: text_extractor_v1
    max_ongoing_requests: 16
    autoscaling_config: {min_replicas: 1, initial_replicas: 1, max_replicas: 4, target_ongoing_requests: 8}
    ray_actor_options: {num_cpus: 2, num_gpus: 0, memory: 4294967296, resources: {cpu_group: 1}}
- name: image_extractor_v1
  import_path: engine.extractors.image_extractor.v1:app
  route_prefix: /extractors/image_extractor_v1
  deployments:
  - name: image_extractor_v1
    max_ongoing_requests: 8
    autoscaling_config: {min_replicas: 0, initial_replicas: 0, max_replicas: 4, target_ongoing_requests: 4}
    ray_actor_options: {num_cpus: 2, num_gpus: 0.5, memory: 6442450944, resources: {gpu_group: 1}}
"""


def pod(name: str, role: str, phase: str = "Running", *, memory: str = "28Gi", statuses: list[dict[str, Any]] | None = None,
        scheduled: bool = True) -> dict[str, Any]:
    if role == "head":
        labels = {"ray.io/cluster": CLUSTER, "ray.io/node-type": "head", "ray.io/group": "headgroup",
                  "ray.io/is-ray-node": "yes", "app.kubernetes.io/created-by": "kuberay-operator"}
        container = "ray-head"
    elif role.endswith("-workers"):
        labels = {"ray.io/cluster": CLUSTER, "ray.io/node-type": "worker", "ray.io/group": role,
                  "ray.io/is-ray-node": "yes", "app.kubernetes.io/created-by": "kuberay-operator"}
        container = "ray-worker"
    else:
        labels = {"app.kubernetes.io/name": role, "pod-template-hash": "7d9c8b6f5"}
        container = "worker"
    conditions = [{"type": "PodScheduled", "status": "True" if scheduled else "False",
                   **({} if scheduled else {"reason": "Unschedulable",
                                            "message": "0/5 nodes are available: 5 Insufficient cpu."})}]
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": NS, "labels": labels, "creationTimestamp": CREATED,
                     "uid": f"uid-{name}"},
        "spec": {"containers": [{"name": container, "image": "ghcr.io/dataplane-platform/engine:2026.11.3",
                                 "resources": {"limits": {"cpu": "7", "memory": memory},
                                               "requests": {"cpu": "7", "memory": memory}}}]},
        "status": {"phase": phase, "conditions": conditions, "containerStatuses": statuses or [],
                   "qosClass": "Guaranteed"},
    }


def oom_status(container: str = "ray-worker", restarts: int = 3) -> dict[str, Any]:
    return {"name": container, "ready": True, "restartCount": restarts, "image": "engine",
            "state": {"running": {"startedAt": "2026-11-27T09:20:11Z"}},
            "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled",
                                         "startedAt": "2026-11-27T09:05:02Z", "finishedAt": "2026-11-27T09:20:09Z",
                                         "containerID": "containerd://4f1e"}}}


def event(obj: str, reason: str, message: str, *, kind: str = "Pod", component: str = "default-scheduler",
          etype: str = "Warning", at: str = "2026-11-27T09:01:00Z") -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": f"{obj}.17b2f0c3a1", "namespace": NS},
        "involvedObject": {"kind": kind, "namespace": NS, "name": obj, "apiVersion": "v1"},
        "reason": reason, "message": message, "type": etype, "count": 4,
        "source": {"component": component}, "firstTimestamp": CREATED, "lastTimestamp": at,
    }


def ray_cluster(replicas: dict[str, int] | None = None, state: str = "ready") -> dict[str, Any]:
    ranges = {"cpu-workers": (1, 2, "cpu_group"), "batch-workers": (0, 3, "batch"), "gpu-workers": (0, 2, "gpu_group")}
    replicas = {"cpu-workers": 1, "batch-workers": 0, "gpu-workers": 0, **(replicas or {})}
    return {
        "apiVersion": "ray.io/v1", "kind": "RayCluster",
        "metadata": {"name": CLUSTER, "namespace": NS, "labels": {"ray.io/originated-from-crd": "RayService"}},
        "spec": {"rayVersion": "2.60.0", "enableInTreeAutoscaling": True,
                 "workerGroupSpecs": [{"groupName": g, "replicas": replicas[g], "minReplicas": lo, "maxReplicas": hi,
                                       "resources": {res: "1000"}, "rayStartParams": {}}
                                      for g, (lo, hi, res) in ranges.items()]},
        "status": {"state": state, "availableWorkerReplicas": 1, "desiredWorkerReplicas": sum(replicas.values()),
                   "readyWorkerReplicas": 1, "minWorkerReplicas": 1, "maxWorkerReplicas": 7},
    }


def ray_service(apps: dict[str, Any] | None = None, ready: bool = True, pending: str = "") -> dict[str, Any]:
    healthy = {"status": "RUNNING", "serveDeploymentStatuses": {"text_extractor_v1": {"status": "HEALTHY"}}}
    statuses = {"text_extractor_v1": healthy,
                "image_extractor_v1": {"status": "RUNNING",
                                       "serveDeploymentStatuses": {"image_extractor_v1": {"status": "HEALTHY"}}}}
    statuses.update(copy.deepcopy(apps or {}))
    status: dict[str, Any] = {
        "activeServiceStatus": {"rayClusterName": CLUSTER, "applicationStatuses": statuses},
        "conditions": [{"type": "Ready", "status": "True" if ready else "False",
                        "reason": "NonZeroServeEndpoints" if ready else "ZeroServeEndpoints",
                        "message": "" if ready else "Number of serve endpoints dropped to 0",
                        "lastTransitionTime": CREATED}],
        "numServeEndpoints": 2 if ready else 0, "serviceStatus": "Running" if ready else "",
    }
    if pending:
        status["pendingServiceStatus"] = {"rayClusterName": pending}
    return {"apiVersion": "ray.io/v1", "kind": "RayService",
            "metadata": {"name": "engine", "namespace": NS},
            "spec": {"serveConfigV2": SERVE_CONFIG, "upgradeStrategy": {"type": "NewCluster"}},
            "status": status}


def healthy_pods() -> list[dict[str, Any]]:
    return [pod(f"{CLUSTER}-head-8xq2m", "head", memory="8Gi"),
            pod(f"{CLUSTER}-cpu-workers-worker-d5m4t", "cpu-workers"),
            pod("celery-worker-7d9c8b6f5-k2x9z", "celery-worker", memory="4Gi"),
            pod("celery-beat-6b8d7c5f4-q8w2e", "celery-beat", memory="512Mi"),
            pod("redis-0", "redis", memory="2Gi")]
