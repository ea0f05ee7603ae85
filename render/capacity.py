"""Node model: what pods may request on one node of a machine type.

Allocatable = the kubelet's capacity - the cloud's reservations - the platform's
DaemonSet budget (registry/platform.yaml `nodes`). Reservations follow the documented
formulas:
- GKE (cloud.google.com/kubernetes-engine/docs/concepts/plan-node-sizes): CPU 6% of the
  first core, 1% of the second, 0.5% of the next two, 0.25% above four; memory 25% of the
  first 4 GiB, 20% of the next 4, 10% of the next 8, 6% of the next 112, 2% above 128;
  plus a 100 MiB eviction threshold.
- EKS AMIs (awslabs/amazon-eks-ami bootstrap): the same CPU formula; memory
  255 MiB + 11 MiB per pod the node may run (max_pods); plus a 100 MiB eviction threshold.
Which pool, and so which machine type, a component's pods run on is registry/platform.yaml
`nodes.placement` (render/pools.py). Used by `validate --deep` (every pod fits its pool),
by `dataplane cluster`'s simulated nodes and by `doctor` (a suggested memory increase never
exceeds a node). Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from render import pools, quantity

MI = Decimal(2) ** 20
GI = Decimal(2) ** 30
EVICTION = 100 * MI
CPU_STEPS = ((Decimal(1), Decimal("0.06")), (Decimal(1), Decimal("0.01")), (Decimal(2), Decimal("0.005")),
             (None, Decimal("0.0025")))
GKE_MEMORY_STEPS = ((4 * GI, Decimal("0.25")), (4 * GI, Decimal("0.20")), (8 * GI, Decimal("0.10")),
                    (112 * GI, Decimal("0.06")), (None, Decimal("0.02")))


@dataclass(frozen=True)
class Node:
    machine: str
    cloud: str
    cpu: Decimal  # cores a pod may request
    memory: Decimal  # bytes a pod may request
    gpus: int

    def fits(self, cpu: Decimal, memory: Decimal, gpus: int = 0) -> bool:
        return cpu <= self.cpu and memory <= self.memory and gpus <= self.gpus

    def describe(self) -> str:
        return f"{self.machine} allocatable {quantity.cpu(self.cpu)} CPU, {gib(self.memory)} memory, {self.gpus} GPU"


def _tiered(total: Decimal, steps: tuple[tuple[Decimal | None, Decimal], ...]) -> Decimal:
    out, left = Decimal(0), total
    for size, share in steps:
        part = left if size is None else min(left, size)
        out += part * share
        left -= part
        if left <= 0:
            break
    return out


def gib(b: Decimal) -> str:
    return f"{(b / GI).quantize(Decimal('0.1'))}Gi"


def node(machine: str, cloud: str, nodes: dict[str, Any]) -> Node | None:
    """The allocatable node of `machine` on `cloud`; None for an undeclared machine type."""
    spec = nodes["machines"].get(machine)
    if spec is None:
        return None
    cpu, memory = quantity.parse(spec["cpu"]), quantity.parse(spec["memory"])
    reserved_cpu = _tiered(cpu, CPU_STEPS)
    reserved_mem = _tiered(memory, GKE_MEMORY_STEPS) if cloud == "gcp" else 255 * MI + 11 * MI * int(spec.get("max_pods", 110))
    budget = nodes["daemonset_budget"][cloud]
    return Node(machine, cloud, cpu - reserved_cpu - quantity.parse(budget["cpu"]),
                memory - reserved_mem - EVICTION - quantity.parse(budget["memory"]), int(spec.get("gpus", 0)))


def pool_node(platform: dict[str, Any], cloud: str, pool: str) -> Node | None:
    """The allocatable node of `pool` on `cloud`; None when the pool has no declared machine there."""
    machine = pools.machine(platform, cloud, pool)
    return node(machine, cloud, platform["nodes"]) if machine else None


def group_node(platform: dict[str, Any], cloud: str, component: str) -> Node | None:
    """The node one pod of `component` (a worker group, or render/pools.py COMPONENTS)
    fills: one of its pool's (`nodes.placement`)."""
    return pool_node(platform, cloud, pools.pool_of(platform, component))
