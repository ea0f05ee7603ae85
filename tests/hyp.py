"""hypothesis for the property tests: importing this skips the importing test module when
hypothesis is not installed, and fails it under CI (tests/support.py `need`). The profiles
(fast locally, thorough in CI) are registered in tests/conftest.py."""

from __future__ import annotations

from tests.support import need

need("hypothesis")

from hypothesis import HealthCheck, assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

__all__ = ["HealthCheck", "assume", "at_most", "given", "settings", "st"]


def at_most(n: int) -> int:
    """The profile's number of examples, capped at `n` for a test whose every example is
    costly (a render or a CLI run): `n` in CI, the fast profile's few locally."""
    return min(n, settings.default.max_examples)
