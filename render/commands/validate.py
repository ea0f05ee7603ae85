"""`dataplane validate`: check every input file without rendering."""

from __future__ import annotations

import argparse
from pathlib import Path

from render.load import load_repo
from render.problems import ProblemsError
from render.validate import validate_repo


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("validate", help="check every input file; print problems, write nothing",
                       description="Load and check registry/ and tenants/ (schemas and semantic rules). "
                                   "Prints nothing and exits 0 when every file is valid; exits 2 otherwise.")
    p.add_argument("tenants", nargs="*", metavar="TENANT", help="tenants to check (default: all)")
    p.set_defaults(run=lambda a: validate(root=a.repo, tenants=a.tenants))


def validate(*, root: Path, tenants: list[str]) -> int:
    problems = validate_repo(load_repo(root, tenants or None))
    if problems:
        raise ProblemsError(problems)
    return 0
