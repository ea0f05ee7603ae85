"""Up and down as one unit (the commands and the test fixture call these): build, start,
bootstrap; stop every process by its pid whatever happened."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from render import layout
from render.cluster import bootstrap, components, control_plane


def platform(root: Path) -> dict[str, Any]:
    return dict(yaml.safe_load((root / layout.PLATFORM_FILE).read_text(encoding="utf-8")))


def tenant_clouds(root: Path) -> dict[str, str]:
    """Tenant -> cloud, from every tenants/<name>/tenant.yaml."""
    out = {}
    for f in sorted((root / layout.TENANTS_DIR).glob(f"*/{layout.TENANT_FILE}")):
        out[f.parent.name] = str((yaml.safe_load(f.read_text(encoding="utf-8")) or {}).get("cloud", ""))
    return out


def up(root: Path, p: control_plane.Paths, say: Callable[[str], None], tenants: int = 0, port: int = 0) -> float:
    """Build what is missing, start the control plane, bootstrap it. Stops everything it
    started if any step fails. Returns the seconds `up` took after the build."""
    bins = components.ensure_built(root, say)
    started = time.monotonic()
    clouds = tenant_clouds(root)
    try:
        control_plane.create(root, bins, p, say, port)
        bootstrap.prepare(root, bins, p, platform(root), sorted(set(clouds.values())), tenants or len(clouds), say)
    except BaseException:
        control_plane.delete(bins, p)
        raise
    return time.monotonic() - started


def down(root: Path, p: control_plane.Paths) -> list[str]:
    return control_plane.delete(components.bin_dir(root), p)


@contextmanager
def running(root: Path, p: control_plane.Paths, say: Callable[[str], None], tenants: int = 0) -> Iterator[float]:
    seconds = up(root, p, say, tenants)
    try:
        yield seconds
    finally:
        down(root, p)
