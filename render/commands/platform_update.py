"""`dataplane platform-update`: roll a platform update out to every auto_deploy tenant.

A platform update is a new engine image (`--version` with the pushed image's `--digest`, or a
repository_dispatch / workflow_dispatch payload naming the version, with `--digest`) or a merge to main that changed base/ or registry/ (a push
payload). auto_deploy tenants move to the platform at HEAD: release.yaml bumped,
re-rendered, committed. The others keep their pinned revision, byte for byte.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from render import git, layout
from render.problems import Problem, ProblemsError
from render.rollout import moves
from render.rollout.state import State, utc_now, write_state
from render.workflows import authority, deploy, events, image_records
from render.workflows.actions import add_summary, read_event
from render.workflows.release import Plan, auto_deploy, plan_update, release_data

RELEASE_PATHS = [layout.TENANTS_DIR, *layout.OUTPUT_DIRS]


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("platform-update", help="bump, render and commit the auto_deploy tenants of the first wave to the platform at HEAD",
                       description="Roll a platform update out: with --version and --digest (a new engine image, "
                                   "as the release job pushed it) first record the release in registry/releases.yaml "
                                   "and registry/platform.yaml and commit them (a version that is not YYYY.M.N, a "
                                   "downgrade or a missing digest is refused); then move the auto_deploy tenants to HEAD "
                                   "(release.yaml: platform_version, image, platform_revision), re-render and commit. "
                                   "With a rollout plan (registry/rollout.yaml) only the first wave moves and the "
                                   "rollout is recorded in rollout/state.yaml (`dataplane rollout advance` moves the "
                                   "next waves); a rollout in progress is superseded. Without a plan every auto_deploy "
                                   "tenant moves at once. Tenants with auto_deploy: false are listed as pending and "
                                   "left untouched.")
    p.add_argument("--event-name", default=os.environ.get("GITHUB_EVENT_NAME"),
                   help="push, repository_dispatch or workflow_dispatch (default: $GITHUB_EVENT_NAME)")
    p.add_argument("--event", type=Path, help="the event payload JSON (in a workflow: $GITHUB_EVENT_PATH)")
    p.add_argument("--version", help="new platform version (an engine image published from the platform's main)")
    p.add_argument("--tag", help="engine image tag: the version (the default; any other tag is refused)")
    p.add_argument("--digest", help="the digest of the engine image the release job pushed for --version "
                                    "(sha256:<64 hex>), recorded in registry/releases.yaml; required with a version")
    p.add_argument("--push", action="store_true", help="push to origin main, retrying on a non-fast-forward")
    p.add_argument("--dry-run", action="store_true", help="print what would be committed, tagged and pushed; write nothing")
    p.add_argument("--summary", type=Path, help="append a markdown report here (in a workflow: $GITHUB_STEP_SUMMARY)")
    p.set_defaults(writes=True, run=lambda a: platform_update(
        root=a.repo, event_name=a.event_name if a.event else None, event=a.event, version=a.version, tag=a.tag,
        digest=a.digest, push=a.push, summary=a.summary, dry_run=a.dry_run))


def platform_update(*, root: Path, event_name: str | None = None, event: Path | None = None,
                    version: str | None = None, tag: str | None = None, digest: str | None = None, push: bool = False,
                    summary: Path | None = None, clock: Callable[[], datetime] = utc_now, dry_run: bool = False) -> int:
    authority.require(root, authority.PLATFORM_UPDATE)  # before anything is read or written
    if event_name:
        update = events.platform_update(event_name, read_event(event))
    else:
        v = events.version(version) if version else None
        update = events.PlatformUpdate(v, events.image_tag(tag or v) if v else None)
    # The digest comes from the release job's own push (--digest), never from a payload.
    pinned = _checked_digest(root, update, digest or None)  # an empty --digest (a push event) is none
    plans: list[tuple[Plan, moves.Start | None]] = []

    def apply(work: Path) -> list[str]:
        plans.clear()
        commits: list[str] = []
        before = git.head(work)
        deploy.load_valid(work)  # every input is valid before the first commit
        if update.version and pinned:
            commits += _set_engine(work, update.version, pinned)
        # Every tenant pins a release (load refuses one without): the first wave moves to
        # HEAD, every other tenant keeps its pin, byte for byte.
        plan, start, sha = _roll_out(work, before, update.version, clock())
        plans.append((plan, start))
        return commits + ([sha] if sha else [])

    result = deploy.push_change(root, apply, push=push, dry_run=dry_run)
    if result is None:
        return 1
    if dry_run:
        return 0
    add_summary(summary, summary_markdown(plans[0][0], result.commits) + rollout_markdown(plans[0][1]))
    return 0


def _checked_digest(root: Path, update: events.PlatformUpdate, digest: str | None) -> str | None:
    """The new release's digest, checked before anything is written (image_records.check_release)."""
    if update.version is None:
        if digest is not None:
            raise ProblemsError([Problem(events.INPUTS, 1, 1, "digest", "a digest without a version",
                                         "--digest records the image of a new release: give --version too")])
        return None
    platform, releases = image_records.read_records(root)
    return image_records.check_release(platform.data, releases.data, update.version, update.tag or update.version, digest)


