"""Where a tenant's data lives: `cluster`, `region` and `database.mode` of tenant.yaml.

Changing one points the tenant at an empty datastore and leaves the old volume running,
untracked. They change only through the migration flow (docs/migration.md,
render/migration.py), whose first state copies the data: in the commit that starts a copy
(`migration.state: copying` with an attempt the base revision did not have) of a tenant
whose data is on the shared platform (routed `shared`), where the copy Jobs read it. A
tenant routed to its dedicated datastores has no copy Job that reads them yet, so its
placement does not change at all. Pure.
"""

from __future__ import annotations

from typing import Any

from render import migration
from render.load import Document
from render.problems import Problem

KEYS = (("cluster",), ("region",), ("database", "mode"))


def _get(data: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        data = data.get(part) if isinstance(data, dict) else None
    return data


def starts_copy(before: dict[str, Any], after: dict[str, Any]) -> bool:
    """True for the commit that starts a copy from where the data is now: the shared
    platform (the copy Jobs' source), for a tenant routed there."""
    if migration.state_of(after) != "copying" or migration.routing_of(before) != "shared":
        return False
    attempt = after["migration"].get("attempt")
    return not (migration.state_of(before) == "copying" and before["migration"].get("attempt") == attempt)


def moves(name: str, before: dict[str, Any] | None, after: Document) -> list[Problem]:
    """Problems of `name`'s tenant.yaml moving its data outside the migration flow."""
    data = after.data if isinstance(after.data, dict) else {}
    if before is None or starts_copy(before, data):
        return []
    out = []
    for path in KEYS:
        old, new = _get(before, path), _get(data, path)
        if old != new and old is not None:
            key = ".".join(path)
            out.append(after.problem(path, f"tenant {name}: {key} changes from {old} to {new} outside the migration "
                                           f"flow: the tenant would start on an empty datastore and its data stay "
                                           f"behind on the old one",
                                     f"move data only through the migration flow, which copies first: "
                                     f"`dataplane migration {name}` and docs/migration.md, \"Moving a tenant's "
                                     "data\" (a tenant routed shared moves in the commit that starts a copy, "
                                     "migration.state: copying)", at_value=True))
    return out
