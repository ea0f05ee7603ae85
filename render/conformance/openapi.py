"""A CRD's structural openAPIV3Schema -> a JSON Schema that fails where the API server prunes.

The API server silently drops fields its structural schema does not declare; for a
renderer that is a bug, so an undeclared field becomes a validation error here:
`additionalProperties: false` is added wherever a schema gives `properties` (or is a
bare object) without `additionalProperties` or `x-kubernetes-preserve-unknown-fields`.
The Kubernetes extensions are turned into the JSON Schema they mean:

- `x-kubernetes-int-or-string`: an integer or a string;
- `nullable`: `null` is allowed too;
- `x-kubernetes-preserve-unknown-fields`: undeclared fields are kept, so allowed;
- `x-kubernetes-embedded-resource`: apiVersion, kind and metadata are implied.

Only the structural part (properties, items, additionalProperties) is made closed;
allOf/anyOf/oneOf/not branches only validate values, as in Kubernetes.
"""

from __future__ import annotations

from typing import Any

_CHILD_MAPS = ("properties", "patternProperties", "definitions")
_VALUE_BRANCHES = ("allOf", "anyOf", "oneOf")
_EMBEDDED = {"apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"}}


def to_json_schema(schema: dict[str, Any], *, root: bool = True) -> dict[str, Any]:
    """A new JSON Schema (draft 4 keywords) equivalent to `schema`, closed where Kubernetes prunes."""
    converted: dict[str, Any] = _convert(schema, structural=True, root=root)
    return converted


def _convert(node: Any, *, structural: bool, root: bool = False) -> Any:
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key.startswith("x-kubernetes-") or key in ("nullable", "description", "example", "externalDocs"):
            continue
        if key in _CHILD_MAPS and isinstance(value, dict):
            out[key] = {k: _convert(v, structural=structural) for k, v in value.items()}
        elif key == "items":
            out[key] = [_convert(v, structural=structural) for v in value] if isinstance(value, list) \
                else _convert(value, structural=structural)
        elif key == "additionalProperties":
            out[key] = _convert(value, structural=structural) if isinstance(value, dict) else value
        elif key in _VALUE_BRANCHES:
            out[key] = [_convert(v, structural=False) for v in value]
        elif key == "not":
            out[key] = _convert(value, structural=False)
        else:
            out[key] = value
    if node.get("x-kubernetes-int-or-string"):
        out["type"] = ["integer", "string"]
    if node.get("x-kubernetes-embedded-resource"):
        # The API server checks an embedded object's metadata itself; kind and apiVersion are implied.
        out["properties"] = {**_EMBEDDED, **out.get("properties", {}), "metadata": {"type": "object"}}
    if node.get("nullable"):
        _allow_null(out)
    if structural and _closes(node, out):
        out["additionalProperties"] = False
    if root:
        # The API server checks metadata itself (ObjectMeta); see crds.py.
        out.setdefault("properties", {})["metadata"] = {"type": "object"}
    return out


def _closes(node: dict[str, Any], out: dict[str, Any]) -> bool:
    """True where the API server would prune undeclared fields."""
    if node.get("x-kubernetes-preserve-unknown-fields") or "additionalProperties" in node:
        return False
    return "properties" in out or node.get("type") == "object"


def _allow_null(out: dict[str, Any]) -> None:
    kind = out.get("type")
    if isinstance(kind, str):
        out["type"] = [kind, "null"]
    if "enum" in out and None not in out["enum"]:
        out["enum"] = [*out["enum"], None]
    if "anyOf" in out:
        out["anyOf"] = [*out["anyOf"], {"type": "null"}]
