"""The CustomResourceDefinitions of the kinds the output uses, vendored at pinned upstream
versions (SOURCES.md beside this file says which), and where to find CRDs.

`locate` is the one answer to "which CRD folder?" for every consumer (`validate --deep`,
the tests, a tool checking a real cluster): an explicit folder, else $DATAPLANE_CRDS,
else the vendored copy, which ships with the package, so a fresh clone checks every kind.
`dataplane crds vendor --from DIR` refreshes the copy (render/crds/vendor.py).
"""

from __future__ import annotations

import os
from pathlib import Path

ENV = "DATAPLANE_CRDS"
VENDORED = Path(__file__).resolve().parent
SOURCES_FILE = "SOURCES.md"


def locate(explicit: Path | None = None) -> Path:
    """The CRD folder to use: `explicit` (a --crds flag), else $DATAPLANE_CRDS, else the vendored CRDs."""
    if explicit is not None:
        return explicit
    env = os.environ.get(ENV)
    return Path(env) if env else VENDORED


def describe(folder: Path) -> str:
    """How a summary line names the folder: 'vendored' for the shipped copy, else its path."""
    return "vendored, render/crds" if folder.resolve() == VENDORED else str(folder)
