"""Node model: what pods may request on one node of a machine type.

Allocatable = the kubelet's capacity - the cloud's reservations - the platform's
DaemonSet budget (registry/platform.yaml `nodes`). Reservations follow the documented
formulas: CPU 6% of the first core, 1% of the second, 0.5% of the next two, 0.25% above
four on GKE and EKS alike (cloud.google.com/kubernetes-engine/docs/concepts/plan-node-sizes,
awslabs/amazon-eks-ami bootstrap); memory as the cloud reserves it (render/clouds/
`reserved_memory`); plus a 100 MiB eviction threshold.
Which pool, and so which machine type, a component's pods run on is registry/platform.yaml
`nodes.placement` (render/pools.py). Used by `validate --deep` (every pod fits its pool),
by `dataplane cluster`'s simulated nodes and by `doctor` (a suggested memory increase never
exceeds a node). Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from render import clouds, pools, quantity
from render.clouds.base import GI, MI, tiered

EVICTION = 100 * MI
CPU_STEPS = ((Decimal(1), Decimal("0.06")), (Decimal(1), Decimal("0.01")), (Decimal(2), Decimal("0.005")),
             (None, Decimal("0.0025")))


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


def gib(b: Decimal) -> str:
    return f"{(b / GI).quantize(Decimal('0.1'))}Gi"


def node(machine: str, cloud: str, nodes: dict[str, Any]) -> Node | None:
    """The allocatable node of `machine` on `cloud`; None for an undeclared machine type."""
    spec = nodes["machines"].get(machine)
    if spec is None:
        return None
    cpu, memory = quantity.parse(spec["cpu"]), quantity.parse(spec["memory"])
    reserved_cpu = tiered(cpu, CPU_STEPS)
    reserved_mem = clouds.get(cloud).reserved_memory(memory, spec)
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
