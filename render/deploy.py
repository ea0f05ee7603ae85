"""Steps the deploy commands share: find the current platform, write a release, render,
commit within a scope. I/O through load, emit and gitops only."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Callable

from render import emit, gitops, layout, load_git, scope
from render.load import Repo, load_repo
from render.pipeline import render_repo
from render.problems import Problem, ProblemsError
from render.release import Target, release_text, target_of
from render.validate import validate_repo

PLATFORM_DIRS = (layout.BASE_DIR, layout.REGISTRY_DIR)


def load_valid(root: Path, only: list[str] | None = None) -> Repo:
    repo = load_repo(root, only)
    problems = validate_repo(repo)
    if problems:
        raise ProblemsError(problems)
    return repo


def current_target(root: Path, repo: Repo) -> Target:
    """The platform at HEAD. Refuses when base/ or registry/ has uncommitted changes:
    a release must name a commit that holds exactly what the tenant renders from."""
    changed = gitops.dirty(root, *PLATFORM_DIRS)
    if changed:
        raise ProblemsError([Problem(changed[0], 1, 1, "", "base/ or registry/ has uncommitted changes",
                                     "commit the platform change first, then move tenants to it")])
    return target_of(repo.platform.data, gitops.head(root))


def equivalent_revisions(root: Path, repo: Repo, target: Target) -> frozenset[str]:
    """Pinned revisions whose base/ and registry/ equal the target's."""
    want = load_git.platform_trees(root, target.revision)
    return frozenset(rev for rev in repo.revisions if load_git.platform_trees(root, rev) == want)


def write_release(root: Path, name: str, release: dict[str, Any]) -> None:
    (root / layout.tenant_file(name, layout.RELEASE_FILE)).write_text(release_text(release), encoding="utf-8")


def render(root: Path, tenants: list[str] | None) -> emit.Report:
    """Render (all tenants, or some) and write; prune the output of removed tenants."""
    emit.recover(root, list(layout.OUTPUT_DIRS))
    repo = load_repo(root, tenants)
    outputs = render_repo(repo)
    stale = [] if tenants else _stale_scopes(root, set(repo.tenants))
    return emit.write(root, outputs, stale)


def _stale_scopes(root: Path, tenants: set[str]) -> list[str]:
    """Output folders of tenants that no longer exist (as `dataplane render` prunes them;
    not imported from the command, which would make render.commands import itself)."""
    out = []
    for parent in (layout.RENDERED_DIR, layout.ARGOCD_TENANTS_DIR):
        folder = root / parent
        if folder.is_dir():
            out += [f"{parent}/{p.name}" for p in sorted(folder.iterdir())
                    if p.is_dir() and not p.name.startswith(".") and p.name not in tenants]
    return out


def commit_tenant(root: Path, tenant: str, message: str, *, release: bool) -> list[str]:
    """Stage the tenant's scope, refuse anything outside it, commit. Returns the commit, if any."""
    files, folders = scope.allowed(tenant, release=release)
    staged = gitops.stage(root, files + folders)
    problems = scope.check_paths(tenant, staged, release=release)
    if problems:
        gitops.git(root, "reset", "-q")
        raise ProblemsError(problems)
    sha = gitops.commit(root, message)
    return [sha] if sha else []


def push_change(root: Path, apply: Callable[[], list[str]], *, push: bool) -> gitops.Pushed | None:
    """gitops.deploy with the workflow's token ($GITHUB_TOKEN, through git's environment).
    A git failure (a push still rejected, say) is reported in one line: None."""
    env = gitops.auth_env(os.environ.get("GITHUB_TOKEN"), os.environ.get("GITHUB_SERVER_URL", "https://github.com"))
    try:
        return gitops.deploy(root, apply, push=push, env=env)
    except gitops.GitCommandError as e:
        print(f"dataplane: {e}", file=sys.stderr)
        return None
