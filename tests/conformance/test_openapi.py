"""A CRD's structural schema becomes a JSON Schema that fails where the API server prunes."""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
import pytest

from render.conformance.openapi import to_json_schema


def valid(schema: dict[str, Any], instance: Any) -> bool:
    return jsonschema.Draft4Validator(to_json_schema(schema, root=False)).is_valid(instance)


OBJ = {"type": "object", "properties": {"a": {"type": "string"}}}


def test_declared_properties_close_the_object() -> None:
    assert valid(OBJ, {"a": "x"})
    assert not valid(OBJ, {"a": "x", "b": 1})


def test_nested_objects_and_array_items_are_closed_too() -> None:
    schema = {"type": "object", "properties": {"list": {"type": "array", "items": OBJ}, "inner": OBJ}}
    assert valid(schema, {"list": [{"a": "x"}], "inner": {"a": "y"}})
    assert not valid(schema, {"list": [{"a": "x", "typo": 1}]})
    assert not valid(schema, {"inner": {"typo": 1}})


def test_a_bare_object_keeps_nothing() -> None:
    assert valid({"type": "object"}, {})
    assert not valid({"type": "object"}, {"x": 1})


def test_preserve_unknown_fields_keeps_undeclared_fields() -> None:
    schema = {**OBJ, "x-kubernetes-preserve-unknown-fields": True}
    assert valid(schema, {"a": "x", "anything": {"goes": 1}})
    assert not valid(schema, {"a": 1})


def test_a_map_schema_checks_values_not_keys() -> None:
    schema = {"type": "object", "additionalProperties": {"type": "string"}}
    assert valid(schema, {"any-key": "v"})
    assert not valid(schema, {"any-key": 3})


@pytest.mark.parametrize("value, ok", [(3, True), ("50%", True), (1.5, False), (True, False), (None, False)])
def test_int_or_string(value: Any, ok: bool) -> None:
    schema = {"type": "object", "properties": {"port": {"x-kubernetes-int-or-string": True,
                                                        "anyOf": [{"type": "integer"}, {"type": "string"}]}}}
    assert valid(schema, {"port": value}) is ok


def test_nullable_allows_null_and_only_then() -> None:
    plain = {"type": "object", "properties": {"n": {"type": "string"}}}
    nullable = {"type": "object", "properties": {"n": {"type": "string", "nullable": True}}}
    assert not valid(plain, {"n": None})
    assert valid(nullable, {"n": None}) and valid(nullable, {"n": "x"}) and not valid(nullable, {"n": 1})


def test_nullable_enum_allows_null() -> None:
    schema = {"type": "object", "properties": {"e": {"type": "string", "enum": ["a"], "nullable": True}}}
    assert valid(schema, {"e": None}) and valid(schema, {"e": "a"}) and not valid(schema, {"e": "b"})


def test_an_embedded_resource_implies_apiversion_kind_and_metadata() -> None:
    schema = {"type": "object", "properties": {"template": {
        "type": "object", "x-kubernetes-embedded-resource": True, "properties": {"spec": {"type": "object",
                                                                                          "x-kubernetes-preserve-unknown-fields": True}}}}}
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"a": "b"}}, "spec": {"x": 1}}
    assert valid(schema, {"template": pod})
    assert not valid(schema, {"template": {**pod, "typo": 1}})


def test_value_branches_are_not_closed() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer"}},
              "anyOf": [{"properties": {"a": {"type": "string"}}, "required": ["a"]}, {"required": ["b"]}]}
    assert valid(schema, {"a": "x", "b": 1})
    assert not valid(schema, {})


def test_root_metadata_is_left_to_the_objectmeta_check() -> None:
    schema = {"type": "object", "properties": {"metadata": {"type": "object"}, "spec": OBJ}}
    converted = to_json_schema(schema)
    assert jsonschema.Draft4Validator(converted).is_valid({"metadata": {"name": "x"}, "spec": {"a": "y"}})


def test_the_input_schema_is_not_changed() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "string", "nullable": True}, "o": OBJ}}
    before = copy.deepcopy(schema)
    to_json_schema(schema)
    assert schema == before
