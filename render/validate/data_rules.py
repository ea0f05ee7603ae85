"""Rules that keep tenant data where it is: volumes never shrink (render/volumes.py).

Pure: platform.yaml in, Problems out.
"""

from __future__ import annotations

from typing import Any

from render import quantity, volumes
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
