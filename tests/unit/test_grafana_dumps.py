"""grafana.dumps writes exactly json.dumps(..., indent=2, sort_keys=True, ensure_ascii=False):
the dashboards' ConfigMaps must not change by a byte."""

from __future__ import annotations

import json
from typing import Any

from render.monitoring import grafana
from tests.hyp import given, st

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=12))
keys = st.one_of(st.text(max_size=6), st.integers(), st.booleans(), st.none())
data = st.recursive(scalars, lambda children: st.one_of(
    st.lists(children, max_size=4), st.tuples(children, children), st.dictionaries(keys, children, max_size=4)),
    max_leaves=30)


def _reference(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


@given(data)
def test_dumps_writes_what_json_dumps_writes(value: Any) -> None:
    try:
        expected = _reference(value)
    except TypeError:  # keys of mixed types do not sort: json.dumps refuses them too
        return
    assert grafana.dumps(value) == expected


def test_dumps_of_nested_containers_and_escapes() -> None:
    value = {"b": [1, 2.5, [], {}, None, True, False], "a": {"é\"\n\x01": "<&>", "z": [{"k": -0.0}]}, "c": 1e300}
    text = grafana.dumps(value)
    assert text == _reference(value)
    assert text.startswith('{\n  "a": {\n    "z": [\n      {\n        "k": -0.0\n') and text.endswith("\n}\n")
