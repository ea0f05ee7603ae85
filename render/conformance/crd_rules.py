"""The `x-kubernetes-validations` CEL rules of a CRD's schema, evaluated over a custom
resource as the API server does on create: each rule with `self` bound to the value at the
schema node that carries it. Transition rules (those naming `oldSelf`) apply to updates
only and are left out. The CEL engine (render.conformance.cel) is imported on first use."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from render.problems import Problem

Path_ = tuple[str | int, ...]


def rules_at(schema: Any, value: Any, path: Path_ = ()) -> Iterator[tuple[Path_, Any, dict[str, Any]]]:
    """(path, value, rule) of every rule whose schema node has a value in the object."""
    if not isinstance(schema, dict):
        return
    for rule in schema.get("x-kubernetes-validations") or []:
        yield path, value, rule
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        for key, sub in value.items():
            node = props.get(key, extra if isinstance(extra, dict) else None)
            yield from rules_at(node, sub, path + (key,))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from rules_at(schema.get("items"), item, path + (i,))


def check(m: Any, schema: dict[str, Any], source: str) -> list[Problem]:
    """Problems of manifest `m` against the CEL rules of its CRD version's schema."""
    from render.conformance.cel import CelError, evaluate

    out = []
    for path, value, rule in rules_at(schema, m.obj):
        expr = rule.get("rule", "")
        if "oldSelf" in expr:
            continue
        try:
            ok = evaluate(expr, {"self": value}) is True
        except CelError as e:
            out.append(m.problem(path, f"x-kubernetes-validations rule {expr!r} could not be evaluated: {e}", source))
            continue
        if not ok:
            out.append(m.problem(path, rule.get("message") or f"failed rule: {expr}", f"x-kubernetes-validations in {source}"))
    return out
