"""The rollout in progress, as committed in rollout/state.yaml: which release, which waves
(and their tenants), when each moved, since when it has been healthy, and how it ended.

Kept in the repository so a rollout survives restarts and every step shows in git log.
Pure, except `read_state` and `write_state`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from render import layout
from render.load import Document, read_yaml
from render.problems import Problem, ProblemsError
from render.validate.schemas import check_schema
from render.workflows.release import Target

ROLLING, HALTED, ROLLED_BACK, COMPLETE, SUPERSEDED = "rolling", "halted", "rolled_back", "complete", "superseded"
ACTIVE = (ROLLING, HALTED)
HEADER = ("# yaml-language-server: $schema=../render/schemas/rollout_state.schema.json\n"
          "# Automation-owned: the platform rollout in progress. Written by `dataplane platform-update`\n"
          "# and `dataplane rollout advance|rollback` only; see docs/workflows.md, Progressive rollouts.\n")
TIME_KEYS = ("moved_at", "healthy_since")


@dataclass(frozen=True)
class WaveState:
    name: str
    tenants: tuple[str, ...]
    soak_minutes: int
    base: str | None = None  # HEAD before the wave's commit: the releases it replaced are there
    moved_at: datetime | None = None
    healthy_since: datetime | None = None
    rolled_back: bool = False

    @property
    def moved(self) -> bool:
        return self.moved_at is not None


@dataclass(frozen=True)
class State:
    version: str
    image: str
    revision: str
    status: str
    started: datetime
    timeout_minutes: int
    waves: tuple[WaveState, ...]
    reason: str = ""
    supersedes: str = ""
    held: dict[str, str] = field(default_factory=dict)

    @property
    def target(self) -> Target:
        return Target(self.version, self.image, self.revision)

    @property
    def current(self) -> int:
        """Index of the last wave moved (-1 before the first)."""
        return max((i for i, w in enumerate(self.waves) if w.moved), default=-1)

    def moved_tenants(self) -> list[str]:
        return [t for w in self.waves if w.moved and not w.rolled_back for t in w.tenants]

    def in_waves(self) -> set[str]:
        return {t for w in self.waves for t in w.tenants}

    def with_wave(self, index: int, wave: WaveState) -> State:
        return replace(self, waves=self.waves[:index] + (wave,) + self.waves[index + 1:])

    def label(self) -> str:
        return f"{self.version} at {self.revision[:12]}"


def timestamp(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def to_data(state: State) -> dict[str, Any]:
    out: dict[str, Any] = {"version": state.version, "image": state.image, "revision": state.revision,
                           "status": state.status, "started": timestamp(state.started),
                           "timeout_minutes": state.timeout_minutes}
    for key in ("reason", "supersedes"):
        if getattr(state, key):
            out[key] = getattr(state, key)
    if state.held:
        out["held"] = dict(sorted(state.held.items()))
    out["waves"] = [_wave_data(w) for w in state.waves]
    return out


def _wave_data(w: WaveState) -> dict[str, Any]:
    out: dict[str, Any] = {"name": w.name, "tenants": list(w.tenants), "soak_minutes": w.soak_minutes}
    if w.base:
        out["base"] = w.base
    for key in TIME_KEYS:
        if getattr(w, key) is not None:
            out[key] = timestamp(getattr(w, key))
    if w.rolled_back:
        out["rolled_back"] = True
    return out


def state_text(state: State) -> str:
    return HEADER + yaml.safe_dump(to_data(state), sort_keys=False, default_flow_style=False, width=1000)


def from_document(doc: Document) -> State:
    """The state from rollout/state.yaml; a hand edit that breaks it is a Problem."""
    problems = check_schema(doc, "rollout_state")
    status = doc.data.get("status")
    if status in (HALTED, ROLLED_BACK) and not doc.data.get("reason"):
        problems.append(doc.problem(("status",), f"a {status.replace('_', ' ')} rollout needs `reason`",
                                    "add reason: <why>, e.g. the tenant and the ArgoCD status that stopped it",
                                    at_value=True))
    if problems:
        raise ProblemsError(problems)
    d = doc.data
    waves = tuple(WaveState(w["name"], tuple(w["tenants"]), w["soak_minutes"], w.get("base"),
                            _time(doc, ("waves", i, "moved_at"), w.get("moved_at")),
                            _time(doc, ("waves", i, "healthy_since"), w.get("healthy_since")),
                            bool(w.get("rolled_back", False)))
                  for i, w in enumerate(d["waves"]))
    for i, w in enumerate(waves):
        if w.moved and w.base is None:  # the gate and a rollback both need the commit before the move
            raise ProblemsError([doc.problem(("waves", i), "a wave that moved needs `base`, the commit before its move",
                                             "rollout/state.yaml is written by automation; restore it from git log")])
    started = _time(doc, ("started",), d["started"])
    assert started is not None
    return State(d["version"], d["image"], d["revision"], d["status"], started, d["timeout_minutes"], waves,
                 d.get("reason", ""), d.get("supersedes", ""), dict(d.get("held") or {}))


def _time(doc: Document, path: tuple[Any, ...], value: Any) -> datetime | None:
    if value is None:
        return None
    try:
        t = datetime.fromisoformat(str(value))
    except ValueError:
        t = None
    if t is None or t.tzinfo is None:
        raise ProblemsError([doc.problem(path, f"{value!r} is not a UTC time", 'write it as "2026-12-01T15:00:00Z"',
                                         at_value=True)])
    return t


def read_state(root: Path) -> State | None:
    if not (root / layout.ROLLOUT_STATE_FILE).is_file():
        return None
    return from_document(read_yaml(root, layout.ROLLOUT_STATE_FILE))


def state_file_problems(root: Path) -> list[Problem]:
    """The problems of rollout/state.yaml, for `dataplane validate` (none when absent)."""
    try:
        read_state(root)
    except ProblemsError as e:
        return e.problems
    return []


def write_state(root: Path, state: State) -> None:
    (root / layout.ROLLOUT_DIR).mkdir(exist_ok=True)
    (root / layout.ROLLOUT_STATE_FILE).write_text(state_text(state), encoding="utf-8")


def utc_now() -> datetime:
    """The clock of the commands; tests pass their own."""
    return datetime.now(UTC)
