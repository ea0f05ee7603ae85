"""`dataplane status TENANT`: RayService/RayCluster state, pods per worker group, extractors."""

from __future__ import annotations

import argparse
from pathlib import Path

from render import output
from render.commands import _cluster
from render.ops import kube
from render.ops.status import status_data, status_lines


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("status", help="show a tenant's Ray cluster, worker groups, extractors and pods",
                       description="Read the tenant's namespace with your kubeconfig and print the RayService and "
                                   "RayCluster state, pods per worker group (with replicas, min and max), each "
                                   "extractor's Serve status and replica range, and the other workloads.")
    _cluster.add_args(p)
    output.add(p)
    p.set_defaults(run=lambda a: status(tenant=a.tenant, namespace=a.namespace, kubeconfig=a.kubeconfig,
                                        context=a.context, root=a.repo, fmt=output.chosen(a)))


def status(*, tenant: str | None, namespace: str | None = None, kubeconfig: str | None = None,
           context: str | None = None, root: Path = Path("."), fmt: str = "text") -> int:
    """json/yaml: {"tenant", "namespace", "service", "cluster", "extractors", "other_workloads"}
    (render/ops/status.status_data)."""
    try:
        tenant, ns = _cluster.target(tenant, namespace, root, kubeconfig)
        snapshot = kube.read_snapshot(kube.connect(kubeconfig, context), ns)
    except kube.OpsError as e:
        return _cluster.fail(e)
    if output.structured(fmt):
        output.emit({"tenant": tenant, **status_data(snapshot)}, fmt)
        return 0
    print(f"namespace {ns}")
    for line in status_lines(snapshot):
        print(line)
    return 0
