"""fastyaml gives exactly PyYAML's results: the same objects from the same text, the same
text from the same objects."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from render import fastyaml
from tests.hyp import given, st

OPTIONS = {"sort_keys": False, "default_flow_style": False, "allow_unicode": True, "width": 4096, "explicit_start": True}

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
    st.text(max_size=20),
    st.sampled_from(["yes", "no", "on", "off", "~", "null", "1e3", "0x1F", "0o17", "2001-12-14", "1_000",
                     ".inf", "-.inf", ".nan", "<<", "=", "- a", "a: b", "#x", "'q'", '"q"', "a\nb", "a\nb ",
                     "multi\nline\n", " lead", "trail ", "", "123", "1.5", "true", "False", "@x", "`x", "%x"]),
)
plain = st.recursive(scalars, lambda children: st.one_of(
    st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)), max_leaves=25)


class _Reference(yaml.CSafeDumper):  # type: ignore[misc]
    """What emit wrote before fastyaml: CSafeDumper with multi-line strings as literal blocks."""


_Reference.add_representer(str, lambda d, v: d.represent_scalar(
    "tag:yaml.org,2002:str", v, style="|" if "\n" in v and not v.endswith(" ") else None))


@given(plain)
def test_dump_matches_pyyaml(data: Any) -> None:
    assert fastyaml.dump(data, **OPTIONS) == yaml.dump(data, Dumper=yaml.CSafeDumper, **OPTIONS)
    assert fastyaml.dump(data, literal_blocks=True, **OPTIONS) == yaml.dump(data, Dumper=_Reference, **OPTIONS)
    assert fastyaml.dump(data) == yaml.dump(data, Dumper=yaml.CSafeDumper)  # sort_keys, flow styles


@given(plain)
def test_load_matches_pyyaml(data: Any) -> None:
    for text in (yaml.dump(data, Dumper=yaml.CSafeDumper), yaml.dump(data, Dumper=yaml.CSafeDumper, default_flow_style=None)):
        assert list(fastyaml.load_all(text)) == list(yaml.load_all(text, Loader=yaml.CSafeLoader))


def test_load_handles_what_templates_never_write_like_pyyaml() -> None:
    text = """\
---
base: &b {x: 1, y: [1, 2]}
merged: {<<: *b, z: 3}
again: *b
when: 2001-12-14
1.5: float key
---
- plain
- 0o17
---
"""
    fast = list(fastyaml.load_all(text))
    assert fast == list(yaml.load_all(text, Loader=yaml.CSafeLoader))
    assert fast[0]["again"] is fast[0]["base"]  # an alias is one shared object, as in PyYAML
    for loader in (lambda t: list(fastyaml.load_all(t)), lambda t: list(yaml.load_all(t, Loader=yaml.CSafeLoader))):
        with pytest.raises(yaml.constructor.ConstructorError, match="unhashable key"):
            loader("? [complex, key]\n: value\n")


def test_dump_handles_shared_objects_and_other_types_like_pyyaml() -> None:
    shared = {"a": 1}
    data = {"one": shared, "two": shared, "tuple": (1, 2), "bytes": b"x"}
    assert fastyaml.dump(data, **OPTIONS) == yaml.dump(data, Dumper=yaml.CSafeDumper, **OPTIONS)
