"""Simulated nodes shaped like the platform's node model (render/capacity.py).

One pool per worker group and cloud: the group's machine type, its allocatable CPU and
memory as `validate --deep` computes them, `nvidia.com/gpu` and the GPU pool's labels and
taint (registry/platform.yaml `gpu_nodes`). kwok (annotation below) keeps them Ready and
runs the pods the real scheduler binds to them. Pure.
"""

from __future__ import annotations

from typing import Any

from render import capacity, quantity

KWOK_ANNOTATION = "kwok.x-k8s.io/node"
LABEL_POOL = "dataplane.io/pool"
LABEL_CLOUD = "dataplane.io/cloud"
LABEL_INSTANCE_TYPE = "node.kubernetes.io/instance-type"
GPU_RESOURCE = "nvidia.com/gpu"
DEFAULT_MAX_PODS = 110
# Nodes of the general pool (head, Celery, datastores, exporters) per tenant: enough for
# a tenant's pods at their requests with room for an upgrade's surge.
GENERAL_NODES_PER_TENANT = 3


def pool_sizes(platform: dict[str, Any], tenants: int) -> dict[str, int]:
    """Nodes per pool for `tenants` tenants: each group's max_replicas per tenant (one
    pod fills one node), plus the general pool's share on the general group's machine."""
    sizes = {g: int(spec["max_replicas"]) * tenants for g, spec in platform["worker_groups"].items()}
    sizes[capacity.GENERAL_GROUP] += GENERAL_NODES_PER_TENANT * tenants
    return sizes


def nodes(platform: dict[str, Any], clouds: list[str], tenants: int) -> list[dict[str, Any]]:
    """Every simulated Node for the given clouds, `tenants` tenants' worth of each pool."""
    out: list[dict[str, Any]] = []
    for cloud in sorted(set(clouds)):
        for group, count in sorted(pool_sizes(platform, tenants).items()):
            out.extend(_node(platform, cloud, group, i) for i in range(count))
    return out


def _node(platform: dict[str, Any], cloud: str, group: str, index: int) -> dict[str, Any]:
    machine = platform["worker_groups"][group]["machine"][cloud]
    spec = platform["nodes"]["machines"][machine]
    model = capacity.node(machine, cloud, platform["nodes"])
    assert model is not None, f"{machine} is not in registry/platform.yaml nodes.machines"
    name = f"{cloud}-{group}-{index}"
    labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
              "type": "kwok", LABEL_INSTANCE_TYPE: machine, LABEL_POOL: group, LABEL_CLOUD: cloud}
    taints: list[dict[str, str]] = []
    pods = str(spec.get("max_pods", DEFAULT_MAX_PODS))
    cap = {"cpu": str(spec["cpu"]), "memory": str(spec["memory"]), "pods": pods}
    alloc = {"cpu": quantity.cpu(model.cpu), "memory": str(int(model.memory)), "pods": pods}
    if model.gpus:
        labels.update(platform["gpu_nodes"][cloud]["node_selector"])
        toleration = platform["gpu_nodes"]["toleration"]
        taints.append({"key": toleration["key"], "effect": toleration["effect"]})
        cap[GPU_RESOURCE] = alloc[GPU_RESOURCE] = str(model.gpus)
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": dict(sorted(labels.items())),
                     "annotations": {KWOK_ANNOTATION: "fake", "node.alpha.kubernetes.io/ttl": "0"}},
        "spec": {"taints": taints} if taints else {},
        "status": {"capacity": cap, "allocatable": alloc,
                   "nodeInfo": {"architecture": "amd64", "operatingSystem": "linux", "kubeletVersion": "fake"}},
    }


def pool_of(node: dict[str, Any]) -> str:
    return str(node["metadata"]["labels"].get(LABEL_POOL, ""))

