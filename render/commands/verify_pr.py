"""`dataplane verify-pr PR --tree DIR`: main's engine checks a pull request's inputs and the
automation's App reports the result as the required check run on the exact head commit.

The workflow checks out main (this engine, installed from main) and the pull request's head
into DIR, which is only ever read: the changed input files (tenants/, base/, registry/) are
copied over main's, refused when a path is not plain or passes through a symlink; then
`validate`, a render (what differs from main, `render --base`) and the data gate (`validate --against` main's committed
output: render/gate/) run here, with main's code. Nothing of the pull request is
executed and nothing is committed: the generated trees are rendered again on main after the
merge. The check run's name comes from registry/ownership.yaml (`automation.required_checks`).
"""

from __future__ import annotations

import argparse
import os
import shutil
from collections.abc import Mapping
from pathlib import Path

from render import exitcodes, fleet, git, layout, ownership
from render.gate import against
from render.load import load_repo, refuse_symlinks
from render.problems import Problem, ProblemsError
from render.workflows import authority, github_api
from render.workflows.actions import markdown_text
from render.workflows.merge_gate import SHA, changed_paths
from render.workflows.scope import clean_path


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("verify-pr", help="check a pull request's inputs with main's engine; report the App's check run",
                       description="Copy the pull request's changed inputs from --tree (its head checkout, read as "
                                   "data) over this checkout of main, validate and render with main's engine, and "
                                   "report the required check run on the exact head commit (as the App: "
                                   "$GITHUB_TOKEN). Exit 1 when the check fails.")
    p.add_argument("number", type=int, metavar="PR")
    p.add_argument("--tree", type=Path, required=True, help="the pull request's head, checked out (read only)")
    p.set_defaults(run=lambda a: verify_pr(root=a.repo, number=a.number, tree=a.tree))


def verify_pr(*, root: Path, number: int, tree: Path, env: Mapping[str, str] | None = None) -> int:
    env = os.environ if env is None else env
    authority.require(root, authority.VERIFY_PR, env=env)
    own = ownership.load_ownership(root)
    gh = github_api.session(env)
    pr = gh.get(f"/pulls/{number}")
    head = str(((pr or {}).get("head") or {}).get("sha") or "")
    if not SHA.fullmatch(head) or git.head(tree) != head:
        raise ProblemsError([Problem(str(tree), 1, 1, "", f"{tree} is not the head {head[:12]} of #{number}",
                                     "check out the pull request's head commit there")])
    problems = check(root, tree, changed_paths(gh.pages(f"/pulls/{number}/files")))
    summary = "\n".join(f"- {markdown_text(p.format())}" for p in problems) or "validate and render passed."
    for name in own.required_checks:
        gh.call("POST", "/check-runs", {
            "name": name, "head_sha": head, "status": "completed",
            "conclusion": "failure" if problems else "success",
            "output": {"title": f"{len(problems)} problem(s)" if problems else "inputs valid, output renders",
                       "summary": summary[:60000]}})
    print(f"#{number} {head[:12]}: " + (f"{len(problems)} problem(s)" if problems else "inputs valid, output renders"))
    return exitcodes.FAILED if problems else exitcodes.OK


def check(root: Path, tree: Path, paths: list[str]) -> list[Problem]:
    """Overlay the changed inputs from `tree` on `root`, then validate and render: the problems."""
    try:
        for rel in sorted(set(paths)):
            if not any(layout.is_inside(rel, d) for d in layout.INPUT_DIRS):
                continue  # the engine, docs, workflows: main's are what runs
            if not clean_path(rel):
                return [Problem(rel, 1, 1, "", "not a plain repository path", "")]
            refuse_symlinks(tree, rel)
            refuse_symlinks(root, rel)
            source, target = tree / rel, root / rel
            if source.is_file():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)
            elif source.exists():
                return [Problem(rel, 1, 1, "", "not a plain file", "")]
            elif target.exists():
                target.unlink()
        # No cache: what differs from main's HEAD renders (every tenant when base/, registry/
        # or the engine differ), the rest is proven equal to main's committed output by git.
        fleet.render_to_disk(root, None, use_cache=False, base="HEAD")
        # Changes that would strand data, against main's committed output (render/gate/).
        return against.check(root, load_repo(root), "HEAD")
    except ProblemsError as e:
        return e.problems
