"""`dataplane render [TENANT...] [--check]`."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from render import emit, layout
from render.load import load_repo
from render.pipeline import render_repo

EXIT_STALE = 1


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("render", help="render tenants into rendered/, argocd/ and control-plane/",
                       description="Render every tenant (or the named ones) into rendered/<name>/, argocd/ and its routing entry in control-plane/routing/<name>/. "
                                   "Nothing is written if any input is invalid.")
    p.add_argument("tenants", nargs="*", metavar="TENANT", help="tenants to render (default: all)")
    p.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 and list stale, missing and extra files if the committed output differs")
    p.set_defaults(run=lambda a: render(root=a.repo, tenants=a.tenants, check=a.check))


def render(*, root: Path, tenants: list[str], check: bool = False) -> int:
    started = time.monotonic()
    emit.recover(root, list(layout.OUTPUT_DIRS))
    repo = load_repo(root, tenants or None)
    outputs = render_repo(repo)
    stale = [] if tenants else stale_scopes(root, set(repo.tenants))
    if check:
        report = emit.compare(root, outputs, stale)
        for path in report.written:
            state = "stale" if (root / path).exists() else "missing"
            print(f"{state}: {path}")
        for path in report.pruned:
            print(f"extra: {path}")
        if not report.clean:
            print("rendered output is out of date: run `dataplane render` and commit the result", file=sys.stderr)
            return EXIT_STALE
        print(f"up to date: {len(repo.tenants)} tenants, {report.unchanged} files")
        return 0
    report = emit.write(root, outputs, stale)
    seconds = time.monotonic() - started
    print(f"rendered {len(repo.tenants)} tenants: {len(report.written)} files written, "
          f"{len(report.pruned)} pruned, {report.unchanged} unchanged in {seconds:.2f}s")
    return 0


def stale_scopes(root: Path, tenants: set[str]) -> list[str]:
    """Output folders of tenants that no longer exist."""
    out = []
    for parent in (layout.RENDERED_DIR, layout.ARGOCD_TENANTS_DIR, layout.ROUTING_DIR):
        folder = root / parent
        if folder.is_dir():
            out += [f"{parent}/{p.name}" for p in sorted(folder.iterdir())
                    if p.is_dir() and not p.name.startswith(".") and p.name not in tenants]
    return out
