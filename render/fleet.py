"""Render a fleet incrementally: only tenants whose inputs changed are validated and rendered.

1. Load the Shared inputs (registry, platform defaults, templates) and each tenant's raw
   input bytes, and key every tenant (`cache.tenant_key`).
2. A tenant whose output scope was written from that key and whose files are untouched
   since (`cache.Index`) is done: no parse, no validation, no render, no read.
3. Otherwise its bytes may be in the store (a key rendered before, e.g. on another
   branch). The rest are loaded, validated (every problem is reported and nothing is
   written) and rendered, across cores when there are many.
4. Fleet builders run when any tenant changed (they span tenants), else their scopes too
   are checked against the index.

The caller (the render command) passes an emit.Writer, which compares and stages every
scope as it arrives (in the worker that rendered it), then finishes the writer and calls
`remember`. Without a cache every tenant takes path 3: a full render.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from render import cache, emit, layout, parallel, templates
from render.load import Repo, TenantFiles, list_tenants, load_repo, load_tenants, read_tenant_bytes
from render.pipeline import FLEET_BUILDERS, Shared, effective, shared_of
from render.problems import Problem, ProblemsError
from render.validate import validate_repo

# Store entries kept: a few versions of every tenant (branches, reverts), then the least
# recently used go.
STORE_ENTRIES_PER_TENANT = 4
STORE_SPARE = 256

# The Shared inputs a tenant renders with. By default every tenant uses the working tree's;
# a pinned tenant would get its revision's, and its key follows whatever this returns.
SharedFor = Callable[[Repo, str], Shared]


class _Digests:
    """Shared digests, computed once per distinct Shared object (kept alive, compared by identity)."""

    def __init__(self) -> None:
        self.known: list[tuple[Shared, str]] = []

    def __call__(self, shared: Shared) -> str:
        for seen, digest in self.known:
            if seen is shared:
                return digest
        digest = cache.shared_digest(shared)
        self.known.append((shared, digest))
        return digest


@dataclass
class FleetRender:
    """What a fleet render produced: outputs to compare or write, and scopes known fresh."""

    names: list[str]
    writer: emit.Writer | None = None  # without one, outputs are collected in `outputs`
    outputs: emit.Outputs = field(default_factory=dict)
    scopes: list[str] = field(default_factory=list)  # every scope handed to the writer (or collected)
    fresh: dict[str, int] = field(default_factory=dict)  # scope -> file count, known unchanged
    keys: dict[str, str] = field(default_factory=dict)  # scope -> cache key
    rendered: list[str] = field(default_factory=list)  # tenants rendered now
    reused: list[str] = field(default_factory=list)  # tenants whose bytes came from the store
    index: cache.Index | None = None

    def emit(self, outputs: emit.Outputs) -> None:
        for scope, files in outputs.items():
            self.scopes.append(scope)
            if self.writer is None:
                self.outputs[scope] = files
            else:
                self.writer.add(scope, files)


def render_fleet(root: Path, only: list[str] | None = None, *, use_cache: bool = True,
                 shared_for: SharedFor | None = None, writer: emit.Writer | None = None,
                 progress: Callable[[int, int, str], None] | None = None) -> FleetRender:
    """Render `only` (default: every tenant) with the cache; raises ProblemsError on any problem.

    Each scope that is not known fresh goes to `writer` as soon as it is rendered (or read
    from the store): compared, and staged unless checking, by the worker that rendered it.
    """
    base = load_repo(root, [])
    if shared_for is None:
        working_tree = shared_of(base)
        shared_for = lambda repo, name: working_tree  # noqa: E731 - one Shared for every tenant
    digests = _Digests()
    names = list_tenants(root) if only is None else list(only)
    folder = cache.cache_dir(root)
    store, index = cache.Store(folder), cache.Index.open(folder, root) if use_cache else None
    result = FleetRender(names, writer=writer, index=index)
    todo: list[str] = []
    for name in names:
        scope = layout.rendered_dir(name)
        read = functools.partial(read_tenant_bytes, root, name)
        files = None
        if layout.DNS1123_LABEL.match(name):
            files = index.input_digest(root, name, layout.TENANT_FILES, read) if index else read()
        if files is None:
            todo.append(name)  # load reports the problem
            continue
        key = result.keys[scope] = cache.tenant_key(files, digests(shared_for(base, name)))
        if index is not None and index.fresh(root, scope, key):
            result.fresh[scope] = index.files(scope)
        elif (hit := store.get(key) if use_cache else None) is not None:
            result.emit(hit)
            result.reused.append(name)
        else:
            todo.append(name)
    repo = _render_missing(base, root, todo, names, result, shared_for, digests, store if use_cache else None,
                           progress)
    _fleet_outputs(base, root, repo, names, result, index, shared_for)
    return result


def _render_missing(base: Repo, root: Path, todo: list[str], names: list[str], result: FleetRender, shared_for: SharedFor,
                    digests: _Digests, store: cache.Store | None,
                    progress: Callable[[int, int, str], None] | None) -> Repo | None:
    """Load, validate and render the tenants in `todo`. Fleet builders need every tenant loaded."""
    if not todo:
        return None
    repo = load_tenants(base, root, names if FLEET_BUILDERS else todo)
    problems = validate_repo(Repo(repo.extractors, repo.platform, repo.templates,
                                  {n: repo.tenants[n] for n in todo}) if FLEET_BUILDERS else repo)
    if problems:
        raise ProblemsError(problems)
    groups: dict[str, tuple[Shared, list[str]]] = {}  # tenants rendering from the same Shared inputs
    for name in todo:
        shared = shared_for(repo, name)
        groups.setdefault(digests(shared), (shared, []))[1].append(name)
    failures: list[Problem] = []
    done = 0
    bytecode = cache.Bytecode(store.folder) if store is not None else None
    compiled = bytecode.load() if bytecode is not None else {}
    known = len(compiled)
    keys = {name: result.keys[layout.rendered_dir(name)] for name in todo if layout.rendered_dir(name) in result.keys}
    deliver = functools.partial(_deliver, root, result.writer.check if result.writer else None,
                                store.folder if store is not None else None, keys)
    for shared, members in groups.values():
        templates.precompile(shared.templates, compiled)  # once, here: workers inherit it
        for name, delivered, problems in parallel.render_all([repo.tenants[n] for n in members], shared,
                                                             bytecode=compiled, deliver=deliver):
            failures += problems
            if delivered is not None:
                if result.writer is not None:
                    result.writer.adopt(delivered)  # adopted even after a failure, so abort cleans it
                    result.scopes += delivered.added
                else:
                    result.emit(delivered)
                result.rendered.append(name)
            done += 1
            if progress:
                progress(done, len(todo), name)
    if failures:
        raise ProblemsError(failures)
    if bytecode is not None and len(compiled) != known:
        bytecode.save(compiled)
    if store is not None and result.index is not None:
        # Pruning scans the store: do it once as many entries as tenants were added.
        result.index.stored += len(result.rendered)
        result.index.changed = True
        if result.index.stored > len(names) + STORE_SPARE:
            store.prune(keep=STORE_ENTRIES_PER_TENANT * len(names) + STORE_SPARE)
            result.index.stored = 0
    result.rendered.sort()
    return repo


def _deliver(root: Path, check: bool | None, store: Path | None, keys: dict[str, str],
             files: TenantFiles, outputs: emit.Outputs) -> emit.Part | emit.Outputs:
    """Runs where a tenant was rendered: store its bytes, and compare or stage its scopes."""
    if store is not None and files.name in keys:
        cache.Store(store).put(keys[files.name], outputs)
    if check is None:
        return outputs
    writer = emit.Writer(root, check=check)
    for scope, data in outputs.items():
        writer.add(scope, data)
    return writer.detach()


def _fleet_outputs(base: Repo, root: Path, repo: Repo | None, names: list[str], result: FleetRender,
                   index: cache.Index | None, shared_for: SharedFor) -> None:
    """Outputs spanning tenants: skipped when no tenant changed and their files are untouched."""
    if not FLEET_BUILDERS:
        return
    key = hashlib.sha256("\n".join(f"{s} {k}" for s, k in sorted(result.keys.items())).encode()).hexdigest()
    previous = [s for s, entry in (index.scopes.items() if index else []) if entry[0] == f"fleet:{key}"]
    if index is not None and repo is None and previous and all(index.fresh(root, s, f"fleet:{key}") for s in previous):
        result.fresh.update({s: index.files(s) for s in previous})
        return
    repo = repo or load_tenants(base, root, names)
    effectives = {name: effective(files, shared_for(repo, name)) for name, files in sorted(repo.tenants.items())}
    for builder in FLEET_BUILDERS:
        outputs = builder(repo, effectives)
        result.keys.update({scope: f"fleet:{key}" for scope in outputs})
        result.emit(outputs)


def remember(root: Path, result: FleetRender, settled: list[str], pruned: list[str]) -> None:
    """Record in the index the scopes now on disk as rendered (written, or found equal)."""
    index = result.index
    if index is None:
        return
    for scope in settled:
        if scope in result.keys:
            index.record(root, scope, result.keys[scope])
    for scope in pruned:
        index.forget(scope)
    index.save()
