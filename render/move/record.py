"""tenant.yaml `move`: the states, what each requires, and the legal transitions. Pure.

    move:
      state: prepare | copy | cutover | retire
      attempt: 1                      # each copy after a failed one is a new attempt
      requested_on: "2026-12-07"      # with the attempt, names the bucket folder moves/<id>/
      from: {cluster: C, region: R, database: {mode: M}}
      to:   {cluster: C, region: R, database: {mode: M}}
      verified: {job: move-verify-<attempt>, at: ..., by: ...}   # from cutover on
      grace_until: "YYYY-MM-DD"                                  # from cutover on
      retire_approved_by: NAME                                   # for retire

The top-level `cluster`, `region` and `database.mode` are `from`'s until retire and
`to`'s from retire on, so the file alone shows where the tenant runs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from render.load import Document
from render.problems import Problem

STATES = ("prepare", "copy", "cutover", "retire")
KEYS: tuple[tuple[str, ...], ...] = (("cluster",), ("region",), ("database", "mode"))
COMMAND = "dataplane move"
# States whose old placement has its compute at zero (the write freeze, then the grace period).
FROZEN = ("copy", "cutover")
# Legal moves between two committed versions; None: no move recorded.
TRANSITIONS: dict[str | None, tuple[str | None, ...]] = {
    None: (None, "prepare"),
    "prepare": ("prepare", "copy", None),
    "copy": ("copy", "cutover", "prepare"),
    "cutover": ("cutover", "retire"),
    "retire": ("retire", None),
}
NEXT_COMMAND = {None: "prepare", "prepare": "copy", "copy": "cutover", "cutover": "retire", "retire": "finish"}


def get(data: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        data = data.get(part) if isinstance(data, dict) else None
    return data


def of(tenant: Mapping[str, Any] | None) -> dict[str, Any] | None:
    move = (tenant or {}).get("move")
    return move if isinstance(move, dict) else None


def state_of(tenant: Mapping[str, Any] | None) -> str | None:
    move = of(tenant)
    return str(move["state"]) if move and move.get("state") in STATES else None


def placement(tenant: dict[str, Any]) -> dict[str, Any]:
    """The tenant's top-level placement, in the shape of `move.from`/`move.to`."""
    return {"cluster": tenant.get("cluster"), "region": tenant.get("region"),
            "database": {"mode": get(tenant, ("database", "mode"))}}


def same(a: Any, b: Any) -> bool:
    return all(get(a, k) == get(b, k) for k in KEYS)


def move_id(move: dict[str, Any]) -> str:
    """The move's folder in the tenant's bucket: moves/<requested_on>-<attempt>/."""
    return f"{move['requested_on']}-{move['attempt']}"


def bucket_folder(move: dict[str, Any]) -> str:
    return f"moves/{move_id(move)}/"


