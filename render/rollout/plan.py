"""The rollout plan (registry/rollout.yaml) and the waves it makes of the tenants.

Canaries first (by name, or by a label in tenant.yaml `rollout.labels`), then each later
wave a fixed count or a percentage of the auto_deploy tenants left after the canaries,
taken in a fixed order (sha256 of the name: stable from release to release, independent
of the alphabet). Tenants left after the last declared wave form a final wave of their
own. Pinned tenants (`auto_deploy: false`), tenants running a fork image and tenants that
skip the version are never in a wave. Pure, except `read_plan`.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from render import layout
from render.load import Document, Repo, read_yaml
from render.problems import Problem, ProblemsError, did_you_mean
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
    name: str
    tenants: tuple[str, ...]
    soak_minutes: int


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
    return PlanSpec(soak, (data.get("gate") or {}).get("timeout_minutes", DEFAULT_TIMEOUT_MINUTES),
                    tuple(canary.get("tenants") or ()), tuple(canary.get("labels") or ()),
                    canary.get("soak_minutes", soak), waves)


def plan_problems(doc: Document, tenants: set[str]) -> list[Problem]:
    """What the schema cannot say: canaries that are no tenant, a wave with both or no size."""
    data: dict[str, Any] = doc.data
    out = []
    for i, name in enumerate((data.get("canary") or {}).get("tenants") or []):
        if name not in tenants:
            out.append(doc.problem(("canary", "tenants", i), f"no tenant named {name!r}",
                                   did_you_mean(name, sorted(tenants), "tenants"), at_value=True))
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


def plan_lines(waves: Waves, timeout_minutes: int, version: str) -> list[str]:
    lines = [f"rollout of platform {version}: {len(waves.waves)} wave(s)"]
    for i, w in enumerate(waves.waves):
        move = "moved by `dataplane platform-update`" if i == 0 else "moved by `dataplane rollout advance`"
        lines.append(f"  {i + 1}. {w.name} ({len(w.tenants)} tenant(s), soak {minutes_text(w.soak_minutes)}; {move}): "
                     f"{', '.join(w.tenants)}")
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
