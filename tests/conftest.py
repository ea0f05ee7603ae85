"""Shared fixtures (a real redis-server on 127.0.0.1, a render cache per test) and the
hypothesis profiles; helpers live in tests/support.py."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.processes import redis_server, wait_redis
from tests.support import required

# hypothesis: a few examples a property locally, the thorough profile in CI (CI=true or
# DATAPLANE_REQUIRE_ALL=1); HYPOTHESIS_PROFILE=dev|ci picks one. A test whose examples are
# costly caps the count with tests.hyp.at_most. No deadline: a busy machine is not a bug.
try:
    from hypothesis import settings as _hypothesis
except ImportError:  # optional locally: the property tests skip (tests/hyp.py)
    pass
else:
    _hypothesis.register_profile("dev", max_examples=10, deadline=None)
    _hypothesis.register_profile("ci", max_examples=300, deadline=None, print_blob=True)
    _hypothesis.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if required() else "dev"))


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server for this session (see `redis_server`)."""
    with redis_server(tmp_path_factory.mktemp("redis")) as (port, process):
        wait_redis(port, process)
        yield f"redis://127.0.0.1:{port}"


# What GitHub Actions sets about the run: the authority checks read them (render/workflows/
# authority.py), so a suite run under Actions must not inherit the CI run's own.
RUN_VARIABLES = ("GITHUB_ACTIONS", "GITHUB_EVENT_NAME", "GITHUB_REF", "GITHUB_ACTOR", "GITHUB_TRIGGERING_ACTOR",
                 "DATAPLANE_TEAMS_TOKEN")


@pytest.fixture(autouse=True)
def _outside_a_workflow_run(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in RUN_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def _own_render_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test renders with a cache of its own, outside any repository it makes (the
    engine refuses a cache inside the checkout), so tests never share cache entries."""
    if "DATAPLANE_CACHE_DIR" not in os.environ:
        monkeypatch.setenv("DATAPLANE_CACHE_DIR", str(tmp_path_factory.mktemp("render-cache")))
