"""Content-hash cache of rendered tenants, and an index of the output files on disk.

In the user's cache folder (`$XDG_CACHE_HOME/dataplane`, by default
`~/.cache/dataplane`), or `$DATAPLANE_CACHE_DIR`; never inside the repository, where a
committed entry could stand in for rendering (see docs/security.md):

- `objects/`: for every tenant key, the bytes that tenant renders to. The key is a hash
  of everything a render of that tenant can read: its three input files' bytes, the
  platform inputs actually used (registry, platform defaults, every template) and the
  engine itself (ENGINE_VERSION, plus the package's code and schemas, so that a changed
  engine can never serve old output even if nobody bumped the version). No path, clock
  or temporary folder enters a key, so one cache serves any checkout and never serves
  stale output. An entry exists only for a tenant that validated and rendered cleanly.
- `index/`: per checkout, for each output scope, the key it was rendered from and a
  digest of the paths, sizes, mtimes, ctimes and inodes of its files as written. A scope
  whose key is unchanged and whose files still have those stats needs neither a render
  nor a read (the same trust git puts in its index).
- `jinja-<engine digest>`: compiled templates, so a small render compiles nothing.

Every file carries a SHA-256 of its body: a corrupted, truncated or foreign file reads
as a miss and is rebuilt. This module does I/O; nothing in the pure stages calls it.
"""

from __future__ import annotations

import array
import hashlib
import json
import os
import stat
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from render import ENGINE_VERSION, layout
from render.problems import UserError

if TYPE_CHECKING:
    from render.emit import Outputs
    from render.load import Document, PlatformInputs

CACHE_ENV = "DATAPLANE_CACHE_DIR"
FORMAT = b"dataplane-cache 1\n"


class CacheLocationError(UserError):
    hint = f"point ${CACHE_ENV} at a folder outside the repository, or render with --no-cache"


def cache_dir(root: Path) -> Path:
    """The cache folder: $DATAPLANE_CACHE_DIR, else the user's cache folder. A folder inside
    the repository is refused: the checkout is data, and a cache read from it could replace
    rendering with bytes someone committed."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        folder = Path(configured)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        folder = (Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache") / "dataplane"
    resolved, repo = folder.resolve(), root.resolve()
    if resolved == repo or repo in resolved.parents:
        raise CacheLocationError(f"the render cache {folder} is inside the repository {root}")
    return folder


def engine_digest() -> str:
    """ENGINE_VERSION and the bytes of the engine's own code and schemas."""
    return _engine_digest(ENGINE_VERSION)


@cache
def _engine_digest(version: str) -> str:
    """Every file of the engine package (code, schemas, Lua, anything added later), by
    its path inside the package: no engine change can be masked by a stale cache."""
    h = hashlib.sha256(f"engine {version}\n".encode())
    for name, data in engine_files():
        _add(h, name, data)
    return h.hexdigest()


@cache
def engine_files() -> tuple[tuple[str, bytes], ...]:
    """Every file of the running engine package, by its path inside it, sorted."""
    return tuple(sorted(_package_files(resources.files("render"), "")))


def is_engine_file(rel: str) -> bool:
    """False for what Python writes beside the code (compiled bytecode), which is no part of the engine."""
    return "__pycache__" not in rel.split("/") and not rel.endswith(".pyc")


def _package_files(folder: Any, prefix: str) -> list[tuple[str, bytes]]:
    out = []
    for entry in folder.iterdir():
        if not is_engine_file(entry.name):
            continue
        if entry.is_dir():
            out += _package_files(entry, f"{prefix}{entry.name}/")
        else:
            out.append((prefix + entry.name, entry.read_bytes()))
    return out


def _add(h: Any, name: str, data: bytes) -> None:
    h.update(f"{name}\0{len(data)}\0".encode())
    h.update(data)


def document_digest(doc: Document) -> bytes:
    """Everything a Document holds: its file name, its data (types and key order kept) and marks."""
    body = json.dumps([doc.file, doc.data, sorted(doc.marks.items(), key=repr)], ensure_ascii=False, default=repr)
    return hashlib.sha256(body.encode()).digest()


