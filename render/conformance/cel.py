"""CEL as the Kubernetes API server evaluates it, on cel-python (celpy).

cel-python implements the CEL standard (macros, has(), matches, startsWith, ...). The API
server adds libraries of its own; the functions our admission policies and the upstream
CRDs' rules use that celpy lacks are registered here, each with the semantics of
k8s.io/apiserver/pkg/cel/library (and cel-go's ext.Strings for `join`), and tested on their
own in tests/conformance/test_cel.py. Imported lazily: celpy never loads on `dataplane render`.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import celpy
from celpy import celtypes
from celpy.adapter import json_to_cel
from celpy.celparser import CELParseError
from celpy.evaluation import CELEvalError


def _join(values: celtypes.ListType, sep: celtypes.StringType = celtypes.StringType("")) -> celtypes.StringType:
    """ext.Strings `<list<string>>.join(<string>)`: a list of strings joined by `sep`."""
    if not all(isinstance(v, celtypes.StringType) for v in values):
        raise TypeError("join: every element must be a string")
    return celtypes.StringType(str(sep).join(str(v) for v in values))


def _lower_ascii(s: celtypes.StringType) -> celtypes.StringType:
    """ext.Strings `lowerAscii()`: only A-Z are lowered."""
    return celtypes.StringType("".join(c.lower() if "A" <= c <= "Z" else c for c in str(s)))


def _index_of(s: celtypes.StringType, sub: celtypes.StringType) -> celtypes.IntType:
    """ext.Strings `indexOf(<string>)`: index of the first occurrence, in code points, or -1."""
    return celtypes.IntType(str(s).find(str(sub)))


def _substring(s: celtypes.StringType, start: celtypes.IntType, end: celtypes.IntType | None = None) -> celtypes.StringType:
    """ext.Strings `substring(<int>[, <int>])`: code points [start, end); an index outside
    the string, or end before start, is an error (never a silent clamp as in Python)."""
    text = str(s)
    stop = len(text) if end is None else int(end)
    if not 0 <= int(start) <= stop <= len(text):
        raise ValueError(f"substring: index out of range: {int(start)}, {stop} (size {len(text)})")
    return celtypes.StringType(text[int(start):stop])


def _split(s: celtypes.StringType, sep: celtypes.StringType) -> celtypes.ListType:
    """ext.Strings `split(<string>)`: every part between separators (an empty separator
    splits into code points, as Go's strings.Split does)."""
    text, by = str(s), str(sep)
    parts = list(text) if by == "" else text.split(by)
    return celtypes.ListType([celtypes.StringType(p) for p in parts])


# Kubernetes CEL library functions the rules we evaluate use, by name.
KUBERNETES_FUNCTIONS: dict[str, Any] = {"join": _join, "lowerAscii": _lower_ascii, "indexOf": _index_of,
                                        "substring": _substring, "split": _split}


class CelError(Exception):
    """An expression that does not compile, or whose evaluation fails (no such key, bad type)."""


@lru_cache(maxsize=4096)
def _program(expression: str) -> Any:
    env = celpy.Environment()
    try:
        ast = env.compile(expression)
    except CELParseError as e:
        raise CelError(f"does not compile: {e}") from None
    return env.program(ast, functions=KUBERNETES_FUNCTIONS)


def evaluate(expression: str, variables: dict[str, Any]) -> Any:
    """The value of `expression` with `variables` (plain JSON-like data), as Python data."""
    activation = {k: json_to_cel(v) for k, v in variables.items()}
    try:
        result = _program(expression).evaluate(activation)
    except CELEvalError as e:
        raise CelError(str(e.args[0]) if e.args else str(e)) from None
    if isinstance(result, CELEvalError):
        raise CelError(str(result.args[0]) if result.args else str(result))
    return _plain(result)


def _plain(value: Any) -> Any:
    if isinstance(value, celtypes.BoolType):
        return bool(value)
    if isinstance(value, celtypes.StringType):
        return str(value)
    if isinstance(value, (celtypes.IntType, celtypes.UintType)):
        return int(value)
    if isinstance(value, celtypes.ListType):
        return [_plain(v) for v in value]
    if isinstance(value, celtypes.MapType):
        return {_plain(k): _plain(v) for k, v in value.items()}
    return value
