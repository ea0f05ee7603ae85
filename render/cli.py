"""Command line: argparse, exit codes, printing. The only module that sees argv.

Exit codes: render/exitcodes.py (0 ok, 1 stale or failed, 2 invalid, 3 bug, 4 missing package).
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from render import commands, exitcodes, output
from render.problems import UserError, as_json

EXIT_OK, EXIT_STALE, EXIT_INVALID, EXIT_INTERNAL = exitcodes.OK, exitcodes.FAILED, exitcodes.INVALID, exitcodes.INTERNAL


def parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command line; with `command`, only that command's (only its module is imported)."""
    p = argparse.ArgumentParser(prog="dataplane", description="Render and operate isolated single-tenant data planes.")
    _top_options(p)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in commands.modules(command):
        module.add_parser(sub)
    return p


def _top_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--repo", type=Path, default=Path(os.environ.get("DATAPLANE_REPO", ".")),
                   help="repository root (default: current folder, or $DATAPLANE_REPO)")
    p.add_argument("--format", choices=("text", "json", "github"), default=None,
                   help="how problems are printed (default: github under GitHub Actions, else text)")
    output.add_top(p)


class _Unclear(Exception):
    pass


class _Probe(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _Unclear(message)


def named_command(argv: list[str] | None) -> str | None:
    """The command `argv` runs, or None when unclear (help, a mistake): then every command's
    parser is built, and reports it as before."""
    probe = _Probe(add_help=False)
    _top_options(probe)
    probe.add_argument("command", nargs="?")
    try:
        found = probe.parse_known_args(argv)[0].command
    except _Unclear:
        return None
    return found if found in commands.NAMES else None


def main(argv: list[str] | None = None) -> int:
    top = parser(named_command(argv))
    args = top.parse_args(argv)
    if output.refused(args):
        top.error(f"{args.command} prints no document: -o/--output is for the read commands (see --help)")
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except UserError as e:  # ProblemsError, git, GitHub API, cluster: the user's to fix
        print_problems(e, "json" if output.structured(getattr(args, "output", None) or "") else args.format,
                       writes=getattr(args, "writes", False))
        return EXIT_INVALID
    except ModuleNotFoundError as e:  # an optional package; our own modules are never optional
        if not e.name or e.name.split(".")[0] in ("render", "tests"):
            raise
        print(exitcodes.missing_package_message(args.command, e.name.split(".")[0]), file=sys.stderr)
        return exitcodes.MISSING_PACKAGE
    except KeyboardInterrupt:
        return exitcodes.INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK
    except Exception:  # noqa: BLE001 - a traceback is a bug; say so
        traceback.print_exc()
        print("dataplane: internal error (this is a bug in dataplane, not in your files)", file=sys.stderr)
        return EXIT_INTERNAL


def print_problems(error: UserError, fmt: str | None, *, writes: bool = False) -> None:
    """Every problem; a command that writes also says that it wrote nothing."""
    fmt = fmt or ("github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text")
    if fmt == "json":
        print(as_json(error.problems))
        return
    for problem in error.problems:
        if fmt == "github":
            print(problem.github())
        print(paint(problem.format(), "31"), file=sys.stderr)
    n = len(error.problems)
    print(f"{n} problem{'s' if n != 1 else ''} found" + ("; nothing was written." if writes else "."), file=sys.stderr)


def paint(text: str, colour: str) -> str:
    """ANSI colour on a terminal only (and never when NO_COLOR is set)."""
    if sys.stderr.isatty() and not os.environ.get("NO_COLOR"):
        return f"\033[{colour}m{text}\033[0m"
    return text