def shared_digest(shared: PlatformInputs) -> str:
    """A hash of the platform inputs a tenant is rendered with (from whatever revision they came)."""
    h = hashlib.sha256(b"shared\n")
    h.update(document_digest(shared.platform))
    h.update(document_digest(shared.extractors))
    h.update(document_digest(shared.releases))
    for name in sorted(shared.templates):
        _add(h, name, shared.templates[name].encode())
    return h.hexdigest()


def files_digest(files: dict[str, bytes]) -> str:
    """A hash of a tenant's input files: names and bytes."""
    h = hashlib.sha256(b"files\n")
    for name in sorted(files):
        _add(h, name, files[name])
    return h.hexdigest()


def tenant_key(files: dict[str, bytes] | str, shared: str) -> str:
    """The cache key of one tenant: its input files (or their `files_digest`), the platform inputs' digest
    and the engine."""
    digest = files if isinstance(files, str) else files_digest(files)
    return hashlib.sha256(f"tenant\0{engine_digest()}\0{shared}\0{digest}".encode()).hexdigest()


def _scan(folder: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as entries:
            return list(entries)
    except OSError:
        return []


def _seal(body: bytes) -> bytes:
    return FORMAT + hashlib.sha256(body).hexdigest().encode() + b"\n" + body


def _unseal(raw: bytes) -> bytes | None:
    head = len(FORMAT) + 65
    if not raw.startswith(FORMAT) or len(raw) < head:
        return None
    body = raw[head:]
    return body if hashlib.sha256(body).hexdigest().encode() == raw[len(FORMAT):head - 1] else None


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read(path: Path) -> bytes | None:
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    body = _unseal(raw)
    if body is None:
        path.unlink(missing_ok=True)  # corrupted: drop it, the caller rebuilds it
    return body


@dataclass(frozen=True)
class Store:
    """Rendered bytes by tenant key."""

    folder: Path

    def _path(self, key: str) -> Path:
        return self.folder / "objects" / key[:2] / key

    def get(self, key: str) -> Outputs | None:
        path = self._path(key)
        body = _read(path)
        if body is None:
            return None
        os.utime(path)  # recently used: kept by `prune`
        try:
            header, _, data = body.partition(b"\n")
            out: Outputs = {}
            at = 0
            for scope, path, size in json.loads(header):
                out.setdefault(scope, {})[path] = data[at:at + size]
                at += size
            return out
        except (ValueError, TypeError):
            return None

    def prune(self, keep: int) -> None:
        """Delete the least recently used entries beyond the newest `keep`."""
        entries = []
        for shard in _scan(self.folder / "objects"):
            entries += [(e.stat().st_mtime_ns, e.path) for e in _scan(Path(shard.path)) if e.is_file()]
        for _, path in sorted(entries)[: max(0, len(entries) - keep)]:
            Path(path).unlink(missing_ok=True)

    def put(self, key: str, outputs: Outputs) -> None:
        table = [(scope, path, len(data)) for scope, files in outputs.items() for path, data in files.items()]
        chunks = [data for files in outputs.values() for data in files.values()]
        body = json.dumps(table).encode() + b"\n" + b"".join(chunks)
        _write_atomic(self._path(key), _seal(body))


def _pack(entries: dict[str, bytes]) -> bytes:
    table = [(name, len(data)) for name, data in entries.items()]
    return json.dumps(table).encode() + b"\n" + b"".join(entries.values())


def _unpack(body: bytes) -> dict[str, bytes] | None:
    try:
        header, _, data = body.partition(b"\n")
        out, at = {}, 0
        for name, size in json.loads(header):
            out[str(name)] = data[at:at + size]
            at += size
        return out
    except (ValueError, TypeError):
        return None


@dataclass(frozen=True)
class Bytecode:
    """Compiled templates (Jinja bytecode), so a small render does not compile every template.

    One file per engine digest: Jinja checks each entry against its template's source
    and Python's version itself; the engine digest covers the environment's options."""

    folder: Path

    def _path(self) -> Path:
        return self.folder / f"jinja-{engine_digest()[:24]}"

    def load(self) -> dict[str, bytes]:
        body = _read(self._path())
        return (_unpack(body) if body is not None else None) or {}

    def save(self, entries: dict[str, bytes]) -> None:
        path = self._path()
        _write_atomic(path, _seal(_pack(entries)))
        for old in self.folder.glob("jinja-*"):  # compiled by another engine: never read again
            if old != path:
                old.unlink(missing_ok=True)


@dataclass
class Index:
    """What this checkout's output scopes hold: the key each was rendered from, and a digest
    of its files' stats (kept small: it is read and written on every render)."""

    path: Path
    scopes: dict[str, list[Any]] = field(default_factory=dict)  # scope -> [key, file count, stats digest]
    inputs: dict[str, list[str]] = field(default_factory=dict)  # tenant -> [stats digest, files_digest]
    stored: int = 0  # store entries written since the store was last pruned
    changed: bool = False

    @classmethod
    def open(cls, folder: Path, root: Path) -> Index:
        name = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:24]
        index = cls(folder / "index" / name)
        body = _read(index.path)
        if body is not None:
            try:
                data = json.loads(body)
                index.scopes = {str(s): list(e) for s, e in data["scopes"].items() if len(e) == 3}
                index.inputs = {str(t): list(e) for t, e in data["inputs"].items() if len(e) == 2}
                index.stored = int(data["stored"])
            except (ValueError, TypeError, AttributeError, KeyError):
                index.scopes, index.inputs = {}, {}
        return index

    def save(self) -> None:
        if not self.changed and self.path.exists():
            return
        data = {"scopes": self.scopes, "inputs": self.inputs, "stored": self.stored}
        _write_atomic(self.path, _seal(json.dumps(data, sort_keys=True).encode()))

    def input_digest(self, root: Path, tenant: str, files: tuple[str, ...],
                     read: Callable[[], dict[str, bytes] | None]) -> str | None:
        """`files_digest` of a tenant's inputs: remembered while their stats are unchanged,
        else computed from `read()` (None when a file cannot be read)."""
        stats = array.array("q")
        try:
            for name in files:
                st = os.stat(root / layout.tenant_file(tenant, name))
                stats.extend((st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino))
        except OSError:
            return None
        seen = hashlib.sha256(stats.tobytes()).hexdigest()
        known = self.inputs.get(tenant)
        if known is not None and known[0] == seen:
            return known[1]
        raw = read()
        if raw is None:
            return None
        digest = files_digest(raw)
        self.inputs[tenant], self.changed = [seen, digest], True
        return digest

    def fresh(self, root: Path, scope: str, key: str) -> bool:
        """True when `scope` was rendered from `key` and its files are exactly as written then."""
        entry = self.scopes.get(scope)
        return entry is not None and entry[0] == key and list(signature(root, scope)) == entry[1:]

    def files(self, scope: str) -> int:
        return int(self.scopes[scope][1])

    def record(self, root: Path, scope: str, key: str) -> None:
        entry = [key, *signature(root, scope)]
        if self.scopes.get(scope) != entry:
            self.scopes[scope], self.changed = entry, True

    def forget(self, scope: str) -> None:
        if self.scopes.pop(scope, None) is not None:
            self.changed = True


def signature(root: Path, scope: str) -> tuple[int, str]:
    """How many files `scope` holds, and a digest of their paths, sizes, mtimes, ctimes and inodes."""
    paths: list[str] = []
    stats = array.array("q")
    stack = [scope]
    while stack:
        folder = stack.pop()
        base = os.path.join(root, folder)
        try:
            names = sorted(os.listdir(base))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for name in names:
            st = os.lstat(f"{base}/{name}")
            if stat.S_ISDIR(st.st_mode):
                stack.append(f"{folder}/{name}")
            else:
                paths.append(f"{folder}/{name}")
                stats.extend((st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino))
    h = hashlib.sha256("\0".join(paths).encode())
    h.update(stats.tobytes())
    return len(paths), h.hexdigest()
