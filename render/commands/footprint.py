"""`dataplane footprint TENANT [--format json]`: always-on and ceiling compute, and what it costs."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from render import contract, layout, output, pods, quantity
from render.context_types import Extractor, TenantContext
from render.footprint import Footprint, Tenant, as_dict, compute, money, number
from render.load import load_repo, read_yaml
from render.output import emit
from render.pipeline import built
from render.problems import ProblemsError
from render.validate import validate_repo
from render.validate.schemas import check_schema


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("footprint", help="a tenant's always-on and maximum compute, and its monthly estimate",
                       description="Print TENANT's compute footprint: always on (worker groups at their minimum nodes, "
                                   "head, datastores, Celery) and at its ceiling (every group at max nodes), in vCPU, "
                                   "memory and L4 GPUs, with a monthly estimate from registry/prices.yaml: platform fee "
                                   "plus the passthrough of nodes, persistent disks, bucket storage and network egress "
                                   "at cost, plus the management markup; then what the estimate excludes.")
    p.add_argument("tenant", metavar="TENANT")
    output.add(p, "--format")
    p.add_argument("--bucket-gib", type=_gib, default=Decimal(0), metavar="GIB",
                   help="data stored in the tenant's bucket, GiB (priced per GiB-month; default 0)")
    p.add_argument("--egress-gib", type=_gib, default=Decimal(0), metavar="GIB",
                   help="internet egress in a month, GiB (priced per GiB; default 0)")
    p.set_defaults(run=lambda a: footprint(root=a.repo, tenant=a.tenant, output=output.chosen(a),
                                           usage={"bucket_gib": a.bucket_gib, "egress_gib": a.egress_gib}))


def _gib(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of GiB") from None
    if not value.is_finite() or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of GiB (0 or more)")
    return value


def footprint(*, root: Path, tenant: str, output: str = "text", usage: dict[str, Decimal] | None = None) -> int:
    tb = _built(root, tenant)
    fp = compute(Tenant.of(tb.ctx), tb.pods, tb.extractors, tb.prices, usage)
    sold = contract_summary(tb)
    if output in ("json", "yaml"):  # numbers: vCPU, GiB, GPUs, USD per month
        emit({**as_dict(fp), "contract": sold}, output)
    else:
        print("\n".join(text_report(fp) + contract_lines(sold)))
    return 0


@dataclass(frozen=True)
class _Tenant:
    """One tenant as built: its context, its pod list, what prices it."""

    ctx: TenantContext
    pods: list[pods.Pod]
    extractors: dict[str, Extractor]
    platform: dict[str, Any]
    prices: dict[str, Any]


def _built(root: Path, tenant: str) -> _Tenant:
    repo = load_repo(root, [tenant])
    prices = read_yaml(root, layout.PRICES_FILE)
    problems = validate_repo(repo) + check_schema(prices, "prices")
    if problems:
        raise ProblemsError(problems)
    shared = repo.inputs_for(tenant)
    eff, ctx, objects = built(repo.tenants[tenant], shared)
    return _Tenant(ctx, pods.of_objects(objects.values()), eff.values["extractors"], shared.platform.data, prices.data)


def contract_summary(tb: _Tenant) -> dict[str, object]:
    """The tenant's sold ceilings (render/contract.py) and the quota derived from them: the
    same numbers validate holds the overrides to."""
    t = tb.ctx["tenant"]
    sold = contract.contract(t, tb.pods, tb.platform)
    monthly = (t.get("contract") or {}).get("monthly_compute_usd")
    return {"source": "tenant.yaml" if contract.of_tenant(t) is not None else "standard", "vcpu": number(sold.cpu),
            "memory_gib": number(sold.memory / quantity.GI), "gpus": sold.gpus, "pods": sold.pods,
            "monthly_compute_usd": monthly, "quota": contract.quota(t, tb.pods, tb.platform)}


def contract_lines(sold: dict[str, object]) -> list[str]:
    q = sold["quota"]
    assert isinstance(q, dict)
    line = (f"contract ({sold['source']}): {sold['vcpu']} vCPU, {sold['memory_gib']} GiB, {sold['gpus']} GPU, "
            f"{sold['pods']} pods" + (f", {sold['monthly_compute_usd']} USD/month" if sold["monthly_compute_usd"] else ""))
    return ["", line, f"quota (contract + headroom): {q['cpu']} vCPU, {q['memory']}, {q['gpu']} GPU, {q['pods']} pods"]


def load_footprint(root: Path, tenant: str, usage: dict[str, Decimal] | None = None) -> Footprint:
    """The footprint of `tenant` in the repository at `root` (e.g. a pull request's base and head)."""
    tb = _built(root, tenant)
    return compute(Tenant.of(tb.ctx), tb.pods, tb.extractors, tb.prices, usage)


def text_report(fp: Footprint) -> list[str]:
    out = [f"{fp.tenant} ({fp.cloud} {fp.region})", "",
           f"{'component':<16}{'always-on':>10}{'ceiling':>9}  {'each':<30}unit"]
    for ln in fp.lines:
        each = f"{number(ln.each.vcpu)} vCPU, {number(ln.each.memory_gib)} GiB" + (f", {number(ln.each.gpus)} GPU" if ln.each.gpus else "")
        out.append(f"{ln.component:<16}{ln.min_count:>10}{ln.max_count:>9}  {each:<30}{ln.unit}")
    out.append("")
    for label, r in (("always-on", fp.always_on), ("ceiling", fp.ceiling)):
        out.append(f"{label:<10} {number(r.vcpu)} vCPU, {number(r.memory_gib)} GiB, {number(r.gpus)} L4 GPU")
    out.append(f"{'disks':<10} {number(fp.storage_gib)} GiB")
    out.append(f"extractor min replicas reserve {number(fp.extractor_reserved.vcpu)} vCPU, "
               f"{number(fp.extractor_reserved.memory_gib)} GiB, {number(fp.extractor_reserved.gpus)} GPU of the worker nodes")
    out += ["", f"monthly estimate, USD ({number(fp.billing['hours_per_month'])} h; list prices from {layout.PRICES_FILE})",
            f"{'':<34}{'always-on':>12}{'ceiling':>12}"]
    low, high = fp.monthly("always_on"), fp.monthly("ceiling")
    markup = number(fp.billing["management_markup_percent"])
    bucket, egress = (number(fp.usage.get(k, Decimal(0))) for k in ("bucket_gib", "egress_gib"))
    for key, label in (("compute", "nodes and pods at cost"), ("storage", f"disks at cost ({number(fp.storage_gib)} GiB)"),
                       ("bucket", f"bucket at cost ({bucket} GiB)"), ("egress", f"egress at cost ({egress} GiB)"),
                       ("backups", f"backups at cost (~{number(fp.backup_gib.quantize(Decimal(1)))} GiB)"),
                       ("markup", f"management markup ({markup}%)"), ("passthrough", "passthrough"),
                       ("platform_fee", "platform fee"), ("total", "total")):
        out.append(f"{label:<34}{money(low[key]):>12,.2f}{money(high[key]):>12,.2f}")
    if not (bucket or egress):
        out.append("bucket storage and egress are usage: give --bucket-gib and --egress-gib to price them")
    out += [f"excluded: {x}" for x in fp.excluded]
    out += [f"note: {n}" for n in fp.notes]
    return out
