"""parse_simple, the fast path the peers' tenant.yaml are read by (render/load.py): the
Document parse_yaml returns (data, key order, marks), or None and parse_yaml reads the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.fleet import generate_fleet
from render.problems import ProblemsError
from render.yamlstrict import parse_simple, parse_yaml
from tests.hyp import given, st


def _same_as_strict(text: str) -> bool:
    """parse_simple(text) is None, or parse_yaml's Document: data, key order and marks alike."""
    fast = parse_simple(text, "f.yaml")
    if fast is None:
        return False
    strict = parse_yaml(text, "f.yaml")
    assert (fast.data, fast.marks, fast.value_marks) == (strict.data, strict.marks, strict.value_marks)
    assert repr(fast.data) == repr(strict.data)  # key order and types (1 is not 1.0 or True)
    return True


def test_parse_simple_reads_what_parse_yaml_reads() -> None:
    text = ("# a comment\nname: acme\ndisplay_name: Acme Corp\nport: 6333\nneg: -4\nratio: 0.5\non_off: true\n"
            "date: 2026-01-01\nquoted: '010'\nempty: ''\nnothing: ~\nurl: https://q.example:6333/x\n"
            "nested:\n  deeper:\n    leaf:   spaced value\n\n  # between\n  sibling: 1\nlast: x\n"
            "account: \"123456789012\"\nhash: \"a # b\"\nforks: [acme-corp/engine, 2, x.y]\nnone: []\n")
    assert _same_as_strict(text)


@pytest.mark.parametrize("text", [
    "a: 1\na: 2\n",                   # duplicate key: parse_yaml's problem
    "a: yes\n", "a: 1:30\n", "a: 010\n", "a: 0x1F\n", "a: .inf\n", "a: 1.0e+3\n",  # refused scalars
    "a:\nb: 1\n", "a:\n",             # a null written as nothing
    "a: x # comment\n", "a: {b: 1}\n", "a: &x 1\nb: *x\n", "a: !!str 1\n",
    "a: \"x\\ty\"\n", "a: [x,y]\n", "a: [ x ]\n", "a: [-]\n", "a: [yes]\n", "a: [x] # c\n", "a: \"x\" # c\n",
    "a: |\n  x\n", "- a\n", "---\na: 1\n", "a: 'it''s'\n", "a: x \n", "a:x\n", "a: x:\n", "a: b: c\n",
    "a:\tx\n", "a: x\r\n", "a: é\n", "\ufeffa: 1\n", "  a: 1\n", "a:\n  b: 1\n   c: 2\n", "a:\n  b: 1\n c: 2\n",
    "", "# only a comment\n", "<<: {a: 1}\n", "1: a\n",
    pytest.param("".join(f"k{i}: [a, b, c, d, e, f, g]\n" for i in range(9000)), id="more-values-than-MAX_VALUES"),
])
def test_parse_simple_leaves_everything_else_to_parse_yaml(text: str) -> None:
    assert parse_simple(text, "f.yaml") is None


_simple_keys = st.from_regex(r"[a-z_][a-z0-9_-]{0,6}", fullmatch=True)
_simple_values = st.one_of(
    st.from_regex(r"[A-Za-z0-9_./+~ :-]{1,12}", fullmatch=True),
    st.sampled_from(["yes", "No", "on", "OFF", "~", "null", "true", "False", "1e3", "0x1F", "1_000", "010", "1:30",
                     "-1", "-0", "+2", ".5", "2001-12-14", "2001-12-14 21:59:43.10", ".inf", "-.NaN", "a: b", "x:"]),
    st.from_regex(r"'[^'\n]{0,8}'", fullmatch=True),
    st.from_regex(r'"[^"\n]{0,8}"', fullmatch=True),
    st.lists(st.from_regex(r"[A-Za-z0-9_./+~-]{1,6}", fullmatch=True), max_size=3).map(lambda xs: f"[{', '.join(xs)}]"))
_simple_docs = st.recursive(
    st.dictionaries(_simple_keys, _simple_values, min_size=1, max_size=4),
    lambda children: st.dictionaries(_simple_keys, st.one_of(_simple_values, children), min_size=1, max_size=4),
    max_leaves=12)


def _lines(doc: dict[str, object], indent: int) -> list[str]:
    out = []
    for key, value in doc.items():
        if isinstance(value, dict):
            out += [f"{' ' * indent}{key}:", *_lines(value, indent + 2)]
        else:
            out.append(f"{' ' * indent}{key}: {value}")
    return out


@given(_simple_docs)
def test_parse_simple_agrees_with_parse_yaml_on_generated_documents(doc: dict[str, object]) -> None:
    text = "\n".join(_lines(doc, 0)) + "\n"
    try:
        parse_yaml(text, "f.yaml")
    except ProblemsError:
        assert parse_simple(text, "f.yaml") is None  # what parse_yaml refuses is never read fast
        return
    _same_as_strict(text)


def test_parse_simple_reads_every_generated_tenant_yaml(tmp_path: Path) -> None:
    names = generate_fleet(tmp_path, 30, seed=3)
    assert all(_same_as_strict((tmp_path / "tenants" / n / "tenant.yaml").read_text()) for n in names)
