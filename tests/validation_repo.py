"""Helpers for validation tests: a copy of this repository's inputs in tmp_path, and a CLI
runner that captures what `dataplane` prints."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

from render import layout
from render.cli import main
from tests import support

ROOT = Path(__file__).resolve().parents[1]
INPUTS = (layout.REGISTRY_DIR, layout.BASE_DIR, layout.TENANTS_DIR)


def copy_repo(dest: Path, *, outputs: bool = False) -> Path:
    """tests.support.copy_repo, without the committed output unless asked (validation
    tests render into an empty tree)."""
    return support.copy_repo(dest, outputs=outputs)


def run(root: Path, *args: str) -> tuple[int, str, str]:
    """`dataplane --repo root ARGS`: exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["--repo", str(root), *args])
    return code, out.getvalue(), err.getvalue()


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file (hidden ones too) under the output folders, by relative path."""
    files = {}
    for folder in layout.OUTPUT_DIRS:
        base = root / folder
        if base.is_dir():
            files.update({p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(base.rglob("*")) if p.is_file()})
    return files


def leftovers(root: Path) -> list[str]:
    """Staging or retired folders an interrupted write would leave behind."""
    return sorted(p.relative_to(root).as_posix() for folder in layout.OUTPUT_DIRS if (root / folder).is_dir()
                  for p in (root / folder).rglob(".*"))
