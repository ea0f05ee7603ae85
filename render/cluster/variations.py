"""Platform changes, one registry key at a time: every leaf of registry/platform.yaml and
registry/extractors.yaml (lists item by item), with candidate alternative values derived
from the value itself and from the values the same key holds elsewhere in the file. Which
candidate is a valid change is for `dataplane validate` to say, not for this module. Pure.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from render import layout

Path_ = tuple[str | int, ...]
# The registry files a platform change edits (the platform's side of every render).
FILES = (layout.PLATFORM_FILE, layout.EXTRACTORS_FILE)
NUMBER = re.compile(r"^(\d+(?:\.\d+)?)([A-Za-z]*)$")  # "15", "3.25", "28Gi", "500m"
MAX_CANDIDATES = 4


@dataclass(frozen=True)
class Leaf:
    file: str
    path: Path_
    value: Any

    def __str__(self) -> str:
        return f"{self.file}: {'.'.join(map(str, self.path))}"


def leaves(file: str, data: Any, path: Path_ = ()) -> Iterator[Leaf]:
    """Every scalar of `data` with its path (dict keys, list indexes)."""
    if isinstance(data, dict):
        for k, v in data.items():
            yield from leaves(file, v, (*path, str(k)))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from leaves(file, v, (*path, i))
    else:
        yield Leaf(file, path, data)


def _bump_digit(text: str) -> str | None:
    """`text` with its last decimal digit moved on by one (a version, a cron minute, a port)."""
    for i in range(len(text) - 1, -1, -1):
        if text[i].isdigit():
            return text[:i] + str((int(text[i]) + 1) % 10) + text[i + 1:]
    return None


def _scaled(text: str) -> str | None:
    match = NUMBER.match(text)
    if match is None:
        return None
    number = float(match.group(1)) * 2
    return f"{int(number) if number.is_integer() else number}{match.group(2)}"


def candidates(leaf: Leaf, peers: list[Any]) -> list[Any]:
    """Alternative values for `leaf`, most plausible first: a flipped boolean, numbers moved
    up (and down), quantities doubled, another value of the same key elsewhere in the file
    (`peers`), a digit moved on, a suffixed name."""
    v = leaf.value
    out: list[Any]
    if isinstance(v, bool):
        out = [not v]
    elif isinstance(v, int):
        out = [v + 1, v * 2, v - 1]
    elif isinstance(v, float):
        out = [v * 2, v / 2]
    elif isinstance(v, str):
        others = sorted({p for p in peers if isinstance(p, str) and p != v})
        out = [_scaled(v), *others[:2], _bump_digit(v), f"{v}-x"]
    else:
        out = []
    seen: list[Any] = []
    for c in out:
        if c is not None and c != v and type(c) is type(v) and c not in seen:
            seen.append(c)
    return seen[:MAX_CANDIDATES]


def peers(all_leaves: list[Leaf]) -> dict[tuple[str, str | int], list[Any]]:
    """(file, last key) -> every value that key holds in the file."""
    out: dict[tuple[str, str | int], list[Any]] = {}
    for leaf in all_leaves:
        if leaf.path and isinstance(leaf.path[-1], str):
            out.setdefault((leaf.file, leaf.path[-1]), []).append(leaf.value)
    return out


def changed(data: Any, path: Path_, value: Any) -> Any:
    """A deep copy of `data` with the value at `path` replaced."""
    out = copy.deepcopy(data)
    node = out
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return out


def schema_key(schema: dict[str, Any], path: Path_) -> str:
    """The registry key `path` is an instance of, named as its file's JSON Schema names it:
    a property by its name, a free-form map key (an extractor id, a cluster, a machine type)
    as `*`, a list item as `[]`. e.g. extractors.*.memory, clusters.*.apiserver_cidrs[]."""
    node: Any = schema
    out = ""
    for part in path:
        node = node if isinstance(node, dict) else {}
        if isinstance(part, int):
            node, out = node.get("items", {}), f"{out}[]"
            continue
        props = node.get("properties") or {}
        if part in props:
            node, name = props[part], part
        else:
            extra = node.get("additionalProperties")
            node, name = (extra if isinstance(extra, dict) else {}), "*"
        out = f"{out}.{name}" if out else name
    return out


def by_key(all_leaves: list[Leaf], schemas: dict[str, dict[str, Any]]) -> dict[tuple[str, str], list[Leaf]]:
    """(file, schema key) -> its leaves, in file order."""
    out: dict[tuple[str, str], list[Leaf]] = {}
    for leaf in all_leaves:
        out.setdefault((leaf.file, schema_key(schemas[leaf.file], leaf.path)), []).append(leaf)
    return out