def _set_engine(root: Path, version: str, digest: str) -> list[str]:
    """registry/platform.yaml (platform_version, engine tag and digest) and registry/releases.yaml,
    edited in place; committed."""
    if not image_records.record_platform_release(root, version, digest):
        return []
    sha = git.commit(root, f"platform: engine {version}@{digest} (platform {version})")
    return [sha] if sha else []


def _roll_out(root: Path, previous: str | None, version: str | None,
              now: datetime) -> tuple[Plan, moves.Start | None, str | None]:
    repo = deploy.load_valid(root)
    target = deploy.current_target(root, repo)
    tenants = {name: (auto_deploy(files), release_data(files)) for name, files in repo.tenants.items()}
    start = moves.start(root, repo, target, now)  # None without a rollout plan: every tenant at once
    plan = plan_update(tenants, target, previous, deploy.equivalent_revisions(root, repo, target),
                       start.hold if start else None)
    # Every revision the plan pins becomes a platform release: the only commits a pin may name.
    deploy.release(root, target)
    if previous and previous != target.revision and plan.pinned:
        deploy.release(root, deploy.target_at(root, previous))
    for name, release in plan.releases.items():
        deploy.write_release(root, name, release)
    deploy.render(root, None)  # every tenant: held ones render from their pinned revision, unchanged
    if start and start.state:
        write_state(root, start.state)
    staged = git.stage(root, RELEASE_PATHS + [layout.ROLLOUT_STATE_FILE])
    outside = [p for p in staged if not (p.endswith("/" + layout.RELEASE_FILE) or p == layout.ROLLOUT_STATE_FILE
                                         or p.startswith(tuple(d + "/" for d in layout.OUTPUT_DIRS)))]
    if outside:
        raise ProblemsError([Problem(p, 1, 1, "", "a platform update may change only release.yaml files, output "
                                                  "and the rollout state", "") for p in outside])
    names = ", ".join(sorted(plan.bumped)) or "no tenant"
    who = f"wave {start.state.waves[0].name} of its rollout" if start and start.state and start.state.waves else "auto_deploy tenants"
    also = f"; supersedes the rollout of {start.state.supersedes}" if start and start.state and start.state.supersedes else ""
    sha = git.commit(root, f"release: platform {version or target.platform_version} at "
                              f"{target.revision[:12]} to {who} ({names}){also}")
    return plan, start, sha


def summary_markdown(plan: Plan, commits: list[str]) -> str:
    t = plan.target
    lines = [f"## Platform update: {t.platform_version}", "",
             f"Engine image `{t.image}`, platform revision `{t.revision[:12]}`.", ""]
    if plan.bumped:
        lines += ["Deployed (auto_deploy):", ""] + [f"- **{n}**: `{r['image']}`" for n, r in sorted(plan.bumped.items())]
    else:
        lines.append("No auto_deploy tenant needed a change.")
    if plan.pending:
        lines += ["", "Pending (not deployed; `dataplane promote TENANT` opens the move in a pull request):", ""]
        lines += [f"- **{p.name}** stays on {p.platform_version or 'its release'}: {p.reason}" for p in plan.pending]
    lines += ["", f"Commits: {', '.join(c[:12] for c in commits) or 'none'}."]
    return "\n".join(lines) + "\n"


def rollout_markdown(start: moves.Start | None) -> str:
    """The rollout part of the summary: the waves to come, and the rollout superseded."""
    if start is None:
        return ""
    if start.state is None:
        return "\nA rollout of this platform is already recorded in rollout/state.yaml; nothing new to start.\n"
    lines = ["", f"### Progressive rollout ({layout.ROLLOUT_PLAN_FILE})", ""]
    lines += [f"{i + 1}. **{w.name}** (soak {w.soak_minutes} min): {', '.join(w.tenants)}"
              + (" (moved now)" if i == 0 else "") for i, w in enumerate(start.state.waves)]
    lines += ["", "Later waves move with `dataplane rollout advance` (the rollout workflow) once every tenant "
                  "moved so far has been Healthy and Synced in ArgoCD for the wave's soak time."]
    if start.superseded is not None:
        lines += ["", f"**Supersedes** the rollout of {_state_line(start.superseded)}: no further wave of it moves."]
    return "\n".join(lines) + "\n"


def _state_line(state: State) -> str:
    return f"{state.label()} ({state.status}, waves moved: {', '.join(w.name for w in state.waves if w.moved) or 'none'})"
