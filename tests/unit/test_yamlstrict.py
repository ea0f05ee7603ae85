"""Strict YAML: every way a document can be wrong is a Problem at the right place."""

from __future__ import annotations

import tracemalloc

import pytest

from render import yamlstrict
from render.problems import Problem, ProblemsError
from render.yamlstrict import parse_yaml


def problems_of(text: str, file: str = "f.yaml") -> list[Problem]:
    with pytest.raises(ProblemsError) as info:
        parse_yaml(text, file)
    return info.value.problems


def test_values_and_marks() -> None:
    doc = parse_yaml("a:\n  b: [1, x]\n  c: 2026-01-01\nd: ~\n", "f.yaml")
    assert doc.data == {"a": {"b": [1, "x"], "c": "2026-01-01"}, "d": None}
    assert doc.mark(("a", "b")) == (2, 3)
    assert doc.mark(("a", "b", 1)) == (2, 10)
    assert doc.mark(("a", "missing", "deeper")) == (1, 1)  # falls back to the nearest parent
    assert doc.problem(("a", "c"), "m", "h") == Problem("f.yaml", 3, 3, "a.c", "m", "h")


def test_non_string_scalar_keys_become_text() -> None:
    assert parse_yaml("1: a\ntrue: b\n", "f.yaml").data == {"1": "a", "true": "b"}


def test_syntax_error_has_line_and_column() -> None:
    assert problems_of("a: 1\nb: [1, 2\nc: 3\n") == [Problem(
        "f.yaml", 3, 2, "", "invalid YAML: did not find expected ',' or ']' (while parsing a flow sequence)",
        "check the brackets: every [ needs a ] and every { a }")]


def test_duplicate_key_names_the_first_line() -> None:
    assert problems_of("x: 1\ny:\n  z: 1\n  z: 2\n") == [Problem(
        "f.yaml", 4, 3, "y.z", "duplicate key 'z'", "it is already set on line 3; keep one")]


def test_every_duplicate_is_reported_in_one_pass() -> None:
    assert [p.line for p in problems_of("a: 1\na: 2\nb: 1\nb: 2\n")] == [2, 4]


def test_merge_keys_are_rejected() -> None:
    assert problems_of("base: &b {x: 1}\nother:\n  <<: *b\n") == [Problem(
        "f.yaml", 3, 3, "other", "merge keys (<<) are not supported",
        "write the keys out in full; merged values hide where a setting comes from")]


@pytest.mark.parametrize("text, tag", [
    ("a: !include x.yaml\n", "!include"),
    ("a: !!python/object:os.system {}\n", "tag:yaml.org,2002:python/object:os.system"),
    ("a: !!python/name:os.system\n", "tag:yaml.org,2002:python/name:os.system"),
    ("a: !!binary aGVsbG8=\n", "tag:yaml.org,2002:binary"),
    ("a: !!set {x, y}\n", "tag:yaml.org,2002:set"),
    ("a: !!omap [x: 1]\n", "tag:yaml.org,2002:omap"),
])
def test_language_specific_tags_are_rejected(text: str, tag: str) -> None:
    [problem] = problems_of(text)
    assert (problem.line, problem.pointer, problem.message) == (1, "a", f"YAML tag {tag!r} is not allowed")


def test_standard_tags_are_read() -> None:
    assert parse_yaml("a: !!str 5\nb: !!int '7'\n", "f.yaml").data == {"a": "5", "b": 7}


@pytest.mark.parametrize("text", ["a: !!int two\n", "a: !!bool maybe\n", "a: !!float x\n", "a: " + "9" * 5000 + "\n"])
def test_unreadable_tagged_scalars_are_problems(text: str) -> None:
    [problem] = problems_of(text)
    assert problem.pointer == "a" and "cannot be read as" in problem.message


@pytest.mark.parametrize("text", ["a: .inf\n", "a: -.inf\n", "a: .nan\n"])
def test_non_finite_numbers_are_rejected(text: str) -> None:
    [problem] = problems_of(text)
    assert problem.message.endswith("is not a finite number")


def test_alias_bomb_fails_fast_in_bounded_memory() -> None:
    # 10 ** 9 values once expanded; each level is one line.
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, 9)]
    tracemalloc.start()
    try:
        found = problems_of("\n".join(lines) + "\n")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [p.message for p in found] == [f"the document expands to more than {yamlstrict.MAX_VALUES} values once aliases are followed"]
    assert peak < 64 * 1024 * 1024


def test_self_referencing_alias_is_bounded() -> None:
    [problem] = problems_of("a: &x [*x]\n")
    assert problem.message == f"nesting deeper than {yamlstrict.MAX_DEPTH} levels (does an alias refer to itself?)"
    assert problem.pointer.endswith("...")


def test_deep_nesting_is_a_problem() -> None:
    [problem] = problems_of("[" * 5000 + "]" * 5000)
    assert problem.message.startswith("invalid YAML") or "nesting deeper" in problem.message


def test_one_document_per_file() -> None:
    assert problems_of("a: 1\n---\nb: 2\n") == [Problem(
        "f.yaml", 2, 1, "", "a file holds one YAML document, but a second one starts here",
        "remove the `---` line and merge the two parts")]


def test_tabs_get_a_hint() -> None:
    [problem] = problems_of("a:\n\tb: 1\n")
    assert (problem.line, problem.hint) == (2, "YAML indents with spaces, not tabs")


def test_control_characters_point_at_their_place() -> None:
    [problem] = problems_of("a: 1\nb: x\x07\n")
    assert (problem.line, problem.column) == (2, 5)


def test_complex_keys_are_rejected() -> None:
    [problem] = problems_of("? [a, b]\n: 1\n")
    assert problem.message == "keys must be plain strings"


@pytest.mark.parametrize("text, value", [("1:30", 90), ("010", 8), ("0x10", 16), ("1_000", 1000)])
def test_numbers_yaml_would_read_surprisingly(text: str, value: int) -> None:
    assert problems_of(f"a: {text}\n") == [Problem("f.yaml", 1, 4, "a", f"{text!r} is read by YAML as {value}",
                                                   f"write plain decimal ({value}), or quote it if you meant text")]


@pytest.mark.parametrize("text, value", [("0", 0), ("-3", -3), ("+2", 2), ("1.5", 1.5), (".5", 0.5),
                                         ("'010'", "010"), ("\"1:30\"", "1:30")])
def test_plain_decimal_numbers_and_quoted_text(text: str, value: object) -> None:
    assert parse_yaml(f"a: {text}\n", "f.yaml").data == {"a": value}


def test_scientific_notation_is_refused_as_yamllint_refuses_it() -> None:
    assert problems_of("a: 1.0e+3\n") == [Problem("f.yaml", 1, 4, "a", "'1.0e+3' is read by YAML as 1000.0",
                                                  "write plain decimal (1000.0), or quote it if you meant text")]


def test_value_marks_point_at_scalars() -> None:
    doc = parse_yaml("a:\n  b:   8GB\n  c: [x, 5]\n  d:\n    e: 1\n", "f.yaml")
    assert doc.problem(("a", "b"), "m", at_value=True).column == 8
    assert doc.problem(("a", "b"), "m").column == 3
    assert doc.problem(("a", "c", 1), "m", at_value=True).column == 10
    # A mapping has no scalar to point at: its key is used.
    assert (doc.problem(("a", "d"), "m", at_value=True).line, doc.problem(("a", "d"), "m", at_value=True).column) == (4, 3)
