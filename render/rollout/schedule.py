"""When a platform change reaches each tenant: every tenant pins a platform release, so a
change merged to main moves none until a release does. The order is registry/rollout.yaml's
waves (the first moved by `platform-update`, each next by `rollout advance`), or every
auto_deploy tenant at once without a plan; the held tenants move only when promoted.
Read by the pull-request comment."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from render.load import Repo
from render.rollout.plan import Wave, candidates, held_reason, make_waves, read_plan

ALL = "every auto_deploy tenant"  # the one wave without a rollout plan


@dataclass(frozen=True)
class Schedule:
    waves: tuple[Wave, ...]  # in order: waves[0] moves with platform-update
    held: dict[str, str] = field(default_factory=dict)  # tenant -> why no wave moves it
    planned: bool = True  # False: no rollout plan, one platform-update moves every wave-0 tenant

    def wave_of(self, tenant: str) -> int | None:
        return next((i for i, w in enumerate(self.waves) if tenant in w.tenants), None)


def schedule(root: Path, repo: Repo, version: str) -> Schedule:
    """The waves a release of `version` moves `repo`'s tenants in, and who is held."""
    spec = read_plan(root, set(repo.tenants))
    found = candidates(repo)
    if spec is None:  # platform-update moves every auto_deploy tenant not on a fork (rollout.skip needs a plan)
        held = {c.name: r for c in found if (r := held_reason(c, "")) is not None}
        everyone = tuple(c.name for c in found if c.name not in held)
        return Schedule((Wave(ALL, everyone, 0),) if everyone else (), held, planned=False)
    waves = make_waves(spec, found, version)
    return Schedule(waves.waves, dict(waves.held))
