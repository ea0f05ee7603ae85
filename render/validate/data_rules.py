"""Rules that keep tenant data where it is: volumes never shrink (render/volumes.py), and an
offboarding tenant's data is kept for the whole grace period (render/offboarding.py).

Pure: documents in, Problems out.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from render import offboarding, quantity, volumes
from render.load import Document
from render.problems import Problem

# Datastores whose volume size registry/platform.yaml sets.
SIZED = ("mongodb",)


def volume_problems(platform: Document) -> list[Problem]:
    """`storage` below `claim_template_storage` (a shrink), or either not a size."""
    out = []
    datastores: Any = platform.data.get("datastores") if isinstance(platform.data, dict) else None
    for name in SIZED:
        entry = datastores.get(name) if isinstance(datastores, dict) else None
        if not isinstance(entry, dict):
            continue
        bad = [key for key in ("storage", "claim_template_storage")
               if key in entry and not quantity.is_quantity(entry[key])]
        for key in bad:
            out.append(platform.problem(("datastores", name, key), f"{entry[key]!r} is not a Kubernetes quantity",
                                        'write a size such as "200Gi"', at_value=True))
        if bad or "claim_template_storage" not in entry or "storage" not in entry:
            continue
        if volumes.shrinks(entry["storage"], entry["claim_template_storage"]):
            out.append(platform.problem(
                ("datastores", name, "storage"),
                f"{entry['storage']} is smaller than the {entry['claim_template_storage']} every {name} volume was "
                "created with: a volume cannot shrink", "keep storage at least claim_template_storage; to use less disk, "
                "copy the data to a new, smaller volume (docs/operations.md, volumes)", at_value=True))
    return out


def lifecycle_problems(tenant: Document, platform: dict[str, Any]) -> list[Problem]:
    """An offboarding tenant keeps its data at least `offboarding.grace_days` after the request."""
    life = tenant.data.get("lifecycle") if isinstance(tenant.data, dict) else None
    days = (platform.get("offboarding") or {}).get("grace_days")
    if not isinstance(life, dict) or not isinstance(days, int):
        return []
    try:
        requested = dt.date.fromisoformat(str(life.get("requested_on")))
        grace = dt.date.fromisoformat(str(life.get("grace_until")))
    except ValueError:
        return []  # the schema reports the format
    earliest = offboarding.grace_until(requested, days)
    if grace < earliest:
        return [tenant.problem(("lifecycle", "grace_until"), f"the data must be kept until at least {earliest} "
                               f"({days} days after requested_on, registry/platform.yaml offboarding.grace_days)",
                               f"set grace_until: \"{earliest}\" or later", at_value=True)]
    return []
