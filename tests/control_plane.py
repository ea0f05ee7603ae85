"""The real control plane of a cluster-tier module (render/cluster/): the dependencies it
needs checked, started for the module, stopped by pid at the end whatever happened."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from render.cluster import bootstrap, control_plane, session
from tests.support import ROOT, need, need_binary


@contextmanager
def running(root: Path, folder: Path, tenants: int = 0) -> Iterator[tuple[control_plane.Paths, float]]:
    """The control plane for `root`'s tenants (`tenants`: a fleet's size, for the nodes),
    with the seconds `up` took after the build."""
    need("kubernetes")
    need("lupa.lua51")
    need_binary("go", "install Go (the Go module proxy builds the control plane)")
    if not bootstrap.crds_dir(ROOT).is_dir():
        pytest.skip("no upstream CRDs (DATAPLANE_CRDS)")
    p = control_plane.paths(folder)
    try:
        yield p, session.up(root, p, lambda _: None, tenants)
    finally:
        session.down(root, p)
        assert not control_plane.running_pids(p), "every process is stopped by its pid"
