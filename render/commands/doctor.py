"""`dataplane doctor TENANT`: the spec's troubleshooting section, as checks."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import yaml

from render import capacity, exitcodes, layout, output, pools
from render.commands import _cluster
from render.ops import kube
from render.ops.diagnose import diagnose, format_finding
from render.ops.findings import Finding

EXIT_FOUND = exitcodes.FAILED  # at least one error-level finding


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("doctor", help="diagnose a tenant's data plane and print the fixes",
                       description="Check the tenant's namespace for the troubleshooting cases: Pending pods and "
                                   "why (insufficient resources, GPU unavailable, node pool or quota limits), "
                                   "OOMKilled and crash-looping containers, failing or saturated extractors, "
                                   "extractors that scale to zero, and batch jobs with no batch workers. Each "
                                   "finding says what to do, with an overrides.yaml snippet ready to paste. "
                                   "Exits 1 if any error-level finding is found. With --offline, no cluster: the "
                                   "render-time checks of the tenant's files instead (validate, placement warnings, "
                                   "committed output current).")
    _cluster.add_args(p)
    output.add(p)
    p.add_argument("--offline", action="store_true",
                   help="check the tenant's files only (what render and validate check), without a cluster")
    p.set_defaults(run=lambda a: doctor(tenant=a.tenant, namespace=a.namespace, kubeconfig=a.kubeconfig,
                                        context=a.context, root=a.repo, offline=a.offline, fmt=output.chosen(a)))


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
        node = capacity.group_node(platform, cloud, role if role != "head" else pools.RAY_HEAD)
        if node is not None:
            out[role] = node.memory
    return out


def doctor(*, tenant: str | None, kubeconfig: str | None = None, context: str | None = None, root: Path = Path("."),
           namespace: str | None = None, offline: bool = False, fmt: str = "text") -> int:
    """json/yaml: {"tenant", "namespace", "findings": [{severity, subject, problem, details, fix, overrides,
    command}]}."""
    try:
        if offline:
            tenant = _cluster.tenant_name(tenant, namespace)
            ns = layout.namespace(tenant)
            findings = offline_findings(root, tenant)
        else:
            tenant, ns = _cluster.target(tenant, namespace, root, kubeconfig)
            snapshot = kube.read_snapshot(kube.connect(kubeconfig, context), ns)
            findings = diagnose(snapshot, tenant, now=datetime.now(UTC), node_memory=node_memory(root, tenant))
    except kube.OpsError as e:
        return _cluster.fail(e)
    errors = sum(f.severity == "error" for f in findings)
    if output.structured(fmt):
        output.emit({"tenant": tenant, "namespace": ns, "findings": [asdict(f) for f in findings]}, fmt)
        return EXIT_FOUND if errors else 0
    overrides = layout.tenant_file(tenant, layout.OVERRIDES_FILE)
    for f in findings:
        print("\n".join(format_finding(f, overrides)))
        print()
    where = f"the files of {tenant}" if offline else ns
    print(f"{len(findings)} finding(s), {errors} error(s) in {where}" if findings else f"no problems found in {where}")
    return EXIT_FOUND if errors else 0


def offline_findings(root: Path, tenant: str) -> list[Finding]:
    """The render-time checks of one tenant: its files (validate), maxima its groups cannot
    reach (placement warnings) and whether its committed output is current (render --check)."""
    from render import fleet
    from render.load import list_tenants, load_repo
    from render.problems import ProblemsError, did_you_mean
    from render.validate import validate_repo, warnings

    if tenant not in list_tenants(root):
        raise kube.OpsError(f"no tenant {tenant!r} in {root / layout.TENANTS_DIR}",
                            did_you_mean(tenant, list_tenants(root), "tenants") or "check the name, or give --repo")
    repo = load_repo(root, [tenant])
    problems = validate_repo(repo)
    found = [Finding("error", p.file, f"{p.pointer}: {p.message}" if p.pointer else p.message,
                     (f"{p.file}:{p.line}:{p.column}",), p.hint) for p in problems]
    if problems:
        return found
    found += [Finding("warning", w.file, f"{w.pointer}: {w.message}", (f"{w.file}:{w.line}:{w.column}",), w.hint)
              for w in warnings(repo)]
    try:
        stale = fleet.render_to_disk(root, [tenant], check=True, use_cache=False).report
    except ProblemsError as e:
        return found + [Finding("error", p.file, p.message, (), p.hint) for p in e.problems]
    paths = sorted({*stale.written, *stale.pruned})
    if paths:
        found.append(Finding("error", f"rendered output of {tenant}", f"{len(paths)} file(s) not current",
                             tuple(paths[:10]), "run `dataplane render` and commit the output"))
    return found
