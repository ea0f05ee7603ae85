"""Simulated nodes shaped like the platform's node model (render/capacity.py, render/pools.py).

One set of nodes per pool (registry/platform.yaml `nodes.pools`) and cloud: the pool's
machine type, its allocatable CPU and memory as `validate --deep` computes them,
`nvidia.com/gpu`, and the pool's labels and taints, exactly as the rendered pods select and
tolerate them. kwok (annotation below) keeps them Ready and runs the pods the real
scheduler binds to them. Pure.
"""

from __future__ import annotations

from typing import Any

from render import capacity, pools, quantity

KWOK_ANNOTATION = "kwok.x-k8s.io/node"
LABEL_POOL = pools.LABEL_POOL
LABEL_CLOUD = "dataplane.io/cloud"
LABEL_INSTANCE_TYPE = "node.kubernetes.io/instance-type"
GPU_RESOURCE = "nvidia.com/gpu"
DEFAULT_MAX_PODS = 110
# Nodes of a pool that holds no worker group (the general pool: head, Celery, datastores,
# exporters, Jobs) per tenant placed on it: enough for a tenant's pods at their requests
# with room for an upgrade's surge.
SHARED_NODES_PER_TENANT = 3


def pool_sizes(platform: dict[str, Any], tenants: int) -> dict[str, int]:
    """Nodes per pool for `tenants` tenants: a worker group's pool gets the group's
    max_replicas per tenant (one pod fills one node); every other pool that a component is
    placed on, SHARED_NODES_PER_TENANT per tenant."""
    sizes = dict.fromkeys(sorted(platform["nodes"]["pools"]), 0)
    used = set()
    for component in pools.COMPONENTS:
        pool = pools.pool_of(platform, component)
        used.add(pool)
        group = platform["worker_groups"].get(component)
        if group is not None:
            sizes[pool] += int(group["max_replicas"]) * tenants
    for pool in sorted(used):
        if not any(pools.pool_of(platform, g) == pool for g in platform["worker_groups"]):
            sizes[pool] += SHARED_NODES_PER_TENANT * tenants
    return {p: n for p, n in sizes.items() if n}


def nodes(platform: dict[str, Any], clouds: list[str], tenants: int) -> list[dict[str, Any]]:
    """Every simulated Node for the given clouds, `tenants` tenants' worth of each pool."""
    out: list[dict[str, Any]] = []
    for cloud in sorted(set(clouds)):
        for pool, count in sorted(pool_sizes(platform, tenants).items()):
            out.extend(_node(platform, cloud, pool, i) for i in range(count))
    return out


def _node(platform: dict[str, Any], cloud: str, pool: str, index: int) -> dict[str, Any]:
    machine = pools.machine(platform, cloud, pool)
    model = capacity.pool_node(platform, cloud, pool)
    assert machine and model is not None, f"pool {pool} has no machine type in registry/platform.yaml on {cloud}"
    spec = platform["nodes"]["machines"][machine]
    name = f"{cloud}-{pool}-{index}"
    labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
              "type": "kwok", LABEL_INSTANCE_TYPE: machine, LABEL_CLOUD: cloud, **pools.node_labels(platform, cloud, pool)}
    taints = pools.node_taints(platform, pool)
    pods = str(spec.get("max_pods", DEFAULT_MAX_PODS))
    cap = {"cpu": str(spec["cpu"]), "memory": str(spec["memory"]), "pods": pods}
    alloc = {"cpu": quantity.cpu(model.cpu), "memory": str(int(model.memory)), "pods": pods}
    if model.gpus:
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

