"""`dataplane pr-report`: the pull-request comment, printed, written, or posted in place."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from render import git, layout, output
from render.git import GitTree
from render.load import Repo, load_platform_at, load_repo_at, read_yaml
from render.pipeline import effective, render_repo
from render.problems import Problem, ProblemsError
from render.rollout.schedule import Schedule, schedule
from render.validate.schemas import check_schema
from render.workflows import events, github_api
from render.workflows.actions import add_summary, read_event
from render.workflows.deploy import load_valid
from render.workflows.pr_comment import (
    MARKER,
    PLATFORM_HEADING,
    TenantChange,
    changed_files,
    comment,
    schedule_notes,
    tenant_of,
    when,
)


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("pr-report", help="describe a pull request per tenant and show its rendered diff",
                       description="Compare the working tree with --base (or the pull request's base in --event): "
                                   "per tenant, in plain words, what changes (extractors, replicas, node ranges, "
                                   "resources, images), then the unified diff of rendered files. A change to base/ "
                                   "or registry/ moves no pinned tenant in the pull request: the report names the "
                                   "tenants it moves now, those a release moves later (by rollout wave) and those held.")
    p.add_argument("--base", help="base revision (default: pull_request.base.sha of --event)")
    p.add_argument("--event", type=Path, help="pull_request payload JSON ($GITHUB_EVENT_PATH)")
    p.add_argument("--out", type=Path, help="write the comment body here")
    p.add_argument("--summary", type=Path, help="append the body here too ($GITHUB_STEP_SUMMARY)")
    p.add_argument("--post", action="store_true",
                   help="create or update the pull request's comment ($GITHUB_TOKEN, $GITHUB_REPOSITORY, $GITHUB_API_URL)")
    output.add(p)
    p.set_defaults(run=lambda a: pr_report(root=a.repo, base=a.base, event=a.event, out=a.out, summary=a.summary,
                                           post=a.post, fmt=output.chosen(a)))


def pr_report(*, root: Path, base: str | None = None, event: Path | None = None, out: Path | None = None,
              summary: Path | None = None, post: bool = False, fmt: str = "text") -> int:
    """Printed (no --out, --summary or --post) as json/yaml: {"base", "platform_review", "body"}."""
    pr = events.pull_request(read_event(event)) if event else None
    where = str(event) if event and base is None else "--base"  # where the revision came from
    if base is None and pr is None:
        raise ProblemsError([Problem("--base", 1, 1, "base", "no base revision to compare with",
                                     "give --base REV (any revision git accepts: main, HEAD~1, a commit id) "
                                     "or --event with a pull_request payload")])
    try:
        base_rev = _resolve(root, base) if base is not None else pr.base  # type: ignore[union-attr]
        body = build(root, base_rev)
    except git.GitError as e:
        raise ProblemsError([Problem(where, 1, 1, "base", str(e),
                                     "fetch the full history (actions/checkout with fetch-depth: 0)")]) from None
    if out is not None:
        out.write_text(body, encoding="utf-8")
    if summary is not None:
        add_summary(summary, body)
    elif out is None and not post:
        if output.structured(fmt):
            output.emit({"base": base_rev, "platform_review": PLATFORM_HEADING in body, "body": body}, fmt)
        else:
            print(body, end="")
    if post:
        _post(pr, body)
    return 0


def _resolve(root: Path, base: str) -> str:
    """Any revision git accepts (a branch, a tag, HEAD~1, a commit id) -> its commit id."""
    try:
        return git.resolve(root, base)
    except git.GitError:
        raise ProblemsError([Problem("--base", 1, 1, "base", f"{base!r} names no commit of this repository",
                                     "any revision git accepts: main, origin/main, HEAD~1, a tag or a commit id; "
                                     "in CI fetch the full history (fetch-depth: 0)")]) from None


def _post(pr: events.PullRequest | None, body: str) -> None:
    if pr is None:
        raise ProblemsError([Problem("--post", 1, 1, "event", "--post needs the pull_request --event", "give --event $GITHUB_EVENT_PATH")])
    if not pr.same_repository:
        print("pull request from a fork: its token cannot comment; the report is in the job summary")
        return
    repository = events.repository(os.environ.get("GITHUB_REPOSITORY", ""), "GITHUB_REPOSITORY")
    api = os.environ.get("GITHUB_API_URL", "https://api.github.com")
    token = os.environ.get("GITHUB_TOKEN", "")
    if not token:
        raise ProblemsError([Problem("environment", 1, 1, "GITHUB_TOKEN", "not set", "pass it in the step's env")])
    try:
        done = github_api.upsert_comment(api, token, repository, pr.number, body, MARKER)
    except github_api.ApiError as e:
        print(f"could not comment ({e}); the report is in the job summary")
        return
    print(f"pull request comment {done}")


def build(root: Path, base_rev: str) -> str:
    """The comment for the working tree against `base_rev`."""
    head = load_valid(root)
    tree = GitTree(root, base_rev)
    old = load_platform_at(tree)
    platform_changed = (old.templates, old.platform.data, old.extractors.data) != \
        (head.current.templates, head.current.platform.data, head.current.extractors.data)
    # As merged, every tenant keeps its pin: the schedule says when a release moves which.
    plan = schedule(root, head, str(head.current.platform.data.get("platform_version", ""))) if platform_changed else None
    after = {path: data for files in render_repo(head).values() for path, data in files.items()}
    before = tree.walk(*layout.OUTPUT_DIRS)
    try:
        base_repo: Repo | None = load_repo_at(root, base_rev)
    except ProblemsError:
        base_repo = None  # an invalid base: show the diff, not the before-configuration
    paths = changed_files(before, after)
    inputs = changed_files(tree.walk(*layout.INPUT_DIRS), _worktree(root, *layout.INPUT_DIRS))
    prices = _prices(root)
    if prices is None:  # said, not dropped silently: `dataplane validate` names the mistake
        print(f"dataplane: {layout.PRICES_FILE} is missing or invalid (dataplane validate says where): "
              "the comment has no compute and cost section", file=sys.stderr)
    changes = []
    for name in sorted(set(head.tenants) | set(base_repo.tenants if base_repo else ())):
        b_shared = base_repo.inputs_for(name) if base_repo and name in base_repo.tenants else None
        a_shared = head.inputs_for(name) if name in head.tenants else None
        changes.append(TenantChange(
            name,
            effective(base_repo.tenants[name], b_shared) if base_repo and b_shared else None,
            effective(head.tenants[name], a_shared) if a_shared else None,
            b_shared, a_shared, [p for p in paths if tenant_of(p) == name],
            later=when(name, plan) if plan and name in head.tenants else "", prices=prices,
            inputs=[p for p in inputs if layout.is_inside(p, layout.tenant_dir(name))]))
    return comment(changes, before, after, _platform_notes(plan, inputs, paths))


def _platform_notes(plan: Schedule | None, inputs: list[str], paths: list[str]) -> list[str]:
    """Platform-wide changes: base/ and registry/ files, when they reach which tenant, and
    output that belongs to no tenant."""
    notes = []
    shared_inputs = [p for p in inputs if not layout.is_inside(p, layout.TENANTS_DIR)]
    if shared_inputs:
        notes.append(f"- Platform inputs change: {', '.join(f'`{p}`' for p in shared_inputs)}.")
    if plan is not None:
        notes += schedule_notes(sorted({t for p in paths if (t := tenant_of(p))}), plan)
    platform_out = [p for p in paths if tenant_of(p) is None]
    if platform_out:
        notes.append(f"- Platform-wide output changes: {', '.join(f'`{p}`' for p in platform_out)}.")
    return notes


def _worktree(root: Path, *folders: str) -> dict[str, bytes]:
    """Every file under `folders` of the working tree, by repo-relative path (like GitTree.walk)."""
    return {path.relative_to(root).as_posix(): path.read_bytes()
            for folder in folders for path in sorted((root / folder).rglob("*")) if path.is_file()}


def _prices(root: Path) -> dict[str, Any] | None:
    """registry/prices.yaml, for the footprint section; None (no section) if it is unusable."""
    try:
        doc = read_yaml(root, layout.PRICES_FILE)
    except ProblemsError:
        return None
    return None if check_schema(doc, "prices") else dict(doc.data)
