"""jsonschema errors -> short messages that point at the offending key."""

from __future__ import annotations

import re
from typing import Any

Path_ = tuple[str | int, ...]


def describe(error: Any) -> list[tuple[Path_, str]]:
    """(path, message) pairs for one error: one per unknown field, else one."""
    path: Path_ = tuple(error.absolute_path)
    if error.validator == "additionalProperties" and error.validator_value is False and isinstance(error.instance, dict):
        extras = _extras(error.instance, error.schema)
        if extras:
            return [(path + (key,), "unknown field: the API server would reject or silently drop it") for key in extras]
    if error.validator in ("oneOf", "anyOf"):
        if "is valid under each of" in error.message:
            return [(path, f"{_short(error.instance)} matches more than one allowed form; exactly one is required")]
        return [(path, f"{_short(error.instance)} matches none of the allowed forms")]
    if len(error.message) > 200:
        return [(path, f"{_short(error.instance)}: fails {error.validator} {_short(error.validator_value)}")]
    return [(path, str(error.message))]


def _extras(instance: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    declared = schema.get("properties", {})
    patterns = [re.compile(p) for p in schema.get("patternProperties", {})]
    return sorted(k for k in instance if k not in declared and not any(p.search(k) for p in patterns))


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
