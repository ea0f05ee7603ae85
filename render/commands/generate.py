"""`dataplane generate --push`: the automation renders main and commits the generated trees.

Pull requests carry inputs only; after a merge the workflow on main (as the App) renders
every tenant with main's engine and commits rendered/, argocd/, control-plane/ and
.github/CODEOWNERS, nothing else (anything else staged aborts the commit). With nothing to
change it commits nothing.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from render import git, layout
from render.problems import Problem, ProblemsError
from render.workflows import authority, deploy
from render.workflows.actions import add_summary

GENERATED = [*layout.OUTPUT_DIRS, layout.CODEOWNERS_FILE]


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("generate", help="render main and commit the generated trees (the automation, after a merge)",
                       description="Render every tenant from the committed inputs and commit the generated trees "
                                   "(rendered/, argocd/, control-plane/, .github/CODEOWNERS) and nothing else.")
    p.add_argument("--push", action="store_true", help="push to origin main, retrying on a non-fast-forward")
    p.add_argument("--dry-run", action="store_true", help="print what would be committed and pushed; write nothing")
    p.add_argument("--summary", type=Path, help="append a markdown report here ($GITHUB_STEP_SUMMARY)")
    p.set_defaults(writes=True, run=lambda a: generate(root=a.repo, push=a.push, summary=a.summary, dry_run=a.dry_run))


def generate(*, root: Path, push: bool = False, summary: Path | None = None, dry_run: bool = False) -> int:
    authority.require(root, authority.GENERATE)
    uncommitted = git.dirty(root, *layout.INPUT_DIRS)
    if uncommitted:
        raise ProblemsError([Problem(p, 1, 1, "", "uncommitted change to an input", "the output is generated from "
                                     "the committed inputs only") for p in uncommitted])

    def apply(work: Path) -> list[str]:
        source = git.head(work)
        deploy.render(work, None)
        staged = git.stage(work, GENERATED)
        outside = [p for p in staged if not any(layout.is_inside(p, g) for g in GENERATED)]
        if outside:
            git.run(work, "reset", "-q")
            raise ProblemsError([Problem(p, 1, 1, "", "outside the generated trees", "") for p in outside])
        sha = git.commit(work, f"render: generated output of {source[:12]}")
        return [sha] if sha else []

    result = deploy.push_change(root, apply, push=push, dry_run=dry_run)
    if result is None:
        return 1
    if dry_run:
        return 0
    add_summary(summary, f"## Generated output\n\n{'Commit ' + result.commits[0][:12] if result.commits else 'Up to date'}.\n")
    return 0
