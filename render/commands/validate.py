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
                                   "Prints nothing and exits 0 when every file is valid; otherwise prints every "
                                   "problem of every file as FILE:LINE:COL: KEY: MESSAGE with a hint, and exits 2. "
                                   "Fleet-wide checks (one organization id per tenant, ...) always see every tenant.")
    p.add_argument("tenants", nargs="*", metavar="TENANT", help="tenants to check (default: all)")
    # Also accepted after the command name; SUPPRESS keeps a value given before it.
    p.add_argument("--format", choices=("text", "json", "github"), default=argparse.SUPPRESS,
                   help="how problems are printed (default: github under GitHub Actions, else text)")
    p.set_defaults(run=lambda a: validate(root=a.repo, tenants=a.tenants))


def validate(*, root: Path, tenants: list[str]) -> int:
    problems = validate_repo(load_repo(root, tenants or None))
    if problems:
        raise ProblemsError(problems)
    return 0
