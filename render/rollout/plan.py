"""The rollout plan (registry/rollout.yaml) and the waves it makes of the tenants.

Canaries first (by name, or by a label in tenant.yaml `rollout.labels`), then each later
wave a fixed count or a percentage of the auto_deploy tenants left after the canaries,
taken in a fixed order (sha256 of the name: stable from release to release, independent
of the alphabet). Tenants left after the last declared wave form a final wave of their
own. Pinned tenants (`auto_deploy: false`), tenants running a fork image and tenants that
skip the version are never in a wave.

Budgets (`budgets`): moving a tenant starts a second RayCluster on its cluster until the new
one is ready (render/rollout/surge.py). Each wave is split into batches, moved one at a time
by `dataplane rollout advance`, so that on any cluster at most `upgrades_per_cluster` tenants
upgrade at once and their second RayClusters hold at most `gpus_per_cluster` GPUs. A batch
is taken first-fit in the wave's order; a tenant whose own surge exceeds `gpus_per_cluster`
could never be moved within it, and is a problem of the budget (not a batch of its own).
Pure, except `read_plan` and `plan_waves`.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from render import layout
from render.load import Document, Repo, read_yaml
from render.problems import Problem, ProblemsError, did_you_mean
from render.rollout import surge
from render.rollout.surge import Load, Surge
from render.validate.schemas import check_schema
from render.workflows.release import auto_deploy, is_fork, release_data

DEFAULT_SOAK_MINUTES = 60
DEFAULT_TIMEOUT_MINUTES = 30
CANARY = "canary"
REST = "rest"


@dataclass(frozen=True)
class WaveSpec:
    count: int | None
    percent: int | None
    soak_minutes: int


@dataclass(frozen=True)
class PlanSpec:
    soak_minutes: int = DEFAULT_SOAK_MINUTES
    timeout_minutes: int = DEFAULT_TIMEOUT_MINUTES
    canary_tenants: tuple[str, ...] = ()
    canary_labels: tuple[str, ...] = ()
    canary_soak_minutes: int = DEFAULT_SOAK_MINUTES
    waves: tuple[WaveSpec, ...] = ()
    upgrades_per_cluster: int | None = None  # None: no budget
    gpus_per_cluster: int | None = None
    doc: Document | None = field(default=None, compare=False)  # registry/rollout.yaml, for problems

    @property
    def budgeted(self) -> bool:
        return self.upgrades_per_cluster is not None or self.gpus_per_cluster is not None


@dataclass(frozen=True)
class Candidate:
    """A tenant as the plan sees it."""

    name: str
    auto_deploy: bool
    fork: bool = False
    labels: frozenset[str] = frozenset()
    skip: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Wave:
    """A wave, or one batch of it: each is moved by one step of the rollout."""

    name: str
    tenants: tuple[str, ...]
    soak_minutes: int
    wave: str = ""  # the wave this batch belongs to; "" when it is the whole wave
    load: tuple[tuple[str, Load], ...] = ()  # cluster -> what the batch starts there at once

    @property
    def of_wave(self) -> str:
        return self.wave or self.name


@dataclass(frozen=True)
class Waves:
    waves: tuple[Wave, ...]
    held: dict[str, str] = field(default_factory=dict)  # tenant -> why it is in no wave


def read_plan(root: Path, tenants: set[str]) -> PlanSpec | None:
    """registry/rollout.yaml checked (schema, then tenant names); None when there is none."""
    if not (root / layout.ROLLOUT_PLAN_FILE).is_file():
        return None
    return parse_plan(read_yaml(root, layout.ROLLOUT_PLAN_FILE), tenants)


def parse_plan(doc: Document, tenants: set[str]) -> PlanSpec:
    problems = check_schema(doc, "rollout")
    if problems:
        raise ProblemsError(problems)
    problems = plan_problems(doc, tenants)
    if problems:
        raise ProblemsError(problems)
    data: dict[str, Any] = doc.data
    soak = data.get("soak_minutes", DEFAULT_SOAK_MINUTES)
    canary = data.get("canary") or {}
    waves = tuple(WaveSpec(w.get("count"), w.get("percent"), w.get("soak_minutes", soak)) for w in data.get("waves") or [])
    budgets = data.get("budgets") or {}
    return PlanSpec(soak, (data.get("gate") or {}).get("timeout_minutes", DEFAULT_TIMEOUT_MINUTES),
                    tuple(canary.get("tenants") or ()), tuple(canary.get("labels") or ()),
                    canary.get("soak_minutes", soak), waves, budgets.get("upgrades_per_cluster"),
                    budgets.get("gpus_per_cluster"), doc)


def plan_problems(doc: Document, tenants: set[str]) -> list[Problem]:
    """What the schema cannot say: canaries that are no tenant, a wave with both or no size."""
    data: dict[str, Any] = doc.data
    out = []
    for i, name in enumerate((data.get("canary") or {}).get("tenants") or []):
        if name not in tenants:
            out.append(doc.problem(("canary", "tenants", i), f"no tenant named {name!r}",
                                   did_you_mean(name, sorted(tenants), "tenants"), at_value=True))
    for key, value in (data.get("budgets") or {}).items():
        if value == 0:
            out.append(doc.problem(("budgets", key), "a budget of 0 would never let a tenant upgrade",
                                   f"give {key} at least 1, or leave it out for no budget", at_value=True))
    for i, wave in enumerate(data.get("waves") or []):
        sizes = [k for k in ("count", "percent") if k in wave]
        if len(sizes) != 1:
            said = "both count and percent" if sizes else "neither count nor percent"
            out.append(doc.problem(("waves", i), f"a wave needs a size, and this one has {said}",
                                   "give each wave exactly one of `count: N` or `percent: P` (1 to 100)"))
    return out


def candidates(repo: Repo) -> list[Candidate]:
    out = []
    for name, files in sorted(repo.tenants.items()):
        tenant = files.tenant.data if isinstance(files.tenant.data, dict) else {}
        rollout = tenant.get("rollout") or {}
        out.append(Candidate(name, auto_deploy(files), is_fork(release_data(files)),
                             frozenset(rollout.get("labels") or ()), frozenset(rollout.get("skip") or ())))
    return out


def order_key(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def held_reason(c: Candidate, version: str) -> str | None:
    """Why a tenant is in no wave of `version`'s rollout, or None when it takes part."""
    if not c.auto_deploy:
        return "auto_deploy is false"
    if c.fork:
        return "runs its fork image"
    if version in c.skip:
        return f"skips {version} (tenant.yaml rollout.skip)"
    return None


