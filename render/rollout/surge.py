"""What moving a tenant to a new release costs its cluster while the upgrade runs.

A new image (every platform release), `rayVersion` or Serve config makes KubeRay start a
second RayCluster beside the first until it is ready (render/contract.py `second_cluster`:
the head with its autoscaler sidecar, every worker group at its starting size). Its pods go
to their pools (registry/platform.yaml `nodes.placement`), whose machines the node model
sizes (render/capacity.py): identical pods are packed together, one shape never shares a
node with another, so the node count is what the cluster autoscaler adds at most.
Pure, except `of_repo` (which merges each tenant's configuration).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from render import capacity, context, contract, pools, quantity
from render.context_types import TenantContext
from render.load import Repo
from render.merge import merge_tenant

# (pool, cpu, memory bytes, GPUs, pods of this shape one node holds)
Shape = tuple[str, Decimal, Decimal, int, int]


@dataclass(frozen=True)
class Surge:
    """One tenant's second RayCluster: its cluster, its GPUs and its pods by shape."""

    cluster: str
    gpus: int
    pods: tuple[tuple[Shape, int], ...]


@dataclass(frozen=True)
class Load:
    """What one batch starts on one cluster at once."""

    tenants: int = 0
    gpus: int = 0
    nodes: int = 0


def per_node(node: capacity.Node | None, cpu: Decimal, memory: Decimal, gpus: int) -> int:
    """How many pods of this shape one node holds (1 when none or the machine is unknown:
    `validate --deep` refuses a pod its pool cannot hold)."""
    if node is None:
        return 1
    fits = [node.cpu // cpu if cpu else None, node.memory // memory if memory else None,
            node.gpus // gpus if gpus else None]
    return max(1, int(min(f for f in fits if f is not None))) if any(f is not None for f in fits) else 1


def of_context(ctx: TenantContext, platform: dict[str, Any]) -> Surge:
    cloud = ctx["cloud"]
    sidecar = (quantity.parse(contract.AUTOSCALER["cpu"]), quantity.parse(contract.AUTOSCALER["memory"]))
    shapes: dict[Shape, int] = {}
    gpus = 0
    for component, res, count in contract.second_cluster(ctx):
        if count <= 0:
            continue
        cpu, memory = quantity.parse(res["cpu"]), quantity.parse(res["memory"])
        if component == pools.RAY_HEAD:
            cpu, memory = cpu + sidecar[0], memory + sidecar[1]
        gpu = int(res.get("nvidia.com/gpu", 0))
        pool = pools.pool_of(platform, component)
        shape = (pool, cpu, memory, gpu, per_node(capacity.pool_node(platform, cloud, pool), cpu, memory, gpu))
        shapes[shape] = shapes.get(shape, 0) + count
        gpus += gpu * count
    return Surge(str(ctx["tenant"]["cluster"]), gpus, tuple(sorted(shapes.items())))


def of_repo(repo: Repo, names: Iterable[str]) -> dict[str, Surge]:
    """The surge of each tenant named, at the working tree's platform (the release it moves to)."""
    shared = repo.current
    platform = shared.platform.data
    out = {}
    for name in names:
        eff = merge_tenant(shared.platform, shared.extractors, repo.tenants[name])
        out[name] = of_context(context.tenant_context(eff, platform), platform)
    return out


def load(surges: Iterable[Surge]) -> dict[str, Load]:
    """cluster -> what `surges`, started at once, add there (nodes: identical pods packed)."""
    by_cluster: dict[str, tuple[int, int, dict[Shape, int]]] = {}
    for s in surges:
        tenants, gpus, shapes = by_cluster.get(s.cluster, (0, 0, {}))
        for shape, count in s.pods:
            shapes[shape] = shapes.get(shape, 0) + count
        by_cluster[s.cluster] = (tenants + 1, gpus + s.gpus, shapes)
    return {c: Load(t, g, sum(math.ceil(n / shape[4]) for shape, n in shapes.items()))
            for c, (t, g, shapes) in sorted(by_cluster.items())}
