"""`dataplane platform-update`: roll a platform update out to every auto_deploy tenant.

A platform update is a new engine image (`--version`/`--tag`, or a repository_dispatch /
workflow_dispatch payload) or a merge to main that changed base/ or registry/ (a push
payload). auto_deploy tenants move to the platform at HEAD: release.yaml bumped,
re-rendered, committed. The others keep their pinned revision, byte for byte.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from render import deploy, events, gitops, layout
from render.ghactions import add_summary, read_event
from render.load import read_yaml
from render.problems import Problem, ProblemsError
from render.release import Plan, auto_deploy, plan_update, release_data, set_scalars

RELEASE_PATHS = [layout.TENANTS_DIR, *layout.OUTPUT_DIRS]


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("platform-update", help="bump, render and commit every auto_deploy tenant to the platform at HEAD",
                       description="Roll a platform update out: with --version (a new engine image) first set "
                                   "registry/platform.yaml and commit it; then move every auto_deploy tenant to HEAD "
                                   "(release.yaml: platform_version, image, platform_revision), re-render and commit. "
                                   "Tenants with auto_deploy: false are listed as pending and left untouched.")
    p.add_argument("--event-name", default=os.environ.get("GITHUB_EVENT_NAME"),
                   help="push, repository_dispatch or workflow_dispatch (default: $GITHUB_EVENT_NAME)")
    p.add_argument("--event", type=Path, help="the event payload JSON (in a workflow: $GITHUB_EVENT_PATH)")
    p.add_argument("--version", help="new platform version (an engine image published from the platform's main)")
    p.add_argument("--tag", help="engine image tag (default: the version)")
    p.add_argument("--push", action="store_true", help="push to origin main, retrying on a non-fast-forward")
    p.add_argument("--summary", type=Path, help="append a markdown report here (in a workflow: $GITHUB_STEP_SUMMARY)")
    p.set_defaults(run=lambda a: platform_update(
        root=a.repo, event_name=a.event_name if a.event else None, event=a.event, version=a.version, tag=a.tag,
        push=a.push, summary=a.summary))


def platform_update(*, root: Path, event_name: str | None = None, event: Path | None = None,
                    version: str | None = None, tag: str | None = None, push: bool = False, summary: Path | None = None) -> int:
    if event_name:
        update = events.platform_update(event_name, read_event(event))
    else:
        v = events.version(version) if version else None
        update = events.PlatformUpdate(v, events.image_tag(tag or v) if v else None)
    plans: list[Plan] = []

    def apply() -> list[str]:
        plans.clear()
        commits: list[str] = []
        before = gitops.head(root)
        if update.version and update.tag:
            commits += _set_engine(root, update.version, update.tag)
        # A held tenant without a revision rendered from HEAD's platform until now (a
        # pull request's `render --check` saw to it): it is pinned there.
        plan, sha = _roll_out(root, before, update.version)
        plans.append(plan)
        return commits + ([sha] if sha else [])

    result = deploy.push_change(root, apply, push=push)
    if result is None:
        return 1
    add_summary(summary, summary_markdown(plans[0], result.commits))
    return 0


def _set_engine(root: Path, version: str, tag: str) -> list[str]:
    """registry/platform.yaml: platform_version and engine.tag, edited in place; committed."""
    rel = layout.PLATFORM_FILE
    text = (root / rel).read_text(encoding="utf-8")
    new = set_scalars(text, read_yaml(root, rel), {("platform_version",): version, ("engine", "tag"): tag})
    if new == text:
        return []
    (root / rel).write_text(new, encoding="utf-8")
    gitops.stage(root, [rel])
    sha = gitops.commit(root, f"platform: engine {tag} (platform {version})")
    return [sha] if sha else []


def _roll_out(root: Path, previous: str | None, version: str | None) -> tuple[Plan, str | None]:
    repo = deploy.load_valid(root)
    target = deploy.current_target(root, repo)
    tenants = {name: (auto_deploy(files), release_data(files)) for name, files in repo.tenants.items()}
    plan = plan_update(tenants, target, previous, deploy.equivalent_revisions(root, repo, target))
    # Every revision the plan pins becomes a platform release: the only commits a pin may name.
    deploy.release(root, target)
    if previous and previous != target.revision and plan.pinned:
        deploy.release(root, deploy.target_at(root, previous))
    for name, release in plan.releases.items():
        deploy.write_release(root, name, release)
    deploy.render(root, None)  # every tenant: held ones render from their pinned revision, unchanged
    staged = gitops.stage(root, RELEASE_PATHS)
    outside = [p for p in staged if not (p.endswith("/" + layout.RELEASE_FILE)
                                         or p.startswith(tuple(d + "/" for d in layout.OUTPUT_DIRS)))]
    if outside:
        raise ProblemsError([Problem(p, 1, 1, "", "a platform update may change only release.yaml files and output", "")
                             for p in outside])
    names = ", ".join(sorted(plan.bumped)) or "no tenant"
    sha = gitops.commit(root, f"release: platform {version or target.platform_version} at "
                              f"{target.revision[:12]} to auto_deploy tenants ({names})")
    return plan, sha


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