def make_waves(spec: PlanSpec, tenants: list[Candidate], version: str) -> Waves:
    held = {c.name: r for c in tenants if (r := held_reason(c, version)) is not None}
    eligible = [c for c in tenants if c.name not in held]
    canaries = tuple(sorted(c.name for c in eligible
                            if c.name in spec.canary_tenants or c.labels & set(spec.canary_labels)))
    pool = sorted((c.name for c in eligible if c.name not in canaries), key=order_key)
    waves = [Wave(CANARY, canaries, spec.canary_soak_minutes)] if canaries else []
    left = list(pool)
    for i, w in enumerate(spec.waves, start=1):
        size = w.count if w.count is not None else math.ceil((w.percent or 0) * len(pool) / 100)
        taken, left = left[:size], left[size:]
        if taken:
            waves.append(Wave(f"wave-{i}", tuple(taken), w.soak_minutes))
    if left:
        waves.append(Wave(REST, tuple(left), spec.soak_minutes))
    return Waves(tuple(waves), held)


def plan_waves(spec: PlanSpec, repo: Repo, version: str) -> Waves:
    """The waves of `version`'s rollout, each split into batches by the budgets, with what
    each batch starts on each cluster; a budget no tenant's surge fits in is a Problem."""
    waves = make_waves(spec, candidates(repo), version)
    surges = surge.of_repo(repo, [t for w in waves.waves for t in w.tenants])
    problems = budget_problems(spec, surges)
    if problems:
        raise ProblemsError(problems)
    return batched(waves, surges, spec)


