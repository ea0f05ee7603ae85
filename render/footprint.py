"""A tenant's compute footprint and monthly estimate: pure arithmetic over its pod list.

Priced are the long-running pods of the tenant's built objects (render/pods.py), the list
the ResourceQuota counts too (render/contract.py), so a component any template adds is
priced without naming it here; its claims are the persistent disks.
always-on: what runs with no load at all: every worker group at the nodes its minimum
  needs (its min_replicas, or more when the min replicas of its Ray Serve extractors do not
  fit), the head with its autoscaler sidecar, the datastores, the exporters, Celery at its
  minimum.
ceiling: everything at its maximum (worker groups at max_replicas nodes, Celery extract
  at its max). The ResourceQuota is sized from the same maximum.

A worker pod fills one node of its group's machine type, so worker groups are counted and
priced as nodes of that machine (registry/prices.yaml `machines`); every other pod counts
its requests. Money: cloud list price x hours, then the billing model: a fixed platform fee
plus the passthrough (nodes and pods, persistent disks, bucket storage and network egress at
cost) times (1 + markup). Bucket and egress volumes are usage, not configuration: they come
from the caller (`dataplane footprint --bucket-gib --egress-gib`), zero when not given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from render import backups, layout, migration, quantity
from render.context_types import Extractor, TenantContext
from render.pods import Pod, Size
from render.problems import Problem, ProblemsError

# Ray gives 30% of a node's memory to the object store by default
# (DEFAULT_OBJECT_STORE_MEMORY_PROPORTION); actors' `memory` comes out of the rest.
RAY_ACTOR_MEMORY_FRACTION = Decimal("0.7")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Resources:
    vcpu: Decimal = Decimal(0)
    memory_gib: Decimal = Decimal(0)
    gpus: Decimal = Decimal(0)

    def __add__(self, other: Resources) -> Resources:
        return Resources(self.vcpu + other.vcpu, self.memory_gib + other.memory_gib, self.gpus + other.gpus)

    def times(self, n: int) -> Resources:
        return Resources(self.vcpu * n, self.memory_gib * n, self.gpus * n)


@dataclass(frozen=True)
class Line:
    """One component: `min_count`..`max_count` units (pods, or nodes of a machine) of `each`."""

    component: str
    unit: str
    min_count: int
    max_count: int
    each: Resources


@dataclass(frozen=True)
class Footprint:
    tenant: str
    cloud: str
    region: str
    lines: tuple[Line, ...]
    storage_gib: Decimal
    extractor_reserved: Resources  # the min replicas of enabled Ray Serve extractors
    rates: dict[str, Decimal]
    billing: dict[str, Decimal]
    notes: tuple[str, ...] = ()
    usage: dict[str, Decimal] = field(default_factory=dict)  # bucket_gib (stored), egress_gib (a month)
    excluded: tuple[str, ...] = ()  # what the estimate leaves out (registry/prices.yaml billing.excluded)
    backup_gib: Decimal = Decimal(0)  # the retained backups in the bucket (render/backups.py storage_gib)

    @property
    def always_on(self) -> Resources:
        return sum((line.each.times(line.min_count) for line in self.lines), Resources())

    @property
    def ceiling(self) -> Resources:
        return sum((line.each.times(line.max_count) for line in self.lines), Resources())

    def hourly(self, r: Resources) -> Decimal:
        return r.vcpu * self.rates["vcpu_hour"] + r.memory_gib * self.rates["gib_hour"] + r.gpus * self.rates["l4_gpu_hour"]

    def monthly(self, level: str) -> dict[str, Decimal]:
        """Monthly USD at `level` ("always_on" or "ceiling"), unrounded."""
        r = self.always_on if level == "always_on" else self.ceiling
        compute = self.hourly(r) * self.billing["hours_per_month"]
        storage = self.storage_gib * self.rates["storage_gib_month"]
        bucket = self.usage.get("bucket_gib", Decimal(0)) * self.rates["bucket_gib_month"]
        egress = self.usage.get("egress_gib", Decimal(0)) * self.rates["egress_gib"]
        backups = self.backup_gib * self.rates["bucket_gib_month"]
        at_cost = compute + storage + bucket + egress + backups
        markup = at_cost * self.billing["management_markup_percent"] / 100
        fee = self.billing["platform_fee_month"]
        return {"compute": compute, "storage": storage, "bucket": bucket, "egress": egress, "backups": backups, "at_cost": at_cost,
                "markup": markup, "passthrough": at_cost + markup, "platform_fee": fee, "total": at_cost + markup + fee}


def _span(line: Line | None) -> str:
    return f"{line.min_count}-{line.max_count} x {line.unit}" if line else "none"


def _size(s: Size) -> Resources:
    return Resources(s.cpu, s.memory / quantity.GI, Decimal(s.gpus))


def _dec(value: Any) -> Decimal:
    return Decimal(str(value))


@dataclass(frozen=True)
class Tenant:
    """What prices a tenant besides its pods, read once from its template context (`of`)."""

    name: str
    cloud: str
    region: str
    machines: dict[str, str]  # worker group -> its machine type on the tenant's cloud
    shared_mongodb: bool
    shared_routing: bool
    offboarding_until: str | None  # grace_until while offboarding
    backup_gib: Decimal  # the retained backups in the bucket (render/backups.py storage_gib)

    @staticmethod
    def of(ctx: TenantContext) -> Tenant:
        off = ctx["offboarding"]
        return Tenant(ctx["name"], ctx["cloud"], ctx["tenant"]["region"], {g["name"]: g["machine"] for g in ctx["worker_groups"]},
                      not ctx["datastores"]["mongodb_dedicated"], migration.routing_of(ctx["tenant"]) == "shared",
                      None if off is None else str(off["grace_until"]), backups.storage_gib(ctx))


def compute(tenant: Tenant, pod_list: list[Pod], extractors: dict[str, Extractor], prices: dict[str, Any],
            usage: dict[str, Decimal] | None = None) -> Footprint:
    """The footprint of one tenant. `tenant`: read from its template context (Tenant.of);
    `pod_list` the pods of its built objects (render/pods.py: the same list the quota counts),
    `extractors` its effective extractor entries (values["extractors"]), `prices`
    registry/prices.yaml, `usage` the bucket storage (GiB) and monthly egress (GiB) to price."""
    cloud, region = tenant.cloud, tenant.region
    rates = (prices["clouds"].get(cloud) or {}).get(region)
    if rates is None:
        raise ProblemsError([Problem(layout.PRICES_FILE, 1, 1, f"clouds.{cloud}", f"no prices for {cloud} region {region}",
                                     f"add clouds.{cloud}.{region} with vcpu_hour, gib_hour, l4_gpu_hour, storage_gib_month, "
                                     "bucket_gib_month and egress_gib")])
    notes: list[str] = []
    lines = []
    # Ray first (head, then its worker groups), then every other long-running pod; Jobs run
    # to completion and are not priced (backups are priced by what they keep, below).
    for p in sorted((p for p in pod_list if not p.runs_to_completion), key=lambda p: not p.ray_group):
        if p.ray_group in tenant.machines:
            lines.append(_worker_line(p, tenant.machines[p.ray_group], extractors, prices["machines"], notes))
        else:
            lines.append(Line(p.name, "pod", p.min_count, p.max_count, _size(p.requests)))
    storage = sum((c.storage for p in pod_list for c in p.claims), Decimal(0)) / quantity.GI
    if tenant.shared_mongodb:
        notes.append("MongoDB is a database on the shared instance: not in this footprint")
    if tenant.shared_routing:
        notes.append("routing is shared: this data plane runs, but serves no traffic until the cut-over")
    reserved = sum((_replica(e).times(e["min_replicas"]) for e in _serve(extractors)), Resources())
    billing = {"hours_per_month": _dec(prices["hours_per_month"]),
               "platform_fee_month": _dec(prices["billing"]["platform_fee_month"]),
               "management_markup_percent": _dec(prices["billing"]["management_markup_percent"])}
    if tenant.offboarding_until is not None:
        # Offboarding: compute is stopped and the tenant no longer billed; the disks and
        # bucket the platform keeps until grace_until remain a cost at list price.
        billing.update(platform_fee_month=Decimal(0), management_markup_percent=Decimal(0))
        notes.append(f"offboarding: compute stopped, not billed; data kept until {tenant.offboarding_until}")
    return Footprint(tenant.name, cloud, region, tuple(lines), storage, reserved,
                     {k: _dec(v) for k, v in rates.items()}, billing, tuple(notes), dict(usage or {}),
                     tuple(str(x) for x in prices["billing"].get("excluded") or ()), tenant.backup_gib)


def _serve(extractors: dict[str, Extractor], group: str | None = None) -> list[Extractor]:
    return [e for _, e in sorted(extractors.items())
            if e["enabled"] and e["runtime"] == "ray_serve" and group in (None, e["worker_group"])]


def _replica(e: Extractor) -> Resources:
    return Resources(_dec(e["num_cpus"]), quantity.parse(e["memory"]) / quantity.GI, _dec(e["num_gpus"]))


def _worker_line(p: Pod, machine: str, extractors: dict[str, Extractor], machines: dict[str, Any], notes: list[str]) -> Line:
    name, pod = p.name, _size(p.requests)
    replicas = [(e["id"], _replica(e)) for e in _serve(extractors, name) for _ in range(e["min_replicas"])]
    needed = _pack(replicas, pod, name, notes)
    nodes = min(max(p.min_count, needed), p.max_count)
    if needed > p.max_count:
        notes.append(f"{name}: the extractors' min replicas need {needed} nodes but max_replicas is {p.max_count}")
    shape = machines.get(machine)
    if shape is None:
        notes.append(f"{name}: machine {machine or '(none)'} has no shape in {layout.PRICES_FILE}; counted by pod requests")
        return Line(name, "pod", nodes, p.max_count, pod)
    each = Resources(_dec(shape["vcpu"]), _dec(shape["memory_gib"]), _dec(shape["gpus"]))
    return Line(name, f"node {machine}", nodes, p.max_count, each)


def _pack(replicas: list[tuple[str, Resources]], pod: Resources, group: str, notes: list[str]) -> int:
    """Nodes the replicas need, first-fit decreasing, as Ray places them on worker pods."""
    capacity = Resources(pod.vcpu, pod.memory_gib * RAY_ACTOR_MEMORY_FRACTION, pod.gpus)
    free: list[list[Decimal]] = []
    for ext_id, r in sorted(replicas, key=lambda x: (x[1].gpus, x[1].vcpu, x[1].memory_gib), reverse=True):
        need = [r.vcpu, r.memory_gib, r.gpus]
        if any(n > c for n, c in zip(need, (capacity.vcpu, capacity.memory_gib, capacity.gpus), strict=True)):
            notes.append(f"{group}: a replica of {ext_id} does not fit one node")
            continue
        for node in free:
            if all(n <= f for n, f in zip(need, node, strict=True)):
                node[:] = [f - n for f, n in zip(node, need, strict=True)]
                break
        else:
            free.append([c - n for c, n in zip((capacity.vcpu, capacity.memory_gib, capacity.gpus), need, strict=True)])
    return len(free)


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def number(value: Decimal) -> float | int:
    """A figure for JSON and text: whole numbers stay whole, others keep 3 decimals."""
    return int(value) if value == value.to_integral_value() else float(round(value, 3))


def as_dict(fp: Footprint) -> dict[str, Any]:
    def res(r: Resources) -> dict[str, Any]:
        return {"vcpu": number(r.vcpu), "memory_gib": number(r.memory_gib), "gpus": number(r.gpus)}

    def cost(level: str) -> dict[str, Any]:
        return {k: float(money(v)) for k, v in fp.monthly(level).items()}

    return {
        "tenant": fp.tenant, "cloud": fp.cloud, "region": fp.region,
        "components": [{"component": ln.component, "unit": ln.unit, "min": ln.min_count, "max": ln.max_count,
                        "each": res(ln.each)} for ln in fp.lines],
        "always_on": res(fp.always_on), "ceiling": res(fp.ceiling),
        "storage_gib": number(fp.storage_gib), "backup_gib": number(fp.backup_gib), "extractor_reserved": res(fp.extractor_reserved),
        "monthly_usd": {"always_on": cost("always_on"), "ceiling": cost("ceiling")},
        "billing": {k: number(v) for k, v in fp.billing.items()},
        "usage": {"bucket_gib": number(fp.usage.get("bucket_gib", Decimal(0))),
                  "egress_gib": number(fp.usage.get("egress_gib", Decimal(0)))},
        "excluded": list(fp.excluded),
        "notes": list(fp.notes),
    }


def footprint_change_markdown(before: Footprint | None, after: Footprint | None) -> str:
    """What a pull request changes in one tenant's footprint, as Markdown for a PR comment.
    `before` is None for a new tenant, `after` None for a removed one."""
    fp = after or before
    if fp is None:
        return ""
    zero = Resources()
    b_on, a_on = (before.always_on if before else zero), (after.always_on if after else zero)
    b_max, a_max = (before.ceiling if before else zero), (after.ceiling if after else zero)
    b_cost = before.monthly("always_on")["total"] if before else Decimal(0)
    a_cost = after.monthly("always_on")["total"] if after else Decimal(0)
    rows = [("vCPU", b_on.vcpu, a_on.vcpu, b_max.vcpu, a_max.vcpu),
            ("memory (GiB)", b_on.memory_gib, a_on.memory_gib, b_max.memory_gib, a_max.memory_gib),
            ("GPUs (L4)", b_on.gpus, a_on.gpus, b_max.gpus, a_max.gpus)]
    out = [f"#### Footprint of `{fp.tenant}` ({fp.cloud} {fp.region})", "",
           _summary(before, after, Resources(a_on.vcpu - b_on.vcpu, a_on.memory_gib - b_on.memory_gib, a_on.gpus - b_on.gpus),
                    a_cost - b_cost), "",
           "| | always-on before | after | change | ceiling before | after | change |",
           "|---|---:|---:|---:|---:|---:|---:|"]
    for label, b1, a1, b2, a2 in rows:
        out.append(f"| {label} | {_n(b1)} | {_n(a1)} | {_delta(a1 - b1)} | {_n(b2)} | {_n(a2)} | {_delta(a2 - b2)} |")
    b_top = before.monthly("ceiling")["total"] if before else Decimal(0)
    a_top = after.monthly("ceiling")["total"] if after else Decimal(0)
    out.append(f"| monthly estimate (USD) | {_usd(b_cost)} | {_usd(a_cost)} | {_delta(a_cost - b_cost, usd=True)} "
               f"| {_usd(b_top)} | {_usd(a_top)} | {_delta(a_top - b_top, usd=True)} |")
    out += _component_changes(before, after)
    out += ["", (f"<sub>Estimate: list prices from {layout.PRICES_FILE}; platform fee plus nodes and disks at cost "
                 f"+ {_n(fp.billing['management_markup_percent'])}% management markup. Bucket storage and egress are "
                 "usage (`dataplane footprint --bucket-gib --egress-gib`) and not compared here.</sub>")]
    return "\n".join(out) + "\n"


def _summary(before: Footprint | None, after: Footprint | None, d: Resources, dcost: Decimal) -> str:
    """The headline: always-on vCPU, memory and (when any) GPUs added or freed, and the cost."""
    if before is None:
        return f"New tenant: {_amounts(after.always_on)} always on, about {_usd(dcost)}/month."  # type: ignore[union-attr]
    if after is None:
        return f"Tenant removed: frees {_amounts(before.always_on)} always on, about {_usd(-dcost)}/month."
    if d == Resources() and dcost == 0:
        return "No change to the always-on footprint."
    frees = dcost <= 0 and d.vcpu <= 0 and d.memory_gib <= 0 and d.gpus <= 0
    money_verb = "saves" if dcost < 0 else "costs"
    shown = Resources(-d.vcpu, -d.memory_gib, -d.gpus) if frees else d
    return f"This change {'frees' if frees else 'adds'} always-on {_amounts(shown)}, and {money_verb} about {_usd(abs(dcost))}/month."


def _amounts(r: Resources) -> str:
    """'8 vCPU, 32 GiB and 1 GPU' (GPUs only when they are counted)."""
    parts = [f"{_n(r.vcpu)} vCPU", f"{_n(r.memory_gib)} GiB"] + ([f"{_n(r.gpus)} GPU"] if r.gpus else [])
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def _component_changes(before: Footprint | None, after: Footprint | None) -> list[str]:
    if before is None or after is None:
        return []
    old = {ln.component: ln for ln in before.lines}
    new = {ln.component: ln for ln in after.lines}
    out = []
    for name in sorted(set(old) | set(new)):
        a, b = old.get(name), new.get(name)
        if a != b:
            out.append(f"- `{name}`: {_span(a)} -> {_span(b)}")
    reserved = (before.extractor_reserved, after.extractor_reserved)
    if reserved[0] != reserved[1]:
        out.append(f"- extractor min replicas reserve {_n(reserved[0].vcpu)} -> {_n(reserved[1].vcpu)} vCPU, "
                   f"{_n(reserved[0].memory_gib)} -> {_n(reserved[1].memory_gib)} GiB inside the worker nodes")
    return [""] + out if out else []


def _n(value: Decimal) -> str:
    return str(number(value))


def _usd(value: Decimal) -> str:
    return f"${money(value):,.2f}"


def _delta(value: Decimal, usd: bool = False) -> str:
    if value == 0:
        return "0"
    sign = "+" if value > 0 else "-"
    return sign + (_usd(abs(value)) if usd else _n(abs(value)))
