"""`dataplane validate --against REF`: the I/O around the gate.

The base side is the output committed at REF (what ArgoCD applied from it); the pull
request's side is rendered here from its inputs (never read from its committed output,
which `render --check` proves equal). Tenant files at REF decide the placement moves and
the migration transitions.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from render import emit, git, layout, migration, templates, tombstones
from render.gate import immutable, placement
from render.load import Repo, parse_bytes
from render.move import apps as move_apps
from render.move import record as move_record
from render.move import target as move_target
from render.pipeline import render_repo, render_tenant
from render.problems import Problem
from render.validate import validate_repo
from render.workflows.release import preview_update

# The output folders whose objects reach a cluster and hold or name data.
COMPARED = (layout.RENDERED_DIR, layout.STORAGE_DIR)


def objects(files: dict[str, bytes]) -> immutable.Objects:
    """{path: bytes} of rendered files -> {path: object}; one object a file."""
    out = {}
    for path, raw in sorted(files.items()):
        if path.endswith(".yaml") and any(layout.is_inside(path, d) for d in COMPARED):
            docs = [d for d in yaml.load_all(raw, Loader=yaml.CSafeLoader) if isinstance(d, dict)]
            if docs:
                out[path] = docs[0]
    return out


def check(root: Path, repo: Repo, ref: str, rendered: emit.Outputs | None = None,
          base_files: dict[str, bytes] | None = None) -> list[Problem]:
    """Every change from `ref` to the working tree that would strand data (and every reuse of
    an offboarded tenant's names). `validate --against` and `verify-pr` (main's engine) call it.
    `rendered`: what render_repo(repo) returned, when the caller has it already; with
    `base_files`, REF's output files to compare it with (a caller that knows which files
    differ may pass those alone, on both sides: equal files hold no change)."""
    tree = git.GitTree(root, git.resolve(root, ref))
    base_files = tree.walk(*COMPARED) if base_files is None else base_files
    head_files = {p: b for files in (rendered or render_repo(repo)).values() for p, b in files.items()}
    base, head = objects(base_files), objects(head_files)
    befores = {name: _tenant_at(tree, name) for name in repo.tenants}
    for name, files in repo.tenants.items():
        base = handed_over(base, name, befores[name], files.tenant.data, move_target.cloud_kinds(repo.current.platform.data))
    gone = set(tree.folders(layout.TENANTS_DIR)) - set(repo.tenants)
    buried = tombstones.names(tombstones.load(root))
    removable = frozenset(layout.rendered_dir(n) for n in gone & buried)
    docs = {name: files.tenant for name, files in repo.tenants.items()}
    problems = tombstones.problems(root, docs, repo.current.platform)
    problems += [_at_line(p, head_files.get(p.file) or base_files[p.file]) for p in immutable.compare(base, head, removable)]
    # Pinned tenants take a platform change later, by release: check the output it will give them too.
    released, moving = preview_update(repo)
    refused = validate_repo(replace(released, tenants={n: released.tenants[n] for n in moving})) if moving else []
    problems += refused  # the release could not move them
    if moving and not refused:
        later = {p: b for name in moving for p, b in render_tenant_only(released, name).items()}
        problems += [_at_line(p, later.get(p.file) or base_files[p.file])
                     for p in immutable.compare({k: v for k, v in base.items() if _tenant_path(k, moving)}, objects(later))]
    today = dt.datetime.now(dt.UTC).date()
    for name, files in sorted(repo.tenants.items()):
        before = befores[name]
        problems += placement.moves(name, before, files.tenant, today)
        problems += migration.check_transition(before, files.tenant)
    return problems


def render_tenant_only(repo: Repo, name: str) -> dict[str, bytes]:
    """One tenant's output files as `repo` renders them (validated by the caller)."""
    files = render_tenant(repo.tenants[name], repo.inputs_for(name), templates.environment(repo.inputs_for(name).templates))
    return {p: b for out in files.values() for p, b in out.items()}


def _tenant_path(path: str, names: list[str]) -> bool:
    return any(layout.is_inside(path, layout.rendered_dir(n)) for n in names)


def handed_over(base: immutable.Objects, name: str, before: dict[str, Any] | None,
                after: dict[str, Any], cloud: set[str]) -> immutable.Objects:
    """The base objects a move's retire (or abandon) compares with. Abandoned: all but the
    target's, which held no data yet. Retired, a cluster move: the target's (from
    rendered/<name>/move/, now the tenant's own folder on the target cluster) and the cloud
    objects, which name the same cloud resources from either cluster; the old placement's
    cluster objects are no longer rendered (the old cluster keeps them, volumes retained).
    A database.mode switch: all but the old side's objects kept beside the engine's (their
    claims stay: whenDeleted Retain)."""
    move = move_record.of(before)
    step = (move_record.state_of(before), move_record.state_of(after))
    if not move or step not in (("cutover", "retire"), ("prepare", None)):
        return base
    main, folder = layout.rendered_dir(name), move_apps.move_dir(name)
    if step == ("prepare", None):  # abandoned before any copy: the target held no data yet
        return {p: o for p, o in base.items() if not layout.is_inside(p, folder) and move_target.SIDE_ANNOTATION not in
                ((o.get("metadata") or {}).get("annotations") or {})}
    if move_target.same_cluster(move):
        return {p: o for p, o in base.items() if not (layout.is_inside(p, main) and move_target.SIDE_ANNOTATION in
                                                     ((o.get("metadata") or {}).get("annotations") or {}))}
    out = {p: o for p, o in base.items() if not layout.is_inside(p, main)}
    out.update({p: o for p, o in base.items() if p.rsplit("/", 1)[0] == main and "/".join(immutable.group_kind(o)) in cloud})
    out.update({f"{main}/{p.rsplit('/', 1)[-1]}": o for p, o in base.items() if layout.is_inside(p, folder)})
    return out


def _at_line(problem: Problem, raw: bytes) -> Problem:
    """The problem at its field's line in the rendered file (the pull request's, or the base's
    for a removed object), so an annotation lands on it."""
    line, column = parse_bytes(raw, problem.file).mark(tuple(problem.pointer.split(".")))
    return replace(problem, line=line, column=column)


def _tenant_at(tree: git.GitTree, name: str) -> dict[str, Any] | None:
    raw = tree.read(layout.tenant_file(name, layout.TENANT_FILE))
    if raw is None:
        return None
    data = parse_bytes(raw, f"{layout.tenant_file(name, layout.TENANT_FILE)}@{tree.revision[:12]}").data
    return data if isinstance(data, dict) else None
