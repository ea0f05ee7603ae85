"""Kubernetes quantities (render/quantity.py): every suffix, the grammar's edges, what the
module refuses on purpose, its canonical formatting and rounding, and agreement with the
`kubernetes` client's own parser wherever both accept a string."""

from __future__ import annotations

from decimal import Decimal

import pytest

from render import quantity
from tests.hyp import given, st
from tests.support import need

SUFFIXES = {
    "": 1, "m": Decimal("0.001"), "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
}


@pytest.mark.parametrize("suffix", list(SUFFIXES))
def test_every_suffix_multiplies_by_its_power(suffix: str) -> None:
    assert quantity.parse(f"3{suffix}") == 3 * Decimal(SUFFIXES[suffix])
    assert quantity.parse(f"1.5{suffix}") == Decimal("1.5") * Decimal(SUFFIXES[suffix])
    assert quantity.is_quantity(f"3{suffix}")


@pytest.mark.parametrize("text, value", [
    ("0", 0), ("+2", 2), (".5", Decimal("0.5")), ("1.", 1), ("0.25", Decimal("0.25")), ("500m", Decimal("0.5")),
    ("8Gi", 8 * 2**30), ("512Mi", 2**29), ("1.5Gi", 3 * 2**29), ("0.1m", Decimal("0.0001")),
    ("007", 7), ("100000000000000000000Ei", Decimal(10**20) * 2**60),
])
def test_the_grammars_edges(text: str, value: Decimal | int) -> None:
    assert quantity.parse(text) == value


@pytest.mark.parametrize("text", [
    "", " ", ".", "+", "m", "Gi", "1.2.3", "8GB", "8gi", "8 Gi", "1ki", "1KI", "0x10", "1_000", "\u0661", "∞",  # ARABIC-INDIC DIGIT ONE: a digit to str.isdigit, not to Kubernetes
    "-1", "-500m",  # a resource amount is never negative
    "1e3", "1E3", "2.5e-3", "1e",  # decimal exponents: Kubernetes reads them, this module refuses them on purpose
    "100n", "5u", "1K",  # nano and micro (and the client's uppercase K) are not offered to tenants
])
def test_what_it_refuses(text: str) -> None:
    assert not quantity.is_quantity(text)
    with pytest.raises(ValueError, match="not a quantity"):
        quantity.parse(text)


@pytest.mark.parametrize("value", [True, False, None, [], {}, b"1"])
def test_non_numbers_are_refused(value: object) -> None:
    assert not quantity.is_quantity(value)
    with pytest.raises(ValueError):
        quantity.parse(value)  # type: ignore[arg-type]


def test_numbers_are_quantities_when_not_negative() -> None:
    assert quantity.parse(2) == 2 and quantity.parse(0.5) == Decimal("0.5")
    assert quantity.parse(0.1) == Decimal("0.1")  # the number as YAML wrote it, not its binary expansion
    assert quantity.is_quantity(0) and quantity.is_quantity(1.5)
    assert not quantity.is_quantity(-1) and not quantity.is_quantity(float("nan"))


def test_surrounding_space_is_refused_by_the_check_and_ignored_by_parse() -> None:
    for text in (" 8Gi", "8Gi ", "8Gi\n"):
        assert not quantity.is_quantity(text)
        assert quantity.parse(text) == 8 * 2**30


@pytest.mark.parametrize("value, text", [
    ("4", "4"), ("0", "0"), ("0.5", "500m"), ("2.5", "2500m"), ("0.001", "1m"), ("16.000", "16"),
    # below a millicore: to the nearest millicore, halves to even
    ("0.0004", "0"), ("0.0005", "0"), ("0.0015", "2m"), ("0.0025", "2m"), ("0.0026", "3m"), ("1.9996", "2"),
])
def test_cpu_is_formatted_in_whole_cores_or_millicores(value: str, text: str) -> None:
    assert quantity.cpu(Decimal(value)) == text


@pytest.mark.parametrize("value, text", [
    (0, "0"), (1, "1"), (1000, "1000"), (1024, "1Ki"), (1536, "1536"), (3 * 2**19, "1536Ki"), (2**29, "512Mi"),
    (8 * 2**30, "8Gi"), (2**40, "1Ti"), (2**50, "1024Ti"), (Decimal("1024.4"), "1Ki"), (Decimal("1023.5"), "1Ki"), (Decimal("1022.5"), "1022"),
])
def test_memory_is_formatted_in_the_largest_binary_unit_that_divides_it(value: Decimal | int, text: str) -> None:
    assert quantity.memory(Decimal(value)) == text


@given(st.integers(0, 10**9))
def test_cpu_round_trips_every_millicore(milli: int) -> None:
    value = Decimal(milli) / 1000
    assert quantity.parse(quantity.cpu(value)) == value


@given(st.integers(0, 2**62))
def test_memory_round_trips_every_byte_count(n: int) -> None:
    assert quantity.parse(quantity.memory(Decimal(n))) == n


@pytest.mark.parametrize("text, hint", [
    ("8GB", "8Gi"), ("8 gb", "8Gi"), ("512MiB", "512Mi"), ("2 cores", "2"), ("1 vcpu", "1"), ("250 millicores", "250m"),
    ("1kb", "1Ki"), ("lots", ""), ("8Gi", ""),
])
def test_a_common_mistake_gets_a_suggestion(text: str, hint: str) -> None:
    assert quantity.suggest(text) == hint
    if hint:
        assert quantity.is_quantity(hint)


# Strings near the grammar: numbers with and without fractions, signs, exponents and every
# suffix either parser knows, plus a few characters of noise.
_number = st.from_regex(r"[+-]?([0-9]{1,6}(\.[0-9]{0,4})?|\.[0-9]{1,4})([eE][+-]?[0-9])?", fullmatch=True)
_suffix = st.sampled_from([*SUFFIXES, "n", "u", "K", "ki", "mi", "I", "B", "i"])
_text = st.one_of(st.builds(str.__add__, _number, _suffix), st.text("0123456789.+-eEmkKMGTPiun ", max_size=8))


@given(_text)
def test_it_agrees_with_the_kubernetes_clients_parser(text: str) -> None:
    """The client's parse_quantity is looser (it takes n, u, K, exponents, signs and
    surrounding space), so the oracle is one way: what this module accepts, the client
    accepts with the same value; and the client's refusals are refused here too."""
    parse_quantity = need("kubernetes.utils", "pip install -e '.[ops]'").parse_quantity
    try:
        theirs = parse_quantity(text)
    except (ValueError, ArithmeticError):
        theirs = None
    if quantity.is_quantity(text):
        assert theirs is not None and quantity.parse(text) == theirs
    elif theirs is None:
        with pytest.raises(ValueError):
            quantity.parse(text)
