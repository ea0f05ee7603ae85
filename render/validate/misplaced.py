"""Part of validate: settings written at the wrong level, told once as the indentation mistake.

A key indented too little lands in its parent's mapping: `max_replicas` under `overrides`
instead of under `image_extractor`. The schema then sees an extractor with no settings and
an extractor named `max_replicas`, and reports both, neither of them the mistake. Here such
a key is recognised (it is not valid where it is, but is a setting of the block just above
it), reported once with the indentation to use, and the problems it causes are suppressed.

Pure: a Document and its JSON Schema in, problems and the key paths they explain out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from render.load import Document
from render.problems import Problem, dotted

Path_ = tuple[str | int, ...]


@dataclass
class Misplaced:
    """The indentation problems of one file and the paths whose other problems they explain."""

    problems: list[Problem] = field(default_factory=list)
    keys: set[str] = field(default_factory=set)  # misplaced keys: every problem at or under them is a follow-on
    homes: set[str] = field(default_factory=set)  # the blocks they belong in: their own problem ("empty") is one

    def covers(self, problem: Problem, file: str) -> bool:
        """True when `problem` is a follow-on of a reported indentation mistake."""
        if problem.file != file or problem in self.problems:
            return False
        return problem.pointer in self.homes or any(
            problem.pointer == p or problem.pointer.startswith((p + ".", p + "[")) for p in self.keys)


def find(doc: Document, schema: dict[str, Any]) -> Misplaced:
    out = Misplaced()
    _walk(doc, schema, doc.data, (), out)
    return out


def _walk(doc: Document, node: dict[str, Any], data: Any, path: Path_, out: Misplaced) -> None:
    if not isinstance(data, dict):
        return
    valid: list[str] = []
    astray: dict[Path_, list[str]] = {}  # home -> the keys meant for it, in file order
    for key in data:
        if _valid_here(node, key, data[key]):
            valid.append(key)
            _walk(doc, _child(node, key) or {}, data[key], path + (key,), out)
            continue
        home = _home(node, data, valid, path, key)
        if home is not None:
            astray.setdefault(home, []).append(key)
    for home, keys in astray.items():
        _report(doc, path, keys, home, out)


def _valid_here(node: dict[str, Any], key: str, value: Any) -> bool:
    if key in (node.get("properties") or {}):
        return True
    extra = node.get("additionalProperties", True)
    if extra is False:
        return False
    if isinstance(extra, dict) and extra.get("type") == "object":
        return isinstance(value, dict) or value is None  # a scalar where a mapping belongs is out of place
    return True


def _child(node: dict[str, Any], key: str) -> dict[str, Any] | None:
    sub = (node.get("properties") or {}).get(key)
    if sub is None and isinstance(node.get("additionalProperties"), dict):
        sub = node["additionalProperties"]
    return sub if isinstance(sub, dict) else None


def _home(node: dict[str, Any], data: dict[str, Any], before: list[str], path: Path_, key: str) -> Path_ | None:
    """The block just above `key` (its previous sibling, or that one's last child, deepest first)
    where `key` is a valid setting: where the author meant it to be."""
    if not before:
        return None
    chain: list[tuple[Path_, dict[str, Any]]] = []
    owner: dict[str, Any] = node
    value: Any = data
    at: Path_ = path
    last = before[-1]
    while True:
        sub = _child(owner, last) if isinstance(value, dict) else None
        if sub is None:
            break
        at, owner, value = at + (str(last),), sub, value.get(last)
        chain.append((at, owner))
        if not isinstance(value, dict) or not value:
            break
        keys = [k for k in value if _valid_here(owner, k, value[k])]
        if not keys:
            break
        last = keys[-1]
    homes: list[Path_] = [where for where, schema in chain if key in (schema.get("properties") or {})]
    return homes[-1] if homes else None


def _report(doc: Document, path: Path_, keys: list[str], home: Path_, out: Misplaced) -> None:
    """One problem for a run of keys written one level too shallow, at the first of them."""
    lines = [doc.mark(path + (k,))[0] for k in keys]
    line, col = doc.mark(path + (keys[0],))
    home_line, home_col = doc.mark(home)
    level = f"the level of `{dotted(path)}`" if path else "the top level"
    siblings = [p for p in doc.marks if len(p) == len(home) + 1 and p[: len(home)] == home]
    indent = min((doc.marks[p][1] for p in siblings), default=home_col + 2) - 1
    names = ", ".join(f"`{k}`" for k in keys)
    where = f"line {lines[0]}" if len(lines) == 1 else f"lines {lines[0]}-{lines[-1]}"
    verb = ("is a setting", "it is", "it") if len(keys) == 1 else ("are settings", "they are", "them")
    out.problems.append(Problem(
        doc.file, line, col, dotted(path + (keys[0],)),
        f"{names} ({where}) {verb[0]} of `{home[-1]}` (line {home_line}), but {verb[1]} indented "
        f"at {level}",
        f"indentation: indent {verb[2]} by {indent} spaces, under `{home[-1]}`"))
    out.keys.update(dotted(path + (k,)) for k in keys)
    out.homes.add(dotted(home))
