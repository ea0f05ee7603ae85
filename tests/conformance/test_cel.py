"""The Kubernetes CEL library functions registered into cel-python (render/conformance/cel.py),
each against the behaviour of the API server's library (cel-go ext.Strings)."""

from __future__ import annotations

import pytest

from tests.support import need

cel = need("render.conformance.cel")  # cel-python
CelError, evaluate = cel.CelError, cel.evaluate


@pytest.mark.parametrize("expr, expected", [
    ("['a', 'b', 'c'].join(', ')", "a, b, c"),
    ("['a', 'b'].join()", "ab"),
    ("[].join('-')", ""),
    ("'AbC-Ä'.lowerAscii()", "abc-Ä"),
    ("'tenant-acme'.indexOf('-')", 6),
    ("'tenant'.indexOf('x')", -1),
    ("'sha256:abc'.substring(7)", "abc"),
    ("'tenant-acme'.substring(0, 6)", "tenant"),
    ("'abc'.substring(3)", ""),
    ("'a b'.split(' ')", ["a", "b"]),
    ("'a'.split(' ')", ["a"]),
    ("''.split(' ')", [""]),
    ("'ab'.split('')", ["a", "b"]),
])
def test_kubernetes_string_functions(expr: str, expected: object) -> None:
    assert evaluate(expr, {}) == expected


@pytest.mark.parametrize("expr", ["'abc'.substring(4)", "'abc'.substring(-1)", "'abc'.substring(2, 1)"])
def test_substring_out_of_range_is_an_error_not_a_clamp(expr: str) -> None:
    """cel-go errors where Python's slicing would quietly clamp: a policy must not admit on it."""
    with pytest.raises(CelError):
        evaluate(expr, {})


def test_join_refuses_a_list_that_is_not_of_strings() -> None:
    with pytest.raises(CelError):
        evaluate("[1, 2].join(',')", {})


def test_standard_cel_used_by_the_policies() -> None:
    obj = {"spec": {"a": 1}, "metadata": {}}
    assert evaluate("has(o.metadata.labels) ? o.metadata.labels : {}", {"o": obj}) == {}
    assert evaluate("o.spec.all(k, k in ['a'])", {"o": obj}) is True
    assert evaluate("'x.y'.matches('^x[.]y$') && !'xzy'.matches('^x[.]y$')", {}) is True
    assert evaluate("[1, 2].filter(x, x > 1).map(x, x * 10)", {}) == [20]


def test_an_error_is_reported_not_raised_as_a_traceback() -> None:
    with pytest.raises(CelError):
        evaluate("o.missing == 1", {"o": {}})
    with pytest.raises(CelError):
        evaluate("1 +", {})
