"""Where a tenant's data lives: `cluster`, `region` and `database.mode` of tenant.yaml.

Changing one points the tenant at an empty datastore and leaves the old volume running,
untracked. They change only through the migration flow (docs/migration.md,
render/migration.py) in the commit that starts a copy from the shared platform (a tenant
routed `shared`), or through the states of the move flow (render/move/record.py,
`dataplane move`), which copy before the engine moves. Pure.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from render import migration
from render.load import Document
from render.move import record
from render.problems import Problem


def starts_copy(before: dict[str, Any], after: dict[str, Any]) -> bool:
    """True for the commit that starts a copy from where the data is now: the shared
    platform (the copy Jobs' source), for a tenant routed there."""
    if migration.state_of(after) != "copying" or migration.routing_of(before) != "shared":
        return False
    attempt = after["migration"].get("attempt")
    return not (migration.state_of(before) == "copying" and before["migration"].get("attempt") == attempt)


def moves(name: str, before: dict[str, Any] | None, after: Document, today: dt.date) -> list[Problem]:
    """Problems of `name`'s tenant.yaml moving its data outside the migration or move flows."""
    data = after.data if isinstance(after.data, dict) else {}
    if before is None or starts_copy(before, data):
        return []
    return record.transition(name, before, after, today)
