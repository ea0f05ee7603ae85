"""`dataplane doctor TENANT`: the spec's troubleshooting section, as checks."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import yaml

from render import capacity, exitcodes, layout
from render.commands import _cluster
from render.ops import kube
from render.ops.diagnose import diagnose, format_finding

EXIT_FOUND = exitcodes.FAILED  # at least one error-level finding


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("doctor", help="diagnose a tenant's data plane and print the fixes",
                       description="Check the tenant's namespace for the troubleshooting cases: Pending pods and "
                                   "why (insufficient resources, GPU unavailable, node pool or quota limits), "
                                   "OOMKilled and crash-looping containers, failing or saturated extractors, "
                                   "extractors that scale to zero, and batch jobs with no batch workers. Each "
                                   "finding says what to do, with an overrides.yaml snippet ready to paste. "
                                   "Exits 1 if any error-level finding is found.")
    _cluster.add_args(p)
    p.set_defaults(run=lambda a: doctor(tenant=a.tenant, kubeconfig=a.kubeconfig, context=a.context, root=a.repo))


def node_memory(root: Path, tenant: str) -> dict[str, Decimal]:
    """Pod role -> memory one node of its pool holds (render/capacity.py), so a suggested
    increase never exceeds a node; {} when the repository does not say."""
    try:
        platform = yaml.safe_load((root / layout.PLATFORM_FILE).read_text(encoding="utf-8"))
        cloud = yaml.safe_load((root / layout.tenant_file(tenant, layout.TENANT_FILE)).read_text(encoding="utf-8"))["cloud"]
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return {}
    out = {}
    for role in (*layout.WORKER_GROUPS, "head"):
        node = capacity.group_node(platform, cloud, role if role != "head" else capacity.GENERAL_GROUP)
        if node is not None:
            out[role] = node.memory
    return out


def doctor(*, tenant: str, kubeconfig: str | None = None, context: str | None = None, root: Path = Path(".")) -> int:
    try:
        ns = _cluster.namespace(tenant)
        snapshot = kube.read_snapshot(kube.connect(kubeconfig, context), ns)
    except kube.OpsError as e:
        return _cluster.fail(e)
    findings = diagnose(snapshot, tenant, now=datetime.now(UTC), node_memory=node_memory(root, tenant))
    overrides = layout.tenant_file(tenant, layout.OVERRIDES_FILE)
    for f in findings:
        print("\n".join(format_finding(f, overrides)))
        print()
    errors = sum(f.severity == "error" for f in findings)
    print(f"{len(findings)} finding(s), {errors} error(s) in {ns}" if findings else f"no problems found in {ns}")
    return EXIT_FOUND if errors else 0