def budget_problems(spec: PlanSpec, surges: dict[str, Surge]) -> list[Problem]:
    """A tenant whose own second RayCluster needs more GPUs than the budget allows at once."""
    over = sorted((s.gpus, name) for name, s in surges.items()
                  if spec.gpus_per_cluster is not None and s.gpus > spec.gpus_per_cluster)
    if not over or spec.doc is None:
        return []
    gpus, name = over[-1]
    more = f" (and {len(over) - 1} more tenant(s))" if len(over) > 1 else ""
    return [spec.doc.problem(("budgets", "gpus_per_cluster"),
                             f"tenant {name}'s upgrade starts {gpus} GPU(s){more}, more than {spec.gpus_per_cluster}: "
                             "it could never be moved", f"give gpus_per_cluster at least {gpus}", at_value=True)]


def batches(tenants: tuple[str, ...], surges: dict[str, Surge], spec: PlanSpec) -> list[list[str]]:
    """`tenants` in batches within the budgets: each to the first batch with room on its cluster."""
    out: list[tuple[list[str], dict[str, tuple[int, int]]]] = []  # (tenants, cluster -> (upgrades, GPUs))
    most_upgrades, most_gpus = spec.upgrades_per_cluster, spec.gpus_per_cluster

    def room(used: dict[str, tuple[int, int]], s: Surge) -> bool:
        count, gpus = used.get(s.cluster, (0, 0))
        return (most_upgrades is None or count + 1 <= most_upgrades) and (most_gpus is None or gpus + s.gpus <= most_gpus)

    for name in tenants:
        s = surges.get(name, Surge("", 0, ()))
        batch = next((b for b in out if room(b[1], s)), None)
        if batch is None:
            batch = ([], {})
            out.append(batch)
        count, gpus = batch[1].get(s.cluster, (0, 0))
        batch[1][s.cluster] = (count + 1, gpus + s.gpus)
        batch[0].append(name)
    return [members for members, _ in out]


def batched(waves: Waves, surges: dict[str, Surge], spec: PlanSpec) -> Waves:
    """Each wave as its batches (`<wave>-batch-<n>`; a wave that fits in one keeps its name),
    every batch but the last of a wave without soak: the wave soaks once it has all moved."""
    out = []
    for w in waves.waves:
        parts = batches(w.tenants, surges, spec) if spec.budgeted else [list(w.tenants)]
        for i, members in enumerate(parts, start=1):
            load = tuple(surge.load(surges[t] for t in members if t in surges).items())
            if len(parts) == 1:
                out.append(replace(w, load=load))
            else:
                out.append(Wave(f"{w.name}-batch-{i}", tuple(members), w.soak_minutes if i == len(parts) else 0,
                                w.name, load))
    return Waves(tuple(out), waves.held)


@dataclass(frozen=True)
class Peak:
    """The most one step starts on any one cluster at once, and where."""

    upgrades: int = 0
    nodes: int = 0
    gpus: int = 0
    nodes_cluster: str = ""
    gpus_cluster: str = ""


def peak(batches: list[Wave]) -> Peak:
    loads = [(c, load) for b in batches for c, load in b.load]
    if not loads:
        return Peak()
    nodes = max(loads, key=lambda x: (x[1].nodes, x[0]))
    gpus = max(loads, key=lambda x: (x[1].gpus, x[0]))
    return Peak(max(load.tenants for _, load in loads), nodes[1].nodes, gpus[1].gpus, nodes[0], gpus[0])


def grouped(waves: Waves) -> list[tuple[str, list[Wave]]]:
    """(wave name, its batches), in order."""
    out: list[tuple[str, list[Wave]]] = []
    for w in waves.waves:
        if out and out[-1][0] == w.of_wave:
            out[-1][1].append(w)
        else:
            out.append((w.of_wave, [w]))
    return out


