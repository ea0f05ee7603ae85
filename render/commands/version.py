"""`dataplane version`: the engine's version, the platform release of this repository, Python."""

from __future__ import annotations

import argparse
import platform
from pathlib import Path

from render import ENGINE_VERSION, layout, output
from render.load import read_yaml
from render.problems import ProblemsError


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("version", help="print the engine version, the repository's platform_version and Python's",
                       description="Print the render engine's version, the platform_version of --repo's "
                                   f"{layout.PLATFORM_FILE} (none outside a dataplane repository) and the Python "
                                   "running the engine.")
    output.add(p)
    p.set_defaults(run=lambda a: version(root=a.repo, fmt=output.chosen(a)))


def version(*, root: Path, fmt: str = "text") -> int:
    """json/yaml: {"engine", "platform_version" (null outside a repository), "python"}."""
    data = {"engine": ENGINE_VERSION, "platform_version": platform_version(root), "python": platform.python_version()}
    if output.structured(fmt):
        output.emit(data, fmt)
    else:
        print(f"dataplane {data['engine']}, platform {data['platform_version'] or '(no repository here)'}, "
              f"Python {data['python']}")
    return 0


def platform_version(root: Path) -> str | None:
    if not (root / layout.PLATFORM_FILE).is_file():
        return None
    try:
        value = read_yaml(root, layout.PLATFORM_FILE).data.get("platform_version")
    except (ProblemsError, AttributeError):
        return None
    return str(value) if value is not None else None
