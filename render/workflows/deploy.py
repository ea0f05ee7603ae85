"""Steps the deploy commands share: find the current platform, write a release, render,
commit within a scope. I/O through load, emit and render.git only."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from render import emit, fleet, git, layout
from render.load import Repo, load_platform_at, load_repo
from render.problems import Problem, ProblemsError
from render.validate import validate_repo
from render.workflows import preconditions, scope
from render.workflows.release import Target, release_text, target_of


def load_valid(root: Path, only: list[str] | None = None, *, require_pins: bool = True) -> Repo:
    repo = load_repo(root, only, require_pins=require_pins)
    problems = validate_repo(repo)
    if problems:
        raise ProblemsError(problems)
    return repo


def current_target(root: Path, repo: Repo) -> Target:
    """The platform at HEAD, which a platform update releases. Refuses when base/ or
    registry/ has uncommitted changes: a release must name a commit that holds exactly
    what the tenant renders from."""
    _refuse_dirty_platform(root)
    return target_of(repo.current.platform.data, git.head(root))


def latest_release(root: Path) -> Target:
    """The newest platform release HEAD contains (what `promote` pins a tenant to)."""
    _refuse_dirty_platform(root)
    tag = git.latest_release(root)
    if tag is None:
        raise ProblemsError([Problem(layout.PLATFORM_FILE, 1, 1, "", "no platform release to move to: no "
                                     f"annotated tag {layout.RELEASE_TAG_PREFIX}* is reachable from HEAD",
                                     "platform-update creates one on main; fetch tags (git fetch --tags)")])
    return target_at(root, git.resolve(root, tag))


def target_at(root: Path, revision: str) -> Target:
    """The platform as registry/platform.yaml at `revision` describes it."""
    return target_of(load_platform_at(git.GitTree(root, revision)).platform.data, revision)


def release(root: Path, target: Target) -> bool:
    """Record `target` as a platform release (an annotated tag pushed with the update), so
    tenants may pin it. True when the tag is new."""
    return git.tag_release(root, layout.release_tag(target.platform_version, target.revision), target.revision,
                              f"platform release {target.platform_version}")


def _refuse_dirty_platform(root: Path) -> None:
    changed = git.dirty(root, *layout.PLATFORM_INPUT_DIRS)
    if changed:
        raise ProblemsError([Problem(changed[0], 1, 1, "", "base/ or registry/ has uncommitted changes",
                                     "commit the platform change first, then move tenants to it")])


def equivalent_revisions(root: Path, repo: Repo, target: Target) -> frozenset[str]:
    """Pinned revisions whose base/ and registry/ equal the target's."""
    want = git.platform_trees(root, target.revision)
    return frozenset(rev for rev in repo.revisions if git.platform_trees(root, rev) == want)


def write_release(root: Path, name: str, release: dict[str, Any]) -> None:
    (root / layout.tenant_file(name, layout.RELEASE_FILE)).write_text(release_text(release), encoding="utf-8")


def render(root: Path, tenants: list[str] | None) -> emit.Report:
    """Render (all tenants, or some) and write, as `dataplane render --no-cache` does:
    a workflow never lets a cache stand in for rendering."""
    return fleet.render_to_disk(root, tenants, use_cache=False).report


def commit_tenant(root: Path, tenant: str, message: str, *, release: bool) -> list[str]:
    """Stage the tenant's scope, refuse anything outside it, commit. Returns the commit, if any."""
    files, folders = scope.allowed(tenant, release=release)
    staged = git.stage(root, files + folders)
    problems = scope.check_paths(tenant, staged, release=release)
    if problems:
        git.run(root, "reset", "-q")
        raise ProblemsError(problems)
    sha = git.commit(root, message)
    return [sha] if sha else []


def push_change(root: Path, apply: Callable[[Path], list[str]], *, push: bool,
                dry_run: bool = False) -> git.Pushed | None:
    """git.deploy with the workflow's token ($GITHUB_TOKEN, through git's environment), after
    the preconditions (render/workflows/preconditions.py); `apply` commits in the folder it
    is given. Prints what was committed, tagged and pushed. With `dry_run`, the change is
    applied to a throwaway clone and reported instead: an empty result.
    A git failure (a push still rejected, say) is reported in one line: None."""
    env = git.auth_env(os.environ.get("GITHUB_TOKEN"), os.environ.get("GITHUB_SERVER_URL", "https://github.com"))
    preconditions.check(root, push=push, env=env)
    if dry_run:
        print("\n".join(preconditions.rehearse(root, apply, push=push).lines()))
        return git.Pushed([], 0)
    before, tags = git.head(root), set(git.run(root, "tag", "--list").split())
    try:
        result = git.deploy(root, lambda: apply(root), push=push, env=env)
    except git.GitError as e:
        _restore(root, before, tags)
        print(f"dataplane: {e}", file=sys.stderr)
        return None
    except BaseException:
        _restore(root, before, tags)  # a refused input found midway: the run leaves nothing behind
        raise
    print("\n".join(preconditions.report(before, root, tags, push)))
    return result


def _restore(root: Path, head: str, tags: set[str]) -> None:
    """Undo a run that failed: its commits, tags and files. The preconditions made sure the
    tree was clean and nothing was ahead of the remote, so only the run's own work goes."""
    git.run(root, "reset", "-q", "--hard", head)
    git.run(root, "clean", "-q", "-f", "-d")
    for tag in set(git.run(root, "tag", "--list").split()) - tags:
        git.run(root, "tag", "-d", tag)
