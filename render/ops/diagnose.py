"""`dataplane doctor`'s brain: the spec's troubleshooting section as checks over one
tenant's Kubernetes objects. Pure: a Snapshot (plain API dicts) in, sorted findings out."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from render.ops import diagnose_pods, diagnose_ray
from render.ops.findings import Finding
from render.ops.snapshot import Snapshot


def diagnose(s: Snapshot, tenant: str, now: datetime | None = None,
             node_memory: dict[str, Decimal] | None = None) -> list[Finding]:
    """`node_memory`: pod role -> memory one node of its pool holds, capping suggestions."""
    findings = (
        diagnose_ray.service_findings(s, tenant)
        + diagnose_pods.pending_findings(s, tenant, now)
        + diagnose_pods.oom_findings(s, tenant, node_memory)
        + diagnose_pods.crashloop_findings(s)
        + diagnose_ray.extractor_findings(s)
        + diagnose_ray.batch_findings(s, tenant)
    )
    return sorted(findings, key=Finding.sort_key)


def format_finding(f: Finding, overrides_file: str) -> list[str]:
    """Human text of one finding; the overrides snippet indented, ready to paste."""
    lines = [f"[{f.severity}] {f.subject}: {f.problem}"]
    lines += [f"    {d}" for d in f.details if d]
    if f.fix:
        lines.append(f"  fix: {f.fix}")
    if f.command:
        lines.append(f"  run: {f.command}")
    if f.overrides:
        lines.append(f"  in {overrides_file}:")
        lines += [f"    {line}" for line in f.overrides.rstrip("\n").splitlines()]
    return lines
