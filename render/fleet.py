"""Render a fleet incrementally: only tenants whose inputs changed are validated and rendered.

1. Load the platform inputs (registry, platform defaults, templates) and each tenant's raw
   input bytes, and key every tenant (`cache.tenant_key`).
2. A tenant whose output scope was written from that key and whose files are untouched
   since (`cache.Index`) is done: no parse, no validation, no render, no read.
3. Otherwise its bytes may be in the store (a key rendered before, e.g. on another
   branch). The rest are loaded, validated (every problem is reported and nothing is
   written) and rendered, across cores when there are many.
4. A tenant's scopes (rendered/, argocd/tenants/, control-plane/routing/) are keyed and
   checked together. The platform's own outputs (FLEET_BUILDERS) depend on the platform
   inputs only and are rebuilt when those change or their files were touched.

The caller (the render command) passes an emit.Writer, which compares and stages every
scope as it arrives (in the worker that rendered it), then finishes the writer and calls
`remember`. Without a cache every tenant takes path 3: a full render.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from render import base_diff, cache, emit, generated, layout, ownership, parallel, templates
from render.load import (
    Document,
    PlatformInputs,
    Repo,
    TenantFiles,
    list_tenants,
    load_repo,
    load_tenants,
    read_peers,
    read_tenant_bytes,
)
from render.pipeline import FLEET_BUILDERS
from render.problems import Problem, ProblemsError
from render.validate import validate_repo

# Store entries kept: a few versions of every tenant (branches, reverts), then the least
# recently used go.
STORE_ENTRIES_PER_TENANT = 4
STORE_SPARE = 256

class _Digests:
    """PlatformInputs digests, computed once per distinct PlatformInputs object (kept alive, compared by identity)."""

    def __init__(self) -> None:
        self.known: list[tuple[PlatformInputs, str]] = []

    def __call__(self, shared: PlatformInputs) -> str:
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
    proven: int = 0  # tenants proven unchanged from a base revision by git (render_against)

    def emit(self, outputs: emit.Outputs) -> None:
        for scope, files in outputs.items():
            self.scopes.append(scope)
            if self.writer is None:
                self.outputs[scope] = files
            else:
                self.writer.add(scope, files)


def render_fleet(root: Path, only: list[str] | None = None, *, use_cache: bool = True,
                 writer: emit.Writer | None = None,
                 progress: Callable[[int, int, str], None] | None = None) -> FleetRender:
    """Render `only` (default: every tenant) with the cache; raises ProblemsError on any problem.

    Each scope that is not known fresh goes to `writer` as soon as it is rendered (or read
    from the store): compared, and staged unless checking, by the worker that rendered it.
    """
    base = load_repo(root, [])
    # Keys use the working tree's platform inputs. A pinned tenant's release.yaml names its
    # platform revision (immutable content) and is part of the key, so its key is exact too;
    # it is only re-rendered more often than needed when the working tree's platform moves.
    platform_digest = cache.shared_digest(base.current)
    names = list_tenants(root) if only is None else list(only)
    folder = cache.cache_dir(root) if use_cache else None
    store = cache.Store(folder) if folder is not None else None
    index = cache.Index.open(folder, root) if folder is not None else None
    result = FleetRender(names, writer=writer, index=index)
    todo: list[str] = []
    for name in names:
        read = functools.partial(read_tenant_bytes, root, name)
        files = None
        if layout.DNS1123_LABEL.match(name):
            files = index.input_digest(root, name, layout.TENANT_FILES, read) if index else read()
        if files is None:
            todo.append(name)  # load reports the problem
            continue
        key = cache.tenant_key(files, platform_digest)
        scopes = layout.tenant_scopes(name)
        result.keys.update(dict.fromkeys(scopes, key))
        if index is not None and all(index.fresh(root, scope, key) for scope in scopes):
            result.fresh.update({scope: index.files(scope) for scope in scopes})
        elif (hit := store.get(key) if store is not None else None) is not None:
            result.emit(hit)
            result.reused.append(name)
        else:
            todo.append(name)
    _render_missing(base, root, todo, names, result, store, progress)
    _platform_outputs(base, root, result, index, platform_digest)
    return result


def _render_missing(base: Repo, root: Path, todo: list[str], names: list[str], result: FleetRender,
                    store: cache.Store | None, progress: Callable[[int, int, str], None] | None,
                    peers: dict[str, Document] | None = None) -> None:
    """Load, validate and render the tenants in `todo`. Validation sees every other tenant's
    tenant.yaml too (load_tenants' peers), so fleet-wide rules hold on partial renders."""
    if not todo:
        return
    repo = load_tenants(base, root, todo, peers)
    problems = validate_repo(repo)
    if problems:
        raise ProblemsError(problems)
    digests = _Digests()
    groups: dict[str, tuple[PlatformInputs, list[str]]] = {}  # tenants rendering from the same platform inputs
    for name in todo:
        shared = repo.inputs_for(name)
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


def _platform_outputs(base: Repo, root: Path, result: FleetRender, index: cache.Index | None, digest: str) -> None:
    """The platform's own outputs (FLEET_BUILDERS): skipped while the platform inputs and
    their files are unchanged."""
    key = f"platform:{engine_key(digest)}"
    previous = [s for s, entry in (index.scopes.items() if index else []) if entry[0] == key]
    if index is not None and previous and all(index.fresh(root, s, key) for s in previous):
        result.fresh.update({s: index.files(s) for s in previous})
        return
    for builder in FLEET_BUILDERS:
        outputs = builder(base)
        if not set(outputs) <= set(layout.PLATFORM_SCOPES):  # the closed-tree check keeps only those
            raise ValueError(f"{builder.__name__} wrote {sorted(outputs)}; platform scopes are layout.PLATFORM_SCOPES")
        result.keys.update(dict.fromkeys(outputs, key))
        result.emit(outputs)


def render_against(root: Path, pending: base_diff.Pending, *, writer: emit.Writer,
                   progress: Callable[[int, int, str], None] | None = None) -> tuple[FleetRender, base_diff.Plan]:
    """Render what differs from the base revision (no cache is read or written); every
    other tenant's folders are proven equal to the base's by git. Peers are read while git
    compares."""
    base = load_repo(root, [])
    names = list_tenants(root)
    peers = read_peers(root) if pending.engine is None else None
    plan = pending.finish(root, names)
    todo = plan.to_render(names)
    result = FleetRender(names, writer=writer)
    result.proven = len(names) - len(todo)
    _render_missing(base, root, todo, names, result, None, progress, peers)
    _platform_outputs(base, root, result, None, cache.shared_digest(base.current))
    return result, plan


def engine_key(digest: str) -> str:
    return hashlib.sha256(f"{cache.engine_digest()}\0{digest}".encode()).hexdigest()


@dataclass
class OnDisk:
    """What `render_to_disk` did (or, checking, found): the emit report, and the fleet render."""

    report: emit.Report
    render: FleetRender
    recovered: list[str]  # what recovery repaired or removed before rendering
    plan: base_diff.Plan | None = None  # against a base revision: what it found


def render_to_disk(root: Path, tenants: list[str] | None = None, *, check: bool = False, use_cache: bool = True,
                   progress: Callable[[int, int, str], None] | None = None, base: str | None = None,
                   committed: bool = False) -> OnDisk:
    """The one way output reaches disk: render `tenants` (default: all) and write, or with
    `check` compare. A full render also closes the generated trees: every file or folder
    under rendered/, argocd/ and control-plane/ that no current scope accounts for (a
    removed tenant, a hand-added file, a dot-folder) is removed, or listed as extra.
    `base`: a revision whose committed output is current; only what differs from it is
    rendered, with no cache (render/base_diff.py), and the outcome is a full render's;
    `committed`: the output folders of the tenants that do not render are taken to be HEAD's
    (a fresh checkout), not compared with it. Raises ProblemsError, writing nothing, when any input is invalid."""
    emit.refuse_linked_folders(root)  # before anything is read or written through one
    if base is not None and tenants:
        raise ValueError("a render against a base revision covers every tenant")
    recovered = emit.recover(root) if not check else []
    names = list_tenants(root) if not tenants else list(tenants)
    pending = base_diff.start(root, base, committed=committed) if base is not None else None
    plan = None
    stale = [] if tenants else emit.foreign(root, layout.fleet_scopes(names))  # before staging folders appear
    # CODEOWNERS lists every tenant: kept current by partial renders too (a new tenant's, say).
    owners = ownership.codeowners(ownership.load_ownership(root), list_tenants(root)).encode()
    writer = emit.Writer(root, check=check)
    try:
        if pending is not None:
            result, plan = render_against(root, pending, writer=writer, progress=progress)
        else:
            result = render_fleet(root, tenants or None, use_cache=use_cache, writer=writer, progress=progress)
    except BaseException:
        writer.abort()
        raise
    report = writer.finish(stale)
    emit.single_file(root, layout.CODEOWNERS_FILE, owners, report, check=check)
    if generated.is_engine_repo(root):  # the schemas and docs generated from render/tunables.py and render/clouds/
        for rel, data in generated.files(root).items():
            emit.single_file(root, rel, data, report, check=check)
    report.unchanged += sum(result.fresh.values())
    unsettled = set(report.scopes_changed) if check else set()
    remember(root, result, [s for s in result.scopes if s not in unsettled], [] if check else stale)
    return OnDisk(report, result, recovered, plan)


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
