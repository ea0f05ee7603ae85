"""`dataplane rollout plan|status|advance|rollback`: progressive platform rollouts.

`platform-update` moves the first wave and records the rollout in rollout/state.yaml;
`advance` (the scheduled rollout workflow) asks ArgoCD how the moved tenants are and moves
the next wave, waits, or halts; `rollback` moves the current wave (or every wave) back.
Every step is one commit, pushed with the same retry as the other deploy commands.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from render import git, output
from render.load import Repo
from render.problems import Problem, ProblemsError
from render.rollout import gate, moves
from render.rollout.argocd_api import ArgoCD, ArgoCDError, application_names
from render.rollout.plan import Wave, grouped, peak, plan_lines, plan_waves, read_plan
from render.rollout.report import STATUS_CONTEXT, annotate, commit_state, state_lines, state_markdown
from render.rollout.state import COMPLETE, HALTED, ROLLING, State, read_state, to_data, utc_now
from render.workflows import authority, deploy, events, github_api
from render.workflows.actions import add_summary

Clock = Callable[[], datetime]


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("rollout", help="progressive platform rollouts: plan, status, advance, rollback",
                       description="Platform releases move wave by wave (registry/rollout.yaml): `platform-update` "
                                   "moves the first; `advance` moves the next once every tenant moved so far has been "
                                   "Healthy and Synced in ArgoCD for the soak time, or halts the rollout; `rollback` "
                                   "moves the current wave back. See docs/workflows.md, Progressive rollouts.")
    verbs = p.add_subparsers(dest="verb", required=True, metavar="STEP")
    plan = verbs.add_parser("plan", help="print the waves, their batches and tenants, the peak extra nodes and GPUs "
                                         "per cluster, and the expected duration; changes nothing")
    plan.add_argument("version", metavar="VERSION", help="the platform version to plan for (tenants may skip one)")
    output.add(plan)
    plan.set_defaults(run=lambda a: plan_command(root=a.repo, version=a.version, fmt=output.chosen(a)))
    status = verbs.add_parser("status", help="print the rollout recorded in rollout/state.yaml")
    output.add(status)
    status.set_defaults(run=lambda a: status_command(root=a.repo, fmt=output.chosen(a)))
    adv = verbs.add_parser("advance", help="check the gate in ArgoCD; move the next wave, wait, or halt")
    adv.add_argument("--argocd-url", "--server", dest="argocd_url", default=os.environ.get("ARGOCD_SERVER"),
                     help="ArgoCD server, host or https URL (also --server, as in the argocd CLI; default: $ARGOCD_SERVER); the token is read from "
                          "$ARGOCD_AUTH_TOKEN only")
    back = verbs.add_parser("rollback", help="move the current wave's tenants back to their previous release.yaml")
    back.add_argument("--all", action="store_true", dest="every_wave", help="every wave moved so far, not only the current one")
    back.add_argument("--reason", help="why, for the record (one line)")
    for verb in (adv, back):
        verb.add_argument("--push", action="store_true", help="push to origin main, retrying on a non-fast-forward")
        verb.add_argument("--dry-run", action="store_true",
                          help="print what would be committed and pushed; write nothing")
        verb.add_argument("--summary", type=Path, help="append a markdown report here ($GITHUB_STEP_SUMMARY)")
        verb.add_argument("--commit-status", action="store_true",
                          help="set the status `dataplane/rollout` on the release's commit (needs $GITHUB_TOKEN, "
                               "$GITHUB_REPOSITORY)")
    adv.set_defaults(writes=True, run=lambda a: advance(root=a.repo, client=lambda: _client(a.argocd_url), push=a.push,
                                                        summary=a.summary, status=a.commit_status, dry_run=a.dry_run))
    back.set_defaults(writes=True, run=lambda a: rollback(root=a.repo, every_wave=a.every_wave, reason=a.reason,
                                                          push=a.push, summary=a.summary, status=a.commit_status,
                                                          dry_run=a.dry_run))


def _client(url: str | None) -> ArgoCD:
    if not url:
        raise ArgoCDError("no ArgoCD server (set ARGOCD_SERVER or give --argocd-url)")
    return ArgoCD(url, os.environ.get("ARGOCD_AUTH_TOKEN", ""))


def plan_command(*, root: Path, version: str, fmt: str = "text") -> int:
    """json/yaml: {"version", "plan": bool, "budgets": {upgrades_per_cluster, gpus_per_cluster} | null,
    "waves": [{name, tenants, soak_minutes, peak, batches: [{name, tenants, soak_minutes, peak, clusters}]}],
    "held": {tenant: reason}, "timeout_minutes"}; a peak is {upgrades, nodes, gpus} on one cluster at once,
    `clusters` {cluster: {upgrades, nodes, gpus}}; "plan" is false (no waves) without registry/rollout.yaml."""
    version = events.version(version)
    repo = deploy.load_valid(root)
    spec = read_plan(root, set(repo.tenants))
    waves = plan_waves(spec, repo, version) if spec is not None else None
    if output.structured(fmt):
        budgets = ({"upgrades_per_cluster": spec.upgrades_per_cluster, "gpus_per_cluster": spec.gpus_per_cluster}
                   if spec is not None and spec.budgeted else None)
        output.emit({"version": version, "plan": spec is not None, "budgets": budgets,
                     "waves": [{"name": name, "tenants": [t for b in parts for t in b.tenants],
                                "soak_minutes": parts[-1].soak_minutes, "peak": _peak(parts),
                                "batches": [_batch(b) for b in parts]}
                               for name, parts in (grouped(waves) if waves else [])],
                     "held": dict(sorted(waves.held.items())) if waves else {},
                     "timeout_minutes": spec.timeout_minutes if spec else None}, fmt)
        return 0
    if spec is None or waves is None:
        print("no registry/rollout.yaml: `dataplane platform-update` moves every auto_deploy tenant at once")
        return 0
    print("\n".join(plan_lines(waves, spec.timeout_minutes, version, spec)))
    return 0


def _peak(steps: list[Wave]) -> dict[str, int]:
    p = peak(steps)
    return {"upgrades": p.upgrades, "nodes": p.nodes, "gpus": p.gpus}


def _batch(b: Wave) -> dict[str, object]:
    return {"name": b.name, "tenants": list(b.tenants), "soak_minutes": b.soak_minutes, "peak": _peak([b]),
            "clusters": {c: {"upgrades": load.tenants, "nodes": load.nodes, "gpus": load.gpus} for c, load in b.load}}


def status_command(*, root: Path, fmt: str = "text") -> int:
    """json/yaml: {"rollout": null} or {"rollout": rollout/state.yaml's data}."""
    state = read_state(root)
    if output.structured(fmt):
        output.emit({"rollout": to_data(state) if state else None}, fmt)
        return 0
    print("\n".join(state_lines(state)) if state else "no rollout recorded (rollout/state.yaml)")
    return 0


@dataclass(frozen=True)
class Outcome:
    message: str
    state: State | None = None
    halted: bool = False


def advance(*, root: Path, client: Callable[[], ArgoCD], clock: Clock = utc_now, push: bool = False,
            summary: Path | None = None, status: bool = False, dry_run: bool = False) -> int:
    authority.require(root, authority.ROLLOUT_ADVANCE)
    outcomes: list[Outcome] = []

    def apply(work: Path) -> list[str]:
        outcomes.clear()
        outcome, sha = _advance_once(work, client, clock())
        outcomes.append(outcome)
        return [sha] if sha else []

    try:
        result = deploy.push_change(root, apply, push=push, dry_run=dry_run)
    except ArgoCDError as e:
        print(f"dataplane: cannot read ArgoCD, nothing changed: {e}", file=sys.stderr)
        return 1
    if result is None:
        return 1
    if dry_run:
        print(outcomes[0].message if outcomes else "")
        return 0
    return _report(outcomes[0], "advance", result.commits, summary, status)


def _advance_once(root: Path, client: Callable[[], ArgoCD], now: datetime) -> tuple[Outcome, str | None]:
    state = read_state(root)
    if state is None or state.status != ROLLING or state.current < 0:
        said = f"the rollout of {state.label()} is {state.status}" if state else "no rollout recorded"
        return Outcome(f"{said}; nothing to advance", state), None
    repo = deploy.load_valid(root)
    decision = gate.decide(state, gather(root, repo, state, client()), now)
    return _transition(root, repo, state, decision, now)


def gather(root: Path, repo: Repo, state: State, argocd: ArgoCD) -> dict[str, gate.TenantHealth]:
    """ArgoCD's view of every tenant this rollout moved that still runs its target."""
    out = {}
    for wave in state.waves:
        if not wave.moved or wave.rolled_back or wave.base is None:
            continue
        for name in wave.tenants:
            if name in repo.tenants and moves.on_target(repo, name, state):
                apps = tuple(argocd.application(a) for a in application_names(name))
                out[name] = gate.TenantHealth(name, apps, all(synced_after(root, wave.base, a.revision) for a in apps))
    return out


def synced_after(root: Path, base: str, revision: str) -> bool:
    """True when ArgoCD's revision comes after `base` on main, so it holds the wave's commit."""
    if not events.COMMIT.fullmatch(revision) or revision == base:
        return False
    try:
        git.run(root, "merge-base", "--is-ancestor", base, revision)
        return True
    except git.GitError:
        return False


def _transition(root: Path, repo: Repo, state: State, d: gate.Decision, now: datetime) -> tuple[Outcome, str | None]:
    i, wave = state.current, state.waves[state.current]
    if d.kind == gate.HALT:
        new = replace(state, status=HALTED, reason=d.message)
        sha = moves.commit(root, new, [], f"rollout: halt platform {state.label()} at wave {wave.name}: {d.tenant}")
        return Outcome(f"rollout halted at wave {wave.name}: {d.message}", new, halted=True), sha
    if d.kind == gate.HOLD:  # one tenant's own breakage: it stops, the fleet goes on
        new = replace(state, held={**state.held, d.tenant: f"held at wave {wave.name}: {d.message}"})
        sha = moves.commit(root, new, [], f"rollout: hold {d.tenant} (its own Serve application is Degraded); "
                                         "the rollout goes on")
        return Outcome(f"{d.message}; the rollout goes on without it", new), sha
    if d.kind == gate.WAIT and wave.healthy_since is not None:
        new = state.with_wave(i, replace(wave, healthy_since=None))
        return Outcome(d.message, new), moves.commit(root, new, [], f"rollout: wave {wave.name} unhealthy, soak starts over")
    if d.kind == gate.SOAK and wave.healthy_since is None:
        new = state.with_wave(i, replace(wave, healthy_since=now))
        return Outcome(d.message, new), moves.commit(root, new, [], f"rollout: wave {wave.name} healthy, soaking")
    if d.kind == gate.ADVANCE or (d.kind == gate.COMPLETE and moves.late_tenants(repo, state)):
        new, sha = moves.move_wave(root, repo, state, i + 1, now)  # tenants added meanwhile come along
        said = d.message if d.kind == gate.ADVANCE else f"wave {wave.name} soaked; tenants added during the rollout move"
        return Outcome(f"{said}; moved {', '.join(new.waves[i + 1].tenants) or 'no tenant'}", new), sha
    if d.kind == gate.COMPLETE:
        new = replace(state, status=COMPLETE)
        return Outcome(d.message, new), moves.commit(root, new, [], f"rollout: platform {state.label()} complete")
    return Outcome(d.message, state), None


def rollback(*, root: Path, every_wave: bool = False, reason: str | None = None, push: bool = False,
             summary: Path | None = None, status: bool = False, dry_run: bool = False) -> int:
    authority.require(root, authority.ROLLOUT_ROLLBACK)
    note = _reason(reason)
    outcomes: list[Outcome] = []

    def apply(work: Path) -> list[str]:
        outcomes.clear()
        state = read_state(work)
        if state is None or state.status not in (ROLLING, HALTED, COMPLETE) or state.current < 0:
            said = f"the rollout of {state.label()} is {state.status}" if state else "no rollout recorded"
            outcomes.append(Outcome(f"{said}; nothing to roll back", state))
            return []
        why = note or (state.reason if state.status == HALTED else "rolled back by hand")
        new, restored, sha = moves.rollback(work, deploy.load_valid(work), state, why, every_wave)
        outcomes.append(Outcome(f"rolled back {', '.join(restored) or 'no tenant'} to their previous release", new))
        return [sha] if sha else []

    result = deploy.push_change(root, apply, push=push, dry_run=dry_run)
    if result is None:
        return 1
    if dry_run:
        print(outcomes[0].message if outcomes else "")
        return 0
    return _report(outcomes[0], "rollback", result.commits, summary, status)


def _reason(text: str | None) -> str:
    if text is None:
        return ""
    if len(text) > 200 or not text.isprintable():
        raise ProblemsError([Problem(events.INPUTS, 1, 1, "reason", "the reason must be one printable line of at most "
                                                                     "200 characters", "")])
    return text


def _report(outcome: Outcome, step: str, commits: list[str], summary: Path | None, status: bool) -> int:
    print(outcome.message)
    if outcome.halted:
        annotate(outcome.message)
    add_summary(summary, state_markdown(outcome.state, f"rollout {step}: {outcome.message}", commits))
    if status and outcome.state is not None:
        _commit_status(outcome.state, outcome.message)
    return 1 if outcome.halted else 0


def _commit_status(state: State, message: str) -> None:
    """The rollout's state as a status on the release's commit; a failure here is only a warning
    (the step itself is done and pushed)."""
    env = os.environ
    token, repository = env.get("GITHUB_TOKEN", ""), env.get("GITHUB_REPOSITORY", "")
    if not token or not events.REPOSITORY.fullmatch(repository):
        print("dataplane: no commit status: GITHUB_TOKEN and GITHUB_REPOSITORY are needed", file=sys.stderr)
        return
    run = (f"{env.get('GITHUB_SERVER_URL', 'https://github.com')}/{repository}/actions/runs/{env['GITHUB_RUN_ID']}"
           if env.get("GITHUB_RUN_ID", "").isdigit() else "")
    try:
        github_api.set_status(env.get("GITHUB_API_URL", "https://api.github.com"), token, repository, state.revision,
                              commit_state(state), STATUS_CONTEXT, f"{state.version}: {message}", run)
    except github_api.ApiError as e:
        print(f"dataplane: could not set the commit status: {e}", file=sys.stderr)
