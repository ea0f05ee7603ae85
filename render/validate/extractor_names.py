"""Extractor names as people write them: ids, names and the registry's aliases.

A tenant may write the product's wording ("face_recognition", "audio embeddings") where
the registry says face_identity_extractor; each registry entry lists such `aliases`, so
the suggestion names the right extractor and says in one line what it does.
Pure: registry data in, a hint or problems out.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from render.load import Document
from render.problems import Problem

_SEPARATORS = re.compile(r"[\s\-_]+")


def _norm(word: str) -> str:
    return _SEPARATORS.sub("_", word.strip().lower())


def _entries(extractors: Any) -> dict[str, dict[str, Any]]:
    data = extractors.get("extractors") if isinstance(extractors, dict) else None
    return {k: v for k, v in (data or {}).items() if isinstance(v, dict)} if isinstance(data, dict) else {}


def _aliases(entry: dict[str, Any]) -> list[Any]:
    aliases = entry.get("aliases")
    return aliases if isinstance(aliases, list) else []


def _words(extractors: Any) -> dict[str, str]:
    """Every way to name an extractor (normalised) -> the name or id to write instead."""
    out: dict[str, str] = {}
    for ext_id, entry in sorted(_entries(extractors).items()):
        name = str(entry.get("name", ext_id))
        for alias in _aliases(entry):
            out.setdefault(_norm(str(alias)), name)
        out[_norm(ext_id)] = ext_id
    for entry in _entries(extractors).values():  # names last: they win over an alias spelled alike
        out[_norm(str(entry.get("name")))] = str(entry.get("name"))
    return out


def suggest(word: str, extractors: Any) -> str:
    """'did you mean NAME? (what it does)' for the closest name, id or alias; '' when none is close."""
    words = _words(extractors)
    key = _norm(word)
    close = [key] if key in words else difflib.get_close_matches(key, list(words), n=1, cutoff=0.6)
    if not close:
        return ""
    match = words[close[0]]
    description = next((str(e.get("description", "")) for i, e in _entries(extractors).items()
                        if match in (i, e.get("name"))), "")
    return f"did you mean {match!r}? ({description})" if description else f"did you mean {match!r}?"


def check_aliases(extractors: Document) -> list[Problem]:
    """An alias names exactly one extractor and is not another extractor's name or id."""
    owners: dict[str, tuple[str, tuple[str | int, ...]]] = {}
    names = {_norm(i) for i in _entries(extractors.data)} | {_norm(str(e.get("name"))) for e in _entries(extractors.data).values()}
    out = []
    for ext_id, entry in sorted(_entries(extractors.data).items()):
        name = str(entry.get("name", ext_id))
        for i, alias in enumerate(_aliases(entry)):
            path = ("extractors", ext_id, "aliases", i)
            key = _norm(str(alias))
            if key in names:
                out.append(extractors.problem(path, f"alias {alias!r} is already an extractor's name or id",
                                            "remove the alias", at_value=True))
            elif key in owners and owners[key][0] != name:
                line = extractors.mark(owners[key][1])[0]
                out.append(extractors.problem(path, f"alias {alias!r} also names {owners[key][0]} (line {line})",
                                            "an alias names one extractor; remove one of them", at_value=True))
            owners.setdefault(key, (name, path))
    return out
