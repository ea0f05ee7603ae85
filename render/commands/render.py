"""`dataplane render [TENANT...] [--check] [--no-cache]`."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Callable, TextIO

from render import emit, fleet, layout

EXIT_STALE = 1


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("render", help="render tenants into rendered/, argocd/ and control-plane/",
                       description="Render every tenant (or the named ones) into rendered/<name>/, "
                                   "argocd/tenants/<name>/ and control-plane/routing/<name>/, and the platform's "
                                   "argocd/platform/. Nothing is written if any input is invalid. Tenants whose "
                                   "inputs, templates, registry and engine are unchanged since the last render are "
                                   "not rendered again (cache in .cache/dataplane/, or $DATAPLANE_CACHE_DIR).")
    p.add_argument("tenants", nargs="*", metavar="TENANT", help="tenants to render (default: all)")
    p.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 and list stale, missing and extra files if the committed output differs")
    p.add_argument("--no-cache", action="store_true",
                   help="neither read nor write the render cache: validate and render every tenant")
    p.set_defaults(run=lambda a: render(root=a.repo, tenants=a.tenants, check=a.check, use_cache=not a.no_cache))


def render(*, root: Path, tenants: list[str], check: bool = False, use_cache: bool = True) -> int:
    started = time.monotonic()
    emit.recover(root, list(layout.OUTPUT_DIRS))
    bar = Progress(sys.stdout) if sys.stdout.isatty() else None
    writer = emit.Writer(root, check=check)  # compares, and stages writes, while tenants render
    try:
        result = fleet.render_fleet(root, tenants or None, use_cache=use_cache, writer=writer,
                                    progress=bar.update if bar else None)
    except BaseException:
        writer.abort()
        raise
    finally:
        if bar:
            bar.close()
    stale = [] if tenants else stale_scopes(root, set(result.names))
    report = writer.finish(stale)
    report.unchanged += sum(result.fresh.values())
    unsettled = set(report.scopes_changed) if check else set()
    fleet.remember(root, result, [s for s in result.scopes if s not in unsettled], stale if not check else [])
    if check:
        return _check_summary(root, report, len(result.names))
    unchanged = len(result.names) - len(result.rendered) - len(result.reused)
    print(f"rendered {len(result.names)} tenants ({len(result.rendered)} rendered, {len(result.reused)} from cache, "
          f"{unchanged} unchanged): {len(report.written)} files written, {len(report.pruned)} pruned, "
          f"{report.unchanged} unchanged in {time.monotonic() - started:.2f}s")
    return 0


def _check_summary(root: Path, report: emit.Report, tenants: int) -> int:
    for path in report.written:
        state = "stale" if (root / path).exists() else "missing"
        print(f"{state}: {path}")
    for path in report.pruned:
        print(f"extra: {path}")
    if not report.clean:
        print("rendered output is out of date: run `dataplane render` and commit the result", file=sys.stderr)
        return EXIT_STALE
    print(f"up to date: {tenants} tenants, {report.unchanged} files")
    return 0


def stale_scopes(root: Path, tenants: set[str]) -> list[str]:
    """Output folders of tenants that no longer exist."""
    out = []
    for parent in (layout.RENDERED_DIR, layout.ARGOCD_TENANTS_DIR, layout.ROUTING_DIR):
        folder = root / parent
        if folder.is_dir():
            with os.scandir(folder) as entries:  # scandir: a fleet has thousands of folders here
                out += sorted(f"{parent}/{e.name}" for e in entries
                              if e.is_dir() and not e.name.startswith(".") and e.name not in tenants)
    return out


class Progress:
    """A one-line progress bar for terminals; CI logs get only the summary line."""

    def __init__(self, stream: TextIO, every: float = 0.1, clock: Callable[[], float] = time.monotonic) -> None:
        self.stream, self.every, self.clock = stream, every, clock
        self.shown = float("-inf")
        self.drawn = False

    def update(self, done: int, total: int, name: str) -> None:
        now = self.clock()
        if now - self.shown < self.every and done < total:
            return
        self.shown, self.drawn = now, True
        width = 30
        bar = "#" * (width * done // max(total, 1))
        self.stream.write(f"\rrendering [{bar:<{width}}] {done}/{total} tenants ({name})\033[K")
        self.stream.flush()

    def close(self) -> None:
        if self.drawn:
            self.stream.write("\r\033[K")
            self.stream.flush()
