"""`-o/--output text|json|yaml` of the read commands, accepted before or after the command.

The top-level parser holds the option with a default; each read command's parser holds it
too, with no default (argparse.SUPPRESS), so a value given after the command wins and one
given before it is kept. JSON and YAML carry the same data: one document, the shape each
command documents (docs/operations.md#machine-readable-output). Text is for people.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import yaml

FORMATS = ("text", "json", "yaml")
HELP = "output format: text (default), json or yaml (same data; shapes in docs/operations.md)"


def add(p: argparse.ArgumentParser, *aliases: str) -> None:
    """-o/--output on one command's parser (`aliases`: older spellings such as --format)."""
    p.add_argument("-o", "--output", *aliases, dest="output", choices=FORMATS, default=argparse.SUPPRESS, help=HELP)
    p.set_defaults(output_supported=True)


def refused(args: argparse.Namespace) -> bool:
    """-o json|yaml given (before the command) to a command that prints no document."""
    return structured(getattr(args, "output", None) or "") and not getattr(args, "output_supported", False)


def add_top(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", dest="output", choices=FORMATS, default=None, help=HELP)


def chosen(args: argparse.Namespace) -> str:
    """The format asked for; the top-level --format json also means json (its older spelling)."""
    value = getattr(args, "output", None)
    if value:
        return str(value)
    return "json" if getattr(args, "format", None) == "json" else "text"


def structured(fmt: str) -> bool:
    return fmt in ("json", "yaml")


def emit(data: Any, fmt: str) -> None:
    """Print `data` as one JSON or YAML document."""
    if fmt == "yaml":
        sys.stdout.write(yaml.safe_dump(_plain(data), sort_keys=False, allow_unicode=True, width=4096))
    else:
        print(json.dumps(data, indent=2, ensure_ascii=False))


def _plain(data: Any) -> Any:
    """JSON-compatible data (tuples to lists, ...) for yaml.safe_dump."""
    return json.loads(json.dumps(data, ensure_ascii=False))