def date_of(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return None


def verify_job(attempt: int) -> str:
    return f"move-verify-{attempt}"


def check(doc: Document, clusters: dict[str, Any]) -> list[Problem]:
    """Problems of one tenant.yaml's `move`, from the file alone (the schema passed)."""
    data = doc.data if isinstance(doc.data, dict) else {}
    move, state = of(data), state_of(data)
    if move is None or state is None:
        return []
    out = []
    for side in ("from", "to"):
        cluster = get(move, (side, "cluster"))
        declared = clusters.get(cluster) if isinstance(cluster, str) else None
        if not isinstance(declared, dict):
            out.append(doc.problem(("move", side, "cluster"), f"cluster {cluster!r} is not declared in registry/platform.yaml "
                                   "`clusters`", f"name a declared cluster: {', '.join(sorted(clusters))}", at_value=True))
            continue
        if declared.get("cloud") != data.get("cloud"):
            out.append(doc.problem(("move", side, "cluster"), f"cluster {cluster} runs on {declared.get('cloud')}, not on the "
                                   f"tenant's cloud {data.get('cloud')}", "a move stays on the tenant's cloud", at_value=True))
        if declared.get("region") != get(move, (side, "region")):
            out.append(doc.problem(("move", side, "region"), f"cluster {cluster} is in {declared.get('region')}, not "
                                   f"{get(move, (side, 'region'))}", f"set move.{side}.region: {declared.get('region')}",
                                   at_value=True))
    if same(move.get("from"), move.get("to")):
        out.append(doc.problem(("move", "to"), "move.to is the placement the tenant already has",
                               "a move changes cluster, region or database.mode; remove `move` to stay"))
    side = "to" if state == "retire" else "from"
    for key in KEYS:
        if get(data, key) != get(move, (side, *key)):
            name = ".".join(key)
            out.append(doc.problem(key, f"in move state {state} the tenant's {name} is move.{side}'s "
                                   f"({get(move, (side, *key))}), not {get(data, key)}",
                                   f"{name} changes only in the retire step: {COMMAND} retire {data.get('name')}",
                                   at_value=True))
    out += _evidence(doc, move, state)
    return out


def _evidence(doc: Document, move: dict[str, Any], state: str) -> list[Problem]:
    out = []
    late = STATES.index(state) >= STATES.index("cutover")
    for key, needed in (("verified", late), ("grace_until", late), ("retire_approved_by", state == "retire")):
        if needed and key not in move:
            out.append(doc.problem(("move", "state"), f"move state {state} needs move.{key} recorded",
                                   f"write it with {COMMAND} {NEXT_COMMAND[STATES[STATES.index(state) - 1]]} "
                                   f"{get(doc.data, ('name',))}"))
        if not needed and key in move:
            out.append(doc.problem(("move", key), f"move.{key} cannot be recorded in state {state}",
                                   "it is written by the step that needs it; remove it"))
    verified = move.get("verified")
    want = verify_job(int(move.get("attempt", 0)))
    if isinstance(verified, dict) and verified.get("job") != want:
        out.append(doc.problem(("move", "verified", "job"), f"evidence is from {verified.get('job')!r}, not from attempt "
                               f"{move.get('attempt')}'s Job {want!r}", "evidence must come from this attempt's Job",
                               at_value=True))
    return out


def transition(name: str, before: dict[str, Any] | None, after: Document, today: dt.date) -> list[Problem]:
    """Problems of the move from the base revision's tenant.yaml (`before`) to `after`:
    placement keys change only as the states' transitions, in order."""
    data = after.data if isinstance(after.data, dict) else {}
    if before is None:
        return []
    old, new = state_of(before), state_of(data)
    run = f"`{COMMAND} {NEXT_COMMAND[old]} {name}`"
    if new not in TRANSITIONS[old]:
        return [after.problem(("move", "state") if new else ("move",) if "move" in data else KEYS[0],
                              f"tenant {name}: move cannot go from {old or 'no move'} to {new or 'no move'}",
                              f"steps are taken in order, one a pull request: {run}")]
    out = []
    if old and new:
        for side in ("from", "to"):
            if not same(get(before, ("move", side)), get(data, ("move", side))):
                out.append(after.problem(("move", side), f"tenant {name}: move.{side} changes during the move",
                                         f"finish or abandon this move first ({run})"))
        bumped = (old, new) == ("copy", "prepare")
        if get(data, ("move", "attempt")) != get(before, ("move", "attempt")) + (1 if bumped else 0):
            out.append(after.problem(("move", "attempt"), f"tenant {name}: move.attempt must be "
                                     f"{get(before, ('move', 'attempt')) + (1 if bumped else 0)}",
                                     "only a copy taken again (copy -> prepare) starts a new attempt"))
    if new == "retire" and old == "cutover":
        grace = date_of(get(data, ("move", "grace_until"))) or dt.date.max
        if today < grace:
            out.append(after.problem(("move", "state"), f"tenant {name}: the old placement is kept until {grace}; "
                                     f"retiring it on {today} is refused", f"run {COMMAND} retire {name} on or after {grace}"))
    expected = _placement_after(before, old, new)
    for key in KEYS:
        if get(data, key) != get(expected, key):
            out.append(after.problem(key, f"tenant {name}: {'.'.join(key)} changes from {get(before, key)} to "
                                     f"{get(data, key)} outside the migration flow: the tenant would start on an empty "
                                     "datastore and its data stay behind on the old one",
                                     f"move data only through the migration flow, which copies first: {run} "
                                     "(docs/operations.md#moving-a-tenant)", at_value=True))
    return out


def _placement_after(before: dict[str, Any], old: str | None, new: str | None) -> dict[str, Any]:
    """The top-level placement the transition old -> new leaves: the target's from retire on."""
    if new == "retire" and old == "cutover":
        return dict(get(before, ("move", "to")))
    return placement(before)
