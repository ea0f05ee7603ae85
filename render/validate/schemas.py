"""JSON Schema checks of input files, with problems a tenant can act on.

The schemas in render/schemas/ are the same files editors use through each input file's
`yaml-language-server` line. A schema error becomes a Problem at the offending line with a
hint: the closest known key, the allowed range, where a misplaced key belongs.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import jsonschema

from render.load import Document
from render.problems import Problem, did_you_mean

# A whole number is an int, never 1.0 (JSON Schema would accept it) nor true.
_TYPES = jsonschema.Draft202012Validator.TYPE_CHECKER.redefine(
    "integer", lambda _checker, v: isinstance(v, int) and not isinstance(v, bool))
_Validator = jsonschema.validators.extend(  # type: ignore[no-untyped-call]  # jsonschema leaves extend() untyped
    jsonschema.Draft202012Validator, type_checker=_TYPES)


@cache
def schema(name: str) -> dict[str, Any]:
    text = resources.files("render").joinpath(f"schemas/{name}.schema.json").read_text(encoding="utf-8")
    return dict(json.loads(text))


@cache
def tree(name: str) -> dict[str, Any]:
    """The schema as one tree, each `$ref` replaced by what it names: for walking by path."""
    return dict(inline_refs(schema(name), schema(name)))


@cache
def _validator(name: str) -> Any:
    return _Validator(schema(name), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def check_schema(doc: Document, name: str) -> list[Problem]:
    problems = []
    for error in _validator(name).iter_errors(doc.data):
        problems.extend(_schema_problem(doc, error, name))
    return problems


def _subschema(error: jsonschema.ValidationError) -> dict[str, Any]:
    """The (sub)schema that failed; our schemas use only mapping schemas, never true/false."""
    return error.schema if isinstance(error.schema, dict) else {}


def _schema_problem(doc: Document, error: jsonschema.ValidationError, name: str) -> list[Problem]:
    path = tuple(error.absolute_path)
    expected: Any = error.validator_value
    field = str(path[-1]) if path else "the file"
    if path and isinstance(path[-1], int):  # a list item: name the list, not the index
        field = f"entry of {path[-2]}" if len(path) > 1 else "entry"
    v = error.validator
    if v == "additionalProperties" and isinstance(error.instance, dict):
        allowed = list(_subschema(error).get("properties", {}))
        noun = "worker group" if path == ("cluster",) else "key"
        return [doc.problem(path + (k,), f"unknown {noun} {k!r}", _unknown_key_hint(k, allowed, name))
                for k in error.instance if k not in allowed]
    if v == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return [doc.problem(path, f"missing required key {missing!r}", _describe(_subschema(error), missing))]
    if v == "enum":
        options = ", ".join(str(o) for o in expected)
        close = did_you_mean(str(error.instance), [str(o) for o in expected], "values")
        return [doc.problem(path, f"{_show(error.instance)} is not one of: {options}", close, at_value=True)]
    if v == "type":
        return [doc.problem(path, f"expected {_types(error.validator_value)}, got {_show(error.instance)}",
                            _type_hint(path, error), at_value=True)]
    if v == "uniqueItems" and isinstance(error.instance, list):
        seen: dict[str, int] = {}
        out = []
        for i, item in enumerate(error.instance):
            key = json.dumps(item, sort_keys=True)
            if key in seen:
                out.append(doc.problem(path + (i,), f"{_show(item)} is listed twice",
                                       f"it is already listed on line {doc.mark(path + (seen[key],))[0]}; keep one",
                                       at_value=True))
            seen.setdefault(key, i)
        return out
    if v in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        return [doc.problem(path, f"{field} {_show(error.instance)} {_bound_words(v, error.validator_value)}",
                            _bound_hint(field, v, error.validator_value), at_value=True)]
    if v in ("pattern", "minLength", "maxLength", "propertyNames"):
        return [doc.problem(path, f"{_show(error.instance)} is not a valid {field}", _describe_schema(_subschema(error)),
                            at_value=True)]
    return [doc.problem(path, error.message, "", at_value=True)]


def _bound_words(v: str, bound: Any) -> str:
    return {"minimum": f"is below the minimum of {bound}", "maximum": f"is above the maximum of {bound}",
            "exclusiveMinimum": f"must be more than {bound}", "exclusiveMaximum": f"must be less than {bound}"}[v]


def _bound_hint(field: str, v: str, bound: Any) -> str:
    if field == "max_replicas" and v == "minimum":
        return "an extractor needs at least one replica; to turn it off, list it under `disabled`"
    if v in ("maximum", "exclusiveMaximum"):
        return f"use a value up to {bound}; larger is almost surely a typo"
    return f"use a value of at least {bound}" if v == "minimum" else f"use a value above {bound}"


def _type_hint(path: tuple[Any, ...], error: jsonschema.ValidationError) -> str:
    value, expected = error.instance, error.validator_value
    if path[:1] == ("env",) and len(path) == 2:
        if isinstance(value, bool):
            return "quote the value as you wrote it: YAML reads unquoted yes/no/on/off/true/false as booleans"
        if value is None:
            return f'write {path[1]}: "" for an empty value'
        return f'quote it: {path[1]}: "{value}"'
    if value is None and expected in ("object", "array"):
        return "indent the entries under this key, or remove the key"
    if expected == "integer" and isinstance(value, float):
        return f"write a whole number, e.g. {round(value)}"
    if expected == "integer" and isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return f"remove the quotes: {value.strip()}"
    return _describe_schema(_subschema(error))


def _describe(schema_: dict[str, Any], key: str) -> str:
    sub = schema_.get("properties", {}).get(key, {})
    return _describe_schema(sub) or "add the missing key"


def _describe_schema(sub: dict[str, Any]) -> str:
    return str(sub.get("description", ""))


def _unknown_key_hint(key: str, allowed: list[str], name: str) -> str:
    close = did_you_mean(key, allowed)
    if close.startswith("did you mean"):
        return close
    homes = _homes(tree(name), key)
    if homes:
        return f"{key} belongs under {' or '.join(homes)}"
    return close


def inline_refs(node: Any, top: dict[str, Any]) -> Any:
    """`node` with each local `$ref` ("#/$defs/<name>" of `top`) replaced by what it names,
    its own keywords (a description) kept: the schema as one tree, without `$defs`."""
    if isinstance(node, list):
        return [inline_refs(v, top) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: inline_refs(v, top) for k, v in node.items() if k not in ("$ref", "$defs")}
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        out = {**inline_refs(top["$defs"][ref.removeprefix("#/$defs/")], top), **out}
    return out


def _homes(node: dict[str, Any], key: str, prefix: str = "") -> list[str]:
    """Where `key` is a valid property in a schema, as dotted paths ('overrides.<extractor>')."""
    out = []
    props = node.get("properties", {}) if isinstance(node, dict) else {}
    if key in props and prefix:
        # The worker groups share one shape: name the shape, not each group.
        out.append("cluster.<group>" if prefix.startswith("cluster.") else prefix)
    for k, sub in props.items():
        out += _homes(sub, key, f"{prefix}.{k}" if prefix else k)
    extra = node.get("additionalProperties") if isinstance(node, dict) else None
    if isinstance(extra, dict) and prefix:
        out += _homes(extra, key, f"{prefix}.<{'extractor' if prefix == 'overrides' else 'name'}>")
    return sorted(set(out))[:3]


def _types(value: Any) -> str:
    names = value if isinstance(value, list) else [value]
    words = {"integer": "a whole number", "number": "a number", "string": "a string", "boolean": "true or false",
             "object": "a mapping", "array": "a list", "null": "nothing"}
    return " or ".join(words.get(str(n), str(n)) for n in names)


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "nothing (null)"
    if isinstance(value, str):
        return json.dumps(value if len(value) <= 60 else value[:57] + "...", ensure_ascii=False)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return str(value)
