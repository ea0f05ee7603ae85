"""`dataplane scale TENANT GROUP --replicas N`: a temporary scale of a Ray worker group."""

from __future__ import annotations

import argparse

from render import layout
from render.commands import _cluster
from render.ops import kube
from render.ops.scaling import plan_scale, reset_notice


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("scale", help="temporarily scale a Ray worker group (the next deploy resets it)",
                       description="Set the replicas of one worker group of the tenant's active RayCluster, e.g. "
                                   "before a large batch job. Temporary: the next deploy resets the group to the "
                                   "tenant's overrides.yaml, and the Ray autoscaler removes idle nodes. N must lie "
                                   "within the group's min and max replicas.")
    _cluster.add_args(p)
    p.add_argument("group", metavar="GROUP", choices=layout.WORKER_GROUPS,
                   help="worker group: " + ", ".join(layout.WORKER_GROUPS))
    p.add_argument("--replicas", type=int, required=True, metavar="N", help="number of worker pods")
    p.set_defaults(run=lambda a: scale(tenant=a.tenant, group=a.group, replicas=a.replicas,
                                       kubeconfig=a.kubeconfig, context=a.context))


def scale(*, tenant: str, group: str, replicas: int, kubeconfig: str | None = None, context: str | None = None) -> int:
    try:
        ns = _cluster.namespace(tenant)
        cluster = kube.connect(kubeconfig, context)
        plan = plan_scale(kube.read_snapshot(cluster, ns), tenant, group, replicas)
        kube.patch_worker_replicas(cluster, ns, plan.cluster, plan.index, plan.group, plan.new)
    except kube.OpsError as e:
        return _cluster.fail(e)
    print("\n".join(reset_notice(plan, tenant)))
    return 0
