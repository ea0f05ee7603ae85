"""Claims no two tenants may share: names taken from a space every tenant shares.

Each tenant claims its organization id, database, bucket and prefixes (queues, Redis keys,
vector collections); a value claimed twice, or a prefix that starts another tenant's, is a
problem at each claimant's line. Pure: documents in, problems out.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from render import layout
from render.load import Document
from render.problems import Problem

Path_ = tuple[str | int, ...]


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


Claim = tuple[str, str, Document, Path_]  # (what, value, where it is claimed, key path)


def claims(name: str, tenant: Document, platform: Document) -> list[Claim]:
    """Names one tenant takes from a space all tenants share."""
    data = _mapping(tenant.data)
    out: list[Claim] = []
    if isinstance(data.get("organization_id"), str):
        out.append(("organization id", data["organization_id"], tenant, ("organization_id",)))
    prefix = _mapping(_mapping(platform.data).get("control_plane")).get("bucket_prefix")
    derived: list[tuple[str, Callable[[str], str]]] = [("database", layout.database_name),
                                                      ("vector collection prefix", layout.vector_prefix)]
    if isinstance(prefix, str):
        derived.append(("bucket", lambda n: layout.bucket_name(prefix, n)))
    out += [(what, make(name), tenant, ("name",)) for what, make in derived]
    out += [(what, make(name), tenant, ("name",)) for what, make in PREFIXES.items()]
    return out


# Claims used as prefixes: besides being unique, none may be a prefix of another's.
PREFIXES: dict[str, Callable[[str], str]] = {"vector collection prefix": layout.vector_prefix,
                                             "queue prefix": layout.queue_prefix,
                                             "Redis key prefix": layout.redis_key_prefix}


def prefix_conflicts(all_claims: list[Claim]) -> list[Problem]:
    """A problem for every prefix claim that starts another tenant's claim of the same kind.
    Sorted values: a prefix sorts right before the values it starts, so neighbours suffice."""
    out = []
    for what in PREFIXES:
        group = sorted((c for c in all_claims if c[0] == what), key=lambda c: c[1])
        for shorter, longer in itertools.pairwise(group):
            if longer[1].startswith(shorter[1]) and longer[1] != shorter[1]:
                where = f"{shorter[2].file}:{shorter[2].mark(shorter[3])[0]}"
                out.append(longer[2].problem(longer[3], f"{what} {longer[1]!r} starts with {shorter[1]!r}, claimed by "
                                             f"{where}", "a prefix must not start another tenant's; rename one tenant",
                                             at_value=True))
    return out


def fleet_conflicts(all_claims: list[Claim]) -> list[Problem]:
    """One problem per claimant of a value more than one tenant claims, naming the others."""
    by_value: dict[tuple[str, str], list[Claim]] = {}
    for claim in all_claims:
        by_value.setdefault((claim[0], claim[1]), []).append(claim)
    out = []
    for (what, value), group in sorted(by_value.items()):
        if len({c[2].file for c in group}) < 2:
            continue
        for _, _, doc, path in group:
            others = ", ".join(f"{c[2].file}:{c[2].mark(c[3])[0]}" for c in group if c[2].file != doc.file)
            out.append(doc.problem(path, f"{what} {value!r} is also claimed by {others}",
                                   f"every tenant needs its own {what}", at_value=True))
    return out
