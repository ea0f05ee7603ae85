"""The tenant's contract: the ceilings it was sold, and the namespace quota derived from it.

The contract lives in tenant.yaml (platform-owned, `contract`): vCPU, memory, GPUs, pods
and a monthly compute estimate. A tenant without one is sold the platform's standard
configuration: the peak of registry/platform.yaml's own sizes (`standard`). The
ResourceQuota is the contract plus the headroom below, never a function of overrides; the
overrides are refused by validate when their peak exceeds the contract (render/validate/effective_rules.py).

Headroom (docs/security.md): during a RayService upgrade (upgradeStrategy NewCluster)
KubeRay runs a second RayCluster beside the first until it is ready: one more head, its
autoscaler sidecar and every worker group at its starting size. A rolling update surges one pod
of each rolling Deployment. Two pods more for a migration's Jobs. The backup Jobs (one per
datastore; their runs may overlap) and a restore Job run on the headroom too.

Everything here reads the tenant's pod list (render/pods.py), taken from its built objects
before the ResourceQuota is rendered (render/build.py): a pod any template renders is
counted, and the footprint prices the same list. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from render import pools, quantity
from render.context_types import BaseContext
from render.pods import HEAD_GROUP, Pod, Size

AUTOSCALER = {"cpu": "500m", "memory": "512Mi"}  # autoscalerOptions.resources, base/ray.yaml.j2
# A migration's Jobs may overlap (a state's Job and its retry): two pods each, and two pods
# of room even when none is due, so the next state's Job is admitted.
MIGRATION_JOB_PODS = 2
MIGRATION_COMPONENT = "migration"


@dataclass(frozen=True)
class Ceiling:
    cpu: Decimal = Decimal(0)
    memory: Decimal = Decimal(0)  # bytes
    gpus: int = 0
    pods: int = 0

    def __add__(self, o: Ceiling) -> Ceiling:
        return Ceiling(self.cpu + o.cpu, self.memory + o.memory, self.gpus + o.gpus, self.pods + o.pods)


def of_pods(size: Size, count: int = 1) -> Ceiling:
    return Ceiling(size.cpu * count, size.memory * count, size.gpus * count, count)


def peak_by_pod(pods: list[Pod]) -> dict[str, Ceiling]:
    """What each long-running pod asks for at its maximum count (a sidecar counts in its pod)."""
    return {p.name: of_pods(p.requests, p.max_count) for p in pods if not p.runs_to_completion}


def peak(pods: list[Pod]) -> Ceiling:
    """Every pod of the tenant at its maximum count: what its overrides ask for."""
    return sum(peak_by_pod(pods).values(), Ceiling())


def headroom_by_pod(pods: list[Pod]) -> dict[str, Ceiling]:
    """A NewCluster upgrade's second RayCluster (head, sidecar, every group at its starting
    size: KubeRay creates the new cluster with the spec's replicas), one surge pod of each
    rolling Deployment, and every run-to-completion pod (backups, restore, a migration's
    Jobs, a move's copies)."""
    out = {}
    for p in pods:
        if p.ray_group:
            out[p.name] = of_pods(p.requests, p.start_count)
        elif p.rolls:
            out[p.name] = of_pods(p.requests)
        elif p.runs_to_completion:
            out[p.name] = of_pods(p.requests, MIGRATION_JOB_PODS if p.component == MIGRATION_COMPONENT else 1)
    return out


def second_cluster(ctx: BaseContext) -> list[tuple[str, dict[str, str], int]]:
    """The pods of a NewCluster upgrade's second RayCluster, as (component, resources, count),
    read from the template context before anything is built: the head and every group at
    its starting size, the head's autoscaler sidecar (AUTOSCALER) on top. What the rollout
    plan budgets (render/rollout/surge.py); `headroom_by_pod` counts the same pods from
    the built objects (tests/conformance/test_rollout_budgets.py checks they agree)."""
    return [(pools.RAY_HEAD, ctx["head"], 1),
            *((g["name"], g["resources"], max(g["min_replicas"], g["replicas"])) for g in ctx["worker_groups"])]


def headroom(pods: list[Pod]) -> Ceiling:
    return sum(headroom_by_pod(pods).values(), Ceiling(pods=MIGRATION_JOB_PODS))


def standard(pods: list[Pod], platform: dict[str, Any]) -> Ceiling:
    """The contract of a tenant that has none: its peak with the platform's own sizes for
    the Ray head and worker groups (their size and maximum are what overrides change)."""
    total = Ceiling()
    for p in pods:
        if p.runs_to_completion:
            continue
        g = platform["worker_groups"].get(p.ray_group)
        if p.ray_group == HEAD_GROUP:
            h = platform["head"]
            size = Size.of({"cpu": h["cpu"], "memory": h["memory"]}) + sum((c.requests for c in p.containers if c.sidecar), Size())
            total += of_pods(size)
        elif g is not None:
            total += of_pods(Size.of({"cpu": g["cpu"], "memory": g["memory"], "nvidia.com/gpu": g.get("gpus", 0)}),
                             g["max_replicas"])
        else:
            total += of_pods(p.requests, p.max_count)
    return total


def of_tenant(tenant: Mapping[str, Any]) -> Ceiling | None:
    """The contract written in tenant.yaml, if any."""
    c = tenant.get("contract")
    if not c:
        return None
    return Ceiling(Decimal(str(c["vcpu"])), quantity.parse(c["memory"]), int(c.get("gpus", 0)), int(c["pods"]))


def contract(tenant: Mapping[str, Any], pods: list[Pod], platform: dict[str, Any]) -> Ceiling:
    return of_tenant(tenant) or standard(pods, platform)


def quota(tenant: Mapping[str, Any], pods: list[Pod], platform: dict[str, Any]) -> dict[str, str]:
    """ResourceQuota hard limits: the contract plus the headroom."""
    sold, extra = contract(tenant, pods, platform), headroom(pods)
    # The headroom never exceeds the contract itself: the quota stays within twice what was sold.
    extra = Ceiling(min(extra.cpu, sold.cpu), min(extra.memory, sold.memory), min(extra.gpus, sold.gpus),
                    min(extra.pods, sold.pods))
    total = sold + extra
    return {"cpu": quantity.cpu(total.cpu.to_integral_value(rounding="ROUND_CEILING")),
            "memory": quantity.memory((total.memory / quantity.GI).to_integral_value(rounding="ROUND_CEILING") * quantity.GI),
            "gpu": str(total.gpus), "pods": str(total.pods)}


def container_max(pods: list[Pod]) -> dict[str, str]:
    """LimitRange max: the largest container of every pod the tenant runs (a worker pod, usually)."""
    limits = [c.limits for p in pods for c in p.containers]
    return {"cpu": quantity.cpu(max(s.cpu for s in limits)), "memory": quantity.memory(max(s.memory for s in limits))}
