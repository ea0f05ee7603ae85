"""What the commands that write a tenant's lifecycle (offboard, move) share: the date flag,
and the check that the changed repository still validates and renders before it is kept."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from render.load import load_repo
from render.pipeline import render_repo
from render.problems import ProblemsError
from render.rollout.plan import plan_file_problems
from render.validate import validate_repo


def iso_date(text: str) -> dt.date:
    """argparse type of `--on`: a YYYY-MM-DD date."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def still_renders(root: Path) -> None:
    """The repository with the change still validates and renders (in memory: a pull request
    carries inputs only; the automation renders the output after the merge)."""
    problems = validate_repo(load_repo(root)) + plan_file_problems(root)
    if problems:
        raise ProblemsError(problems)
    render_repo(load_repo(root))
