"""A diagnosis result, and the ready-to-paste overrides.yaml snippets findings carry."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import yaml

from render import quantity

SEVERITIES = ("error", "warning", "info")
# Memory suggested after an OOM kill: 1.5x the limit that was hit, in whole GiB.
OOM_GROWTH = Decimal("1.5")


@dataclass(frozen=True)
class Finding:
    severity: str  # error | warning | info
    subject: str  # what it is about: "pod engine-...-gpu-workers-worker-x2k9f", "extractor image_extractor_v1"
    problem: str
    details: tuple[str, ...] = ()
    fix: str = ""
    overrides: str = ""  # YAML to merge into tenants/<name>/overrides.yaml
    command: str = ""  # a dataplane or kubectl command to run now

    def sort_key(self) -> tuple[int, str, str]:
        return (SEVERITIES.index(self.severity), self.subject, self.problem)


def snippet(data: dict[str, Any]) -> str:
    """YAML exactly as a tenant would write it in overrides.yaml."""
    return str(yaml.safe_dump(data, sort_keys=False, default_flow_style=False))


def more_memory(limit: Any, node_memory: Decimal | None = None) -> str:
    """The memory to ask for after an OOM kill at `limit` (a quantity or a byte count),
    never more than one node of the pod's pool holds (render/capacity.py's node model)."""
    current = quantity.parse(limit if isinstance(limit, (int, float, str)) else str(limit))
    gib = math.ceil(current * OOM_GROWTH / quantity.GI)
    if node_memory is not None:
        gib = min(gib, int(node_memory // quantity.GI))
    return f"{max(gib, 1)}Gi"


def memory_override(role: str, new_memory: str) -> dict[str, Any] | None:
    """Where a pod role's memory lives in overrides.yaml (None: platform-owned)."""
    if role == "head":
        return {"head": {"memory": new_memory}}
    if role.endswith("-workers"):
        return {"cluster": {role: {"memory": new_memory}}}
    return None
