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
datastore; their runs may overlap) and a restore Job run on the headroom too. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from render import pools, quantity

AUTOSCALER = {"cpu": "500m", "memory": "512Mi"}  # autoscalerOptions.resources, base/ray.yaml.j2
MIGRATION_JOB_PODS = 2


@dataclass(frozen=True)
class Ceiling:
    cpu: Decimal = Decimal(0)
    memory: Decimal = Decimal(0)  # bytes
    gpus: int = 0
    pods: int = 0

    def __add__(self, o: Ceiling) -> Ceiling:
        return Ceiling(self.cpu + o.cpu, self.memory + o.memory, self.gpus + o.gpus, self.pods + o.pods)


def pods(res: dict[str, Any], count: int = 1) -> Ceiling:
    return Ceiling(quantity.parse(res["cpu"]) * count, quantity.parse(res["memory"]) * count,
                   int(res.get("nvidia.com/gpu", 0)) * count, count)


def peak(ctx: dict[str, Any]) -> Ceiling:
    """Every pod of the tenant at its maximum count: what its overrides ask for."""
    # The autoscaler is a sidecar of the head: its resources count, not as a pod.
    total = pods(ctx["head"]) + Ceiling(quantity.parse(AUTOSCALER["cpu"]), quantity.parse(AUTOSCALER["memory"]))
    for g in ctx["worker_groups"]:
        total += pods(g["resources"], g["max_replicas"])
    ds, c = ctx["datastores"], ctx["celery"]
    total += pods(ds["redis"]) + (pods(ds["mongodb"]) if ds["mongodb_dedicated"] else Ceiling())
    total += pods(c["worker"]["resources"], c["worker"]["replicas"]) + pods(c["beat"])
    if c["extract"]:
        total += pods(c["extract"]["resources"], c["extract"]["max_replicas"])
    return total + pods(ctx["monitoring"]["exporter_resources"], len(ctx["monitoring"]["exporters"]))


def second_cluster(ctx: dict[str, Any]) -> list[tuple[str, dict[str, Any], int]]:
    """The pods of a NewCluster upgrade's second RayCluster, as (component, resources, count):
    the head, and every group at its starting size (KubeRay creates the new cluster with the
    spec's replicas). The head's autoscaler sidecar (AUTOSCALER) comes on top of the head.
    Also what the rollout plan budgets (render/rollout/surge.py)."""
    return [(pools.RAY_HEAD, ctx["head"], 1),
            *((g["name"], g["resources"], max(g["min_replicas"], g["replicas"])) for g in ctx["worker_groups"])]


def headroom(ctx: dict[str, Any]) -> Ceiling:
    """A NewCluster upgrade's second RayCluster (head, sidecar, every group at its starting
    size) and the migration Jobs."""
    extra = Ceiling(quantity.parse(AUTOSCALER["cpu"]), quantity.parse(AUTOSCALER["memory"]))
    for _, res, count in second_cluster(ctx):
        extra += pods(res, count)
    # A rolling update surges one pod of each rolling Deployment (Celery workers, extract,
    # exporters) while the old one still runs.
    c = ctx["celery"]
    extra += pods(c["worker"]["resources"]) + (pods(c["extract"]["resources"]) if c["extract"] else Ceiling())
    extra += pods(ctx["monitoring"]["exporter_resources"], len(ctx["monitoring"]["exporters"]))
    if ctx.get("migration"):
        extra += pods(ctx["migration"]["resources"], MIGRATION_JOB_PODS)
    b = ctx.get("backups") or {"cronjobs": [], "restore": None}
    if b["cronjobs"]:
        extra += pods(b["resources"], len(b["cronjobs"]))
    if b["restore"]:
        extra += pods(b["restore"]["resources"])
    for job in (ctx.get("move") or {}).get("resources", []):  # a move's copy Jobs (render/move/jobs.py)
        extra += pods(job)
    return extra + Ceiling(pods=MIGRATION_JOB_PODS)


def standard(ctx: dict[str, Any], platform: dict[str, Any]) -> Ceiling:
    """The contract of a tenant that has none: the peak of the platform's own sizes."""
    groups = []
    for g in ctx["worker_groups"]:
        p = platform["worker_groups"][g["name"]]
        res = {"cpu": p["cpu"], "memory": p["memory"], **({"nvidia.com/gpu": p["gpus"]} if p.get("gpus") else {})}
        groups.append({**g, "resources": res, "max_replicas": p["max_replicas"]})
    head = {"cpu": platform["head"]["cpu"], "memory": platform["head"]["memory"]}
    # Celery's extract pods count as configured: their count and size are the extractor's.
    celery = ctx["celery"]
    return peak({**ctx, "head": head, "worker_groups": groups, "celery": celery})


def of_tenant(tenant: dict[str, Any]) -> Ceiling | None:
    """The contract written in tenant.yaml, if any."""
    c = tenant.get("contract")
    if not c:
        return None
    return Ceiling(Decimal(str(c["vcpu"])), quantity.parse(c["memory"]), int(c.get("gpus", 0)), int(c["pods"]))


def contract(ctx: dict[str, Any], platform: dict[str, Any]) -> Ceiling:
    return of_tenant(ctx["tenant"]) or standard(ctx, platform)


def quota(ctx: dict[str, Any], platform: dict[str, Any]) -> dict[str, str]:
    """ResourceQuota hard limits: the contract plus the headroom."""
    sold, extra = contract(ctx, platform), headroom(ctx)
    # The headroom never exceeds the contract itself: the quota stays within twice what was sold.
    extra = Ceiling(min(extra.cpu, sold.cpu), min(extra.memory, sold.memory), min(extra.gpus, sold.gpus),
                    min(extra.pods, sold.pods))
    total = sold + extra
    return {"cpu": quantity.cpu(total.cpu.to_integral_value(rounding="ROUND_CEILING")),
            "memory": quantity.memory((total.memory / quantity.GI).to_integral_value(rounding="ROUND_CEILING") * quantity.GI),
            "gpu": str(total.gpus), "pods": str(total.pods)}
