"""`dataplane scale`'s plan: which RayCluster and worker group to patch, checked against
the group's bounds. Pure; kube.py applies it."""

from __future__ import annotations

from dataclasses import dataclass

from render import layout
from render.context import AUTOSCALER_IDLE_S
from render.ops import snapshot as snap
from render.ops.findings import snippet
from render.ops.kube import OpsError


@dataclass(frozen=True)
class ScalePlan:
    cluster: str
    index: int
    group: str
    old: int
    new: int


def plan_scale(s: snap.Snapshot, tenant: str, group: str, replicas: int) -> ScalePlan:
    cluster = snap.active_cluster(s)
    if cluster is None:
        raise OpsError(f"no active RayCluster in {s.namespace}", f"run `dataplane status {tenant}`")
    groups = snap.worker_groups(cluster)
    names = [str(g.get("groupName")) for g in groups]
    if group not in names:
        raise OpsError(f"no worker group {group!r} in RayCluster {snap.name_of(cluster)}",
                       "worker groups: " + ", ".join(names))
    index = names.index(group)
    spec = groups[index]
    low, high = int(spec.get("minReplicas") or 0), int(spec.get("maxReplicas") or 0)
    check_range(tenant, group, low, high, replicas)
    return ScalePlan(snap.name_of(cluster), index, group, int(spec.get("replicas") or 0), replicas)


def check_range(tenant: str, group: str, low: int, high: int, replicas: int) -> None:
    """`replicas` within low..high, else an OpsError with the overrides.yaml change to make."""
    if not low <= replicas <= high:
        key = "max_replicas" if replicas > high else "min_replicas"
        raise OpsError(f"{group} allows {low}..{high} replicas; {replicas} is outside",
                       f"change {key} in {layout.tenant_file(tenant, layout.OVERRIDES_FILE)} and deploy:\n"
                       + snippet({"cluster": {group: {key: replicas}}}).rstrip())


def reset_notice(plan: ScalePlan, tenant: str) -> list[str]:
    overrides = layout.tenant_file(tenant, layout.OVERRIDES_FILE)
    # Up: a floor the autoscaler keeps; down: a ceiling it respects.
    key = "min_replicas" if plan.new >= plan.old else "max_replicas"
    return [
        f"scaled {plan.group} of RayCluster {plan.cluster}: replicas {plan.old} -> {plan.new}",
        "This is temporary: the next deploy resets the group to the values in "
        f"{overrides}, and the Ray autoscaler removes worker nodes idle for more than {AUTOSCALER_IDLE_S}s.",
        f"For a lasting change, set it in {overrides}:",
        *("  " + line for line in snippet({"cluster": {plan.group: {key: plan.new}}}).splitlines()),
    ]
