"""Registry mappings that name the key a build reads and does not find.

The schemas require what every registry must hold; a key the engine reads that a schema
leaves optional (or an older pinned registry lacks) would otherwise surface as a bare
KeyError from deep inside the build, exit 3. While the template context is computed
(render/context.py), registry/platform.yaml's data is read through `track`: a missing key
raises `Missing` with its full key path, which the pipeline reports as a problem at that
file and key. The context handed on is plain data again (`plain`). Pure.
"""

from __future__ import annotations

from typing import Any

from render.problems import Problem, dotted
from render.yamlstrict import Document

Path_ = tuple[str | int, ...]


class Missing(KeyError):
    """A key the build reads is absent from a registry mapping at `path`."""

    def __init__(self, path: Path_) -> None:
        super().__init__(path[-1])
        self.path = path

    def problem(self, doc: Document) -> Problem:
        parent = self.path[:-1]
        return doc.problem(parent, f"{dotted(parent) or 'the file'} has no key {self.path[-1]!r}, which the build reads",
                           f"add {dotted(self.path)} to {doc.file}")


class _Entry(dict):  # type: ignore[type-arg]
    __slots__ = ("path",)
    path: Path_

    def __missing__(self, key: str) -> Any:
        raise Missing((*self.path, key))


def track(data: Any, path: Path_ = ()) -> Any:
    """`data` with every mapping raising `Missing` (naming its path) on an absent key."""
    if isinstance(data, dict):
        entry = _Entry((k, track(v, (*path, k))) for k, v in data.items())
        entry.path = path
        return entry
    if isinstance(data, list):
        return [track(v, (*path, i)) for i, v in enumerate(data)]
    return data


def plain(data: Any) -> Any:
    """`data` with every tracked mapping a plain dict again (the dumpers take exact types)."""
    if isinstance(data, dict):
        return {k: plain(v) for k, v in data.items()}
    if isinstance(data, list):
        return [plain(v) for v in data]
    return data
