"""`dataplane scale TENANT GROUP --replicas N`: a temporary scale of a Ray worker group."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from render import layout
from render.commands import _cluster
from render.load import load_repo
from render.ops import kube, scaling
from render.ops.scaling import plan_scale, reset_notice
from render.pipeline import effective
from render.validate import validate_repo


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("scale", help="temporarily scale a Ray worker group (the next deploy resets it)",
                       description="Set the replicas of one worker group of the tenant's active RayCluster, e.g. "
                                   "before a large batch job. Temporary: the next deploy resets the group to the "
                                   "tenant's overrides.yaml, and the Ray autoscaler removes idle nodes. N must lie "
                                   "within the group's min and max replicas.")
    _cluster.add_args(p)
    p.add_argument("group", metavar="GROUP", choices=layout.WORKER_GROUPS,
                   help="worker group: " + ", ".join(layout.WORKER_GROUPS))
    p.add_argument("--replicas", type=_count, required=True, metavar="N", help="number of worker pods")
    p.add_argument("--dry-run", action="store_true", help="read the cluster and print the patch it would send; change nothing")
    p.set_defaults(writes=True, run=lambda a: scale(
        tenant=a.tenant, namespace=a.namespace, group=a.group, replicas=a.replicas, kubeconfig=a.kubeconfig,
        context=a.context, root=a.repo, dry_run=a.dry_run))


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of pods") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: a number of pods is 0 or more")
    return value


def scale(*, tenant: str | None, group: str, replicas: int, namespace: str | None = None,
          kubeconfig: str | None = None, context: str | None = None, root: Path = Path("."), dry_run: bool = False) -> int:
    try:
        tenant, ns = _cluster.target(tenant, namespace, root, kubeconfig)
        check_range(root, tenant, group, replicas)
        cluster = kube.connect(kubeconfig, context)
        plan = plan_scale(kube.read_snapshot(cluster, ns), tenant, group, replicas)
        if dry_run:
            print(f"dry run: nothing was changed\nwould patch RayCluster {plan.cluster} in {ns}: "
                  f"{plan.group} replicas {plan.old} -> {plan.new}\n"
                  + json.dumps(kube.worker_replicas_patch(plan.index, plan.group, plan.new)))
            return 0
        kube.patch_worker_replicas(cluster, ns, plan.cluster, plan.index, plan.group, plan.new)
    except kube.OpsError as e:
        return _cluster.fail(e)
    print("\n".join(reset_notice(plan, tenant)))
    return 0


def check_range(root: Path, tenant: str, group: str, replicas: int) -> None:
    """Offline, before dialing: N within the group's min..max of this repository's effective
    configuration (the cluster is asked again, as it may run another revision)."""
    if not (root / layout.tenant_dir(tenant)).is_dir():
        return
    repo = load_repo(root, [tenant])
    if validate_repo(repo):
        return  # the cluster's own range decides; `dataplane validate` reports the files
    g = effective(repo.tenants[tenant], repo.inputs_for(tenant)).values["cluster"][group]
    scaling.check_range(tenant, group, g["min_replicas"], g["max_replicas"], replicas)
