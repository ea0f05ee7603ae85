"""Helpers for validation tests: a CLI runner that captures what `dataplane` prints, and the
leftovers an interrupted write would leave."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

from render import layout
from render.cli import main


def run(root: Path, *args: str) -> tuple[int, str, str]:
    """`dataplane --repo root ARGS`: exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["--repo", str(root), *args])
    return code, out.getvalue(), err.getvalue()


def leftovers(root: Path) -> list[str]:
    """Staging or retired folders an interrupted write would leave behind."""
    return sorted(p.relative_to(root).as_posix() for folder in layout.OUTPUT_DIRS if (root / folder).is_dir()
                  for p in (root / folder).rglob(".*"))
