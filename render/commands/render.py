"""`dataplane render [TENANT...] [--check] [--no-cache] [--base REF]`."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from render import base_diff, emit, exitcodes, fleet, output, versions
from render.problems import ProblemsError, UserError

EXIT_STALE = exitcodes.FAILED


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("render", help="render tenants into rendered/, argocd/ and control-plane/",
                       description="Render every tenant (or the named ones) into rendered/<name>/, "
                                   "argocd/tenants/<name>/ and control-plane/routing/<name>/, and the platform's "
                                   "argocd/platform/. Nothing is written if any input is invalid. Tenants whose "
                                   "inputs, templates, registry and engine are unchanged since the last render are "
                                   "not rendered again (cache in ~/.cache/dataplane/, or $DATAPLANE_CACHE_DIR, never "
                                   "inside the repository; CI uses --no-cache).")
    p.add_argument("tenants", nargs="*", metavar="TENANT", help="tenants to render (default: all)")
    p.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 and list stale, missing and extra files if the committed output differs")
    p.add_argument("--no-cache", action="store_true",
                   help="neither read nor write the render cache: validate and render every tenant")
    p.add_argument("--base", metavar="REF",
                   help="a revision HEAD descends from whose committed output is current (a pull request's base): "
                        "render only the tenants whose inputs or output folders differ from it, every tenant when "
                        "the engine or base/ or registry/ do, and prove the rest identical to it with git; no cache")
    p.add_argument("--committed", action="store_true",
                   help="with --base, on a fresh checkout (CI): take the output folders of the tenants that do not "
                        "render to be HEAD's rather than compare the working tree's with git (at 10,000 tenants, "
                        "840,000 files); inputs and engine are still compared")
    output.add(p)
    p.set_defaults(writes=True, run=lambda a: render(root=a.repo, tenants=a.tenants, check=a.check,
                                                     use_cache=not a.no_cache, fmt=output.chosen(a), base=a.base,
                                                     committed=a.committed))


def render(*, root: Path, tenants: list[str], check: bool = False, use_cache: bool = True, fmt: str = "text",
           base: str | None = None, committed: bool = False) -> int:
    """json/yaml: {"check", "tenants", "files": [{path, state}], "unchanged"} (and with --base,
    "base": {revision, full, rendered, identical}); state is written, pruned (a render) or
    stale, missing, extra (--check)."""
    if base is not None and tenants:
        raise UsageError("--base checks the whole fleet against the base revision: name no tenant")
    if committed and base is None:
        raise UsageError("--committed qualifies --base: name the base revision")
    started = time.monotonic()
    problems = versions.registry_problems(root)  # a release outside the KubeRay table: nothing is written
    if problems:
        raise ProblemsError(problems)
    bar = Progress(sys.stdout) if sys.stdout.isatty() and not output.structured(fmt) else None
    try:
        done = fleet.render_to_disk(root, tenants or None, check=check, use_cache=use_cache and base is None,
                                    progress=bar.update if bar else None, base=base,
                                    committed=committed)
    finally:
        if bar:
            bar.close()
    for line in done.recovered:
        print(f"dataplane: {line}", file=sys.stderr)
    result, report, plan = done.render, done.report, done.plan
    if output.structured(fmt):
        files = [{"path": p, "state": _state(root, p, check)} for p in report.written]
        files += [{"path": p, "state": "extra" if check else "pruned"} for p in report.pruned]
        doc: dict[str, object] = {"check": check, "tenants": len(result.names), "files": files,
                                  "unchanged": report.unchanged}
        if plan is not None:
            doc["base"] = {"revision": plan.revision, "full": plan.full, "rendered": result.rendered,
                           "identical": result.proven}
        output.emit(doc, fmt)
        return EXIT_STALE if check and not report.clean else 0
    if plan is not None:
        print(_against(plan, result))
    if check:
        return _check_summary(root, report, len(result.names))
    unchanged = len(result.names) - len(result.rendered) - len(result.reused)
    print(f"rendered {len(result.names)} tenants ({len(result.rendered)} rendered, {len(result.reused)} from cache, "
          f"{unchanged} unchanged): {len(report.written)} files written, {len(report.pruned)} pruned, "
          f"{report.unchanged} unchanged in {time.monotonic() - started:.2f}s")
    return 0


class UsageError(UserError):
    hint = "see `dataplane render --help`"


def _against(plan: base_diff.Plan, result: fleet.FleetRender) -> str:
    """One line: what a render against a base revision rendered, and why."""
    if plan.full:
        return f"every tenant rendered: {plan.full}"
    shown = ", ".join(result.rendered[:5]) + (", ..." if len(result.rendered) > 5 else "")
    return (f"against {plan.revision[:12]}: {len(result.rendered)} tenant(s) rendered"
            f"{f' ({shown})' if shown else ''}, {result.proven} identical to it (git), fleet-wide outputs derived")


def _state(root: Path, path: str, check: bool) -> str:
    if not check:
        return "written"
    return "stale" if (root / path).exists() else "missing"


def _check_summary(root: Path, report: emit.Report, tenants: int) -> int:
    for path in report.written:
        print(f"{_state(root, path, True)}: {path}")
    for path in report.pruned:
        print(f"extra: {path} (not generated by dataplane now)")
    if not report.clean:
        print("rendered output is out of date: run `dataplane render` and commit the result", file=sys.stderr)
        return EXIT_STALE
    print(f"up to date: {tenants} tenants, {report.unchanged} files")
    return 0


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
