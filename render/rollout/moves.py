"""The repository side of a rollout: start one (for `platform-update`), move a wave, roll a
wave back. Each writes release.yaml files and rollout/state.yaml, re-renders the tenants it
moved and commits once, after checking the staged paths."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from render import git, layout
from render.git import GitError, GitTree
from render.load import Repo, parse_bytes
from render.problems import Problem, ProblemsError
from render.rollout import surge
from render.rollout.plan import Candidate, Waves, batches, candidates, held_reason, plan_waves, read_plan
from render.rollout.state import ACTIVE, COMPLETE, ROLLED_BACK, ROLLING, State, WaveState, read_state, write_state
from render.workflows import deploy, scope
from render.workflows.release import Target, moved, release_data, release_text


@dataclass(frozen=True)
class Start:
    """What a platform update does under a rollout plan."""

    hold: dict[str, str]  # tenants that stay where they are now, and why
    state: State | None = None  # a new rollout to record (None: the one recorded goes on)
    superseded: State | None = None  # the rollout the new one replaces


def start(root: Path, repo: Repo, target: Target, now: datetime) -> Start | None:
    """The first wave of `target`'s rollout; None without registry/rollout.yaml (every
    auto_deploy tenant moves at once). Running it again for the same platform changes nothing."""
    spec = read_plan(root, set(repo.tenants))
    if spec is None:
        return None
    old = read_state(root)
    if old is not None and same_platform(root, old, target):
        keep = set(old.moved_tenants()) if old.status != COMPLETE else set(repo.tenants)
        return Start({t: f"rollout of {old.label()} is {old.status}" for t in repo.tenants if t not in keep})
    waves = plan_waves(spec, repo, target.platform_version)  # each wave's batches, within the budgets
    hold = dict(waves.held)
    for w in waves.waves[1:]:
        step = f"wave {w.name}" if not w.wave else f"batch {w.name} of wave {w.wave}"
        hold.update(dict.fromkeys(w.tenants, f"waits for {step} (`dataplane rollout advance`)"))
    state = new_state(waves, target, spec.timeout_minutes, git.head(root), now)
    if old is not None and old.status in ACTIVE:
        where = old.waves[old.current].name if old.current >= 0 else "no wave"
        state = replace(state, supersedes=f"{old.label()} ({old.status} at wave {where})")
        return Start(hold, state, old)
    return Start(hold, state)


def new_state(waves: Waves, target: Target, timeout: int, base: str, now: datetime) -> State:
    states = [WaveState(w.name, w.tenants, w.soak_minutes) for w in waves.waves]
    if states:
        states[0] = replace(states[0], base=base, moved_at=now)
    return State(target.platform_version, target.image, target.revision, ROLLING if states else COMPLETE, now,
                 timeout, tuple(states), held=dict(waves.held))


def same_platform(root: Path, state: State, target: Target) -> bool:
    if state.image != target.image:
        return False
    try:
        return git.platform_trees(root, state.revision) == git.platform_trees(root, target.revision)
    except GitError:
        return False


def candidate(repo: Repo, name: str) -> Candidate | None:
    return next((c for c in candidates(repo) if c.name == name), None)


def on_target(repo: Repo, name: str, state: State) -> bool:
    release = release_data(repo.tenants[name])
    return release.get("platform_revision") == state.revision and release.get("image") == state.image


def late_tenants(repo: Repo, state: State) -> list[str]:
    """Tenants that take part in this release but are in no wave: added during the rollout."""
    known = state.in_waves() | set(state.held)
    return sorted(c.name for c in candidates(repo)
                  if c.name not in known and held_reason(c, state.version) is None and not on_target(repo, c.name, state))


def joining(root: Path, repo: Repo, state: State, wave: WaveState) -> list[str]:
    """The tenants added since the rollout began that move with `wave`: as many as the
    budgets of registry/rollout.yaml leave room for beside the wave's own upgrades on each
    cluster; the others wait for the next step (a wave of their own once every wave moved)."""
    late = late_tenants(repo, state)
    spec = read_plan(root, set(repo.tenants)) if late else None
    if spec is None or not spec.budgeted:
        return late
    members = (*wave.tenants, *late)
    first = set(batches(members, surge.of_repo(repo, [t for t in members if t in repo.tenants]), spec)[0])
    return [t for t in late if t in first]


def move_wave(root: Path, repo: Repo, state: State, index: int, now: datetime) -> tuple[State, str | None]:
    """Move wave `index` (with the tenants added since the rollout began that its budgets
    leave room for) to the rollout's target; tenants that left the release meanwhile
    (pinned, fork, skip, removed) stay."""
    if index == len(state.waves):
        state = replace(state, waves=state.waves + (WaveState(f"added-{index + 1}", (), state.waves[-1].soak_minutes),))
    wave, held = state.waves[index], dict(state.held)
    names = []
    for name in list(wave.tenants) + joining(root, repo, state, wave):
        c = candidate(repo, name)
        reason = "removed" if c is None else held_reason(c, state.version)
        if reason is not None:
            held[name] = f"left wave {wave.name}: {reason}"
            continue
        names.append(name)
        deploy.write_release(root, name, moved(release_data(repo.tenants[name]), state.target))
    new = replace(state, held=held).with_wave(index, replace(wave, tenants=tuple(names), base=git.head(root),
                                                                 moved_at=now))
    if names:
        deploy.render(root, names)
    sha = commit(root, new, names, f"rollout: platform {state.label()}, wave {wave.name} "
                                   f"({', '.join(names) or 'no tenant'})")
    return new, sha


def rollback(root: Path, repo: Repo, state: State, reason: str, every_wave: bool) -> tuple[State, list[str], str | None]:
    """Each tenant of the current wave (or of every wave) back to its release.yaml as it was
    before its wave moved, byte for byte (see `pinned_bytes`); tenants changed since are left alone."""
    indices = [i for i, w in enumerate(state.waves) if w.moved and not w.rolled_back]
    indices = indices if every_wave else indices[-1:]
    restored, new = [], state
    for i in indices:
        wave = state.waves[i]
        assert wave.base is not None
        if not git.contains(root, "HEAD", wave.base):  # read from the checkout: only a commit of this history
            raise ProblemsError([Problem(layout.ROLLOUT_STATE_FILE, 1, 1, f"waves.{i}.base",
                                         f"{wave.base[:12]} is not a commit of HEAD's history",
                                         "rollout/state.yaml is written by automation; restore it from git log")])
        tree = GitTree(root, wave.base)
        for name in wave.tenants:
            rel = layout.tenant_file(name, layout.RELEASE_FILE)
            before = tree.read(rel)
            if name in repo.tenants and on_target(repo, name, state) and before is not None:
                restore = pinned_bytes(before, rel, wave.base)
                if restore != before:  # now pinned to the wave's base: record it as a release, as pins must be
                    deploy.release(root, deploy.target_at(root, wave.base))
                (root / rel).write_bytes(restore)
                restored.append(name)
        new = new.with_wave(i, replace(wave, rolled_back=True, healthy_since=None))
    new = replace(new, status=ROLLED_BACK, reason=reason)
    if restored:
        deploy.render(root, sorted(restored))
    names = ", ".join(sorted(restored)) or "no tenant"
    return new, sorted(restored), commit(root, new, sorted(restored), f"rollout: roll back platform {state.label()} ({names})")


def pinned_bytes(raw: bytes, rel: str, base: str) -> bytes:
    """The release.yaml bytes a rollback restores: exactly `raw`, unless that release pins
    no revision (a tenant that rendered from the working tree, then the commit `base`): it
    is pinned to `base`, or it would render from today's base/ and registry/."""
    data = parse_bytes(raw, rel).data
    if not isinstance(data, dict) or "platform_revision" in data:
        return raw
    return release_text({**data, "platform_revision": base}).encode()


def commit(root: Path, state: State, tenants: list[str], message: str) -> str | None:
    """Write the state, stage it with the tenants' releases and output, check, commit."""
    write_state(root, state)
    files = [layout.tenant_file(t, layout.RELEASE_FILE) for t in tenants] + [layout.ROLLOUT_STATE_FILE]
    staged = git.stage(root, files + [d for t in tenants for d in layout.tenant_scopes(t)])
    problems = scope.check_rollout_paths(tenants, staged)
    if problems:
        git.run(root, "reset", "-q")
        raise ProblemsError(problems)
    return git.commit(root, message)
