"""Render many tenants across cores.

Each worker process receives the platform inputs once, through the pool initializer, and
compiles the templates once; after that only a tenant's own files travel to a worker and
only its output bytes travel back. Small fleets render in-process: starting workers costs
more than it saves. Output is identical either way (tests/system/test_cache.py checks it).

Workers come from a fork server started with the engine imported and nothing else: a worker
forked from the render process itself would start with every tenant it loaded (at 10,000
tenants, about 270 MiB a worker, counted again in each worker's resident memory).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator
from typing import Any

import jinja2

from render import templates
from render.emit import Outputs
from render.load import PlatformInputs, TenantFiles
from render.pipeline import render_tenant
from render.problems import Problem, ProblemsError

# Below this many tenants per worker, forking and shipping results costs more than it saves.
MIN_TENANTS_PER_WORKER = 24
# What happens to a tenant's outputs where it was rendered (e.g. staging its files), so
# that file writes run on every core and output bytes need not travel back.
Deliver = Callable[[TenantFiles, Outputs], Any]
Result = tuple[str, Any, list[Problem]]  # name, outputs (or what `deliver` returned), problems

# Set once in each worker process by the pool initializer and only read after that: the
# one place a worker keeps what every task needs. Never set in the main process.
_worker_state: dict[str, tuple[PlatformInputs, jinja2.Environment, Deliver | None]] = {}


def workers_for(count: int) -> int:
    """How many worker processes `count` tenants deserve (0: render in-process)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    wanted = min(cores, count // MIN_TENANTS_PER_WORKER)
    return wanted if wanted >= 2 else 0


def _init(shared: PlatformInputs, bytecode: dict[str, bytes] | None, deliver: Deliver | None) -> None:
    _worker_state["shared"] = (shared, templates.environment(shared.templates, bytecode), deliver)


def _render_one(files: TenantFiles) -> Result:
    return _render_as_result(files, *_worker_state["shared"])


def _render_as_result(files: TenantFiles, shared: PlatformInputs, env: jinja2.Environment, deliver: Deliver | None) -> Result:
    try:
        outputs = render_tenant(files, shared, env)
    except ProblemsError as e:  # travels as data: the exception's args would not rebuild it
        return files.name, None, e.problems
    return files.name, deliver(files, outputs) if deliver else outputs, []


def render_all(tenants: list[TenantFiles], shared: PlatformInputs, *, workers: int | None = None,
               bytecode: dict[str, bytes] | None = None, deliver: Deliver | None = None,
               progress: Callable[[str], None] | None = None) -> Iterator[Result]:
    """(name, outputs, problems) for every tenant, in completion order.

    `bytecode`: compiled templates to start from (see templates.environment); an
    in-process render adds what it compiles. `deliver` runs where each tenant was
    rendered and its return value replaces the outputs in the result."""
    count = workers_for(len(tenants)) if workers is None else workers
    if count < 2:
        env = templates.environment(shared.templates, bytecode)
        for files in tenants:
            result = _render_as_result(files, shared, env, deliver)
            if progress:
                progress(files.name)
            yield result
        return
    chunk = max(1, min(16, len(tenants) // (count * 8)))
    ctx = _start_method()
    with ctx.Pool(count, initializer=_init, initargs=(shared, bytecode, deliver)) as pool:
        for result in pool.imap_unordered(_render_one, tenants, chunksize=chunk):
            if progress:
                progress(result[0])
            yield result


def _start_method() -> multiprocessing.context.BaseContext:
    """A fork server where the platform has one (preloading the engine, so a worker starts in
    milliseconds), else spawn."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["render.pipeline"])  # not __main__: `python -m render` runs the CLI when imported
    return ctx