def peak_text(p: Peak) -> str:
    if not p.upgrades:
        return "no upgrade"
    return (f"at most {p.upgrades} upgrade(s), {p.nodes} extra node(s) ({p.nodes_cluster}) and {p.gpus} extra GPU(s)"
            + (f" ({p.gpus_cluster})" if p.gpus else "") + " on one cluster at once")


def duration_text(waves: Waves, timeout_minutes: int) -> str:
    """Expected duration: the soak times, and the most the gates can add."""
    soak = sum(w.soak_minutes for w in waves.waves)
    most = soak + timeout_minutes * len(waves.waves)
    return (f"expected duration: {minutes_text(soak)} of soak, plus the time each wave takes to turn Healthy "
            f"and Synced (at most {minutes_text(timeout_minutes)} a wave: {minutes_text(most)} in all), plus the "
            f"interval between `dataplane rollout advance` runs")


def minutes_text(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    return f"{hours}h{rest:02d}m" if hours else f"{rest}m"


def plan_lines(waves: Waves, timeout_minutes: int, version: str, spec: PlanSpec | None = None) -> list[str]:
    groups = grouped(waves)
    steps = len(waves.waves)
    lines = [f"rollout of platform {version}: {len(groups)} wave(s)" + (f" in {steps} batches" if steps != len(groups) else "")]
    if spec is not None and spec.budgeted:
        said = [f"{spec.upgrades_per_cluster} upgrade(s)" if spec.upgrades_per_cluster is not None else "",
                f"{spec.gpus_per_cluster} extra GPU(s)" if spec.gpus_per_cluster is not None else ""]
        lines.append(f"budgets: at most {' and '.join(s for s in said if s)} per cluster at once")
    for i, (name, parts) in enumerate(groups):
        count = sum(len(b.tenants) for b in parts)
        if len(parts) == 1:
            move = "moved by `dataplane platform-update`" if i == 0 else "moved by `dataplane rollout advance`"
            lines.append(f"  {i + 1}. {name} ({count} tenant(s), soak {minutes_text(parts[0].soak_minutes)}; {move}): "
                         f"{', '.join(parts[0].tenants)}")
            lines.append(f"     peak: {peak_text(peak(parts))}")
            continue
        move = ("its first batch moved by `dataplane platform-update`, the others" if i == 0 else "its batches") + \
            " one at a time by `dataplane rollout advance`"
        lines.append(f"  {i + 1}. {name} ({count} tenant(s) in {len(parts)} batches, soak "
                     f"{minutes_text(parts[-1].soak_minutes)} after the last; {move})")
        lines.append(f"     peak: {peak_text(peak(parts))}")
        for b in parts:
            lines.append(f"     {b.name} ({len(b.tenants)} tenant(s); {peak_text(peak([b]))}): {', '.join(b.tenants)}")
    for name, reason in sorted(waves.held.items()):
        lines.append(f"  not moved: {name}: {reason}")
    lines.append(f"gate: every tenant of a wave Healthy and Synced in ArgoCD within {minutes_text(timeout_minutes)}, "
                 f"none Degraded")
    lines.append(duration_text(waves, timeout_minutes))
    return lines


def plan_file_problems(root: Path) -> list[Problem]:
    """The problems of registry/rollout.yaml, for `dataplane validate` (none when absent)."""
    from render.load import list_tenants

    try:
        read_plan(root, set(list_tenants(root)))
    except ProblemsError as e:
        return e.problems
    return []


def budget_file_problems(root: Path, repo: Repo) -> list[Problem]:
    """A GPU budget below what one auto_deploy tenant's upgrade starts, for `dataplane
    validate` once every input is valid (the surge needs each tenant's merged values)."""
    spec = read_plan(root, set(repo.tenants) | set(repo.peers))
    if spec is None or spec.gpus_per_cluster is None:
        return []
    moving = [c.name for c in candidates(repo) if held_reason(c, "") is None]
    return budget_problems(spec, surge.of_repo(repo, moving))
