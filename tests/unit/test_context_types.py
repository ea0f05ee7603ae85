"""The TypedDicts of render/context_types.py declare exactly the keys the engine builds: the
effective configuration (merge.py) and the template context (context.py), recursively into
every nested TypedDict, for the fixture tenants and for variants of them in each state that
fills an otherwise empty key (a migration, an offboarding, a restore, a move's copy). A key
computed but not declared, or declared but never built, fails here, not in a template."""

from __future__ import annotations

import types
import typing
from dataclasses import replace
from typing import Any, get_args, get_origin, get_type_hints, is_typeddict

from render import context, context_types
from render.merge import merge_tenant
from render.move import target as move_target
from render.pipeline import pod_list
from render.validate import validate_repo
from tests.support import fixture_tenants, memory_repo, tenant_yaml

OFFBOARDING = 'lifecycle:\n  phase: offboarding\n  requested_on: "2026-12-07"\n  grace_until: "2027-01-06"\n'
MIGRATING = "routing: shared\nmigration:\n  state: copying\n  attempt: 1\n"
RESTORING = "restore:\n  backup: mongodb-20261207T121700Z\n"
MOVING = ('move:\n  state: copy\n  attempt: 1\n  requested_on: "2026-12-07"\n'
          "  from: {cluster: dp-gke-us-central1, region: us-central1, database: {mode: dedicated_instance}}\n"
          "  to: {cluster: dp-gke-us-east4, region: us-east4, database: {mode: dedicated_instance}}\n")
# Onto the shared instance on the same cluster: the target's copy Jobs get an egress of their own.
TO_SHARED = MOVING.replace("dp-gke-us-east4, region: us-east4, database: {mode: dedicated_instance}",
                           "dp-gke-us-central1, region: us-central1, database: {mode: shared_instance}")
# What tenant.yaml, release.yaml and the registry may leave out: their optional keys need
# not appear in these tenants. Every key of every other TypedDict is built for one of them.
INPUTS = {context_types.TenantSpec, context_types.Restore, context_types.Release, context_types.WorkerGroupSpec,
          context_types.Extractor, context_types.ClusterFacts}


def _repo():
    fixtures = fixture_tenants()
    overrides, release = fixtures["fixture-gcp"][1:]
    states = {"offboarding": OFFBOARDING, "migrating": MIGRATING, "restoring": RESTORING, "moving": MOVING, "to-shared": TO_SHARED}
    tenants = {**fixtures, **{f"state-{s}": (tenant_yaml(f"state-{s}", extra=extra), overrides, release)
                              for s, extra in states.items()}}
    return memory_repo(tenants)


REPO = _repo()


def _built() -> list[tuple[str, Any, Any, Any]]:
    """(tenant, effective values, context, from_pods values) of every placement of every
    tenant: a moving tenant renders two (render/move/target.py), as the pipeline does."""
    out = []
    for name, files in sorted(REPO.tenants.items()):
        shared = REPO.inputs_for(name)
        t = files.tenant.data
        placements = [move_target.engine_tenant(t)] + ([move_target.other_tenant(t)] if move_target.active(t) else [])
        for data in placements:
            eff = merge_tenant(shared.platform, shared.extractors, replace(files, tenant=replace(files.tenant, data=data)))
            ctx, pods = pod_list(eff, shared)
            out.append((name, eff.values, ctx, context.from_pods(ctx, pods)))
    return out


BUILT = _built()


def _typeddicts(annotation: Any) -> list[tuple[str, Any]]:
    """The TypedDicts an annotation holds, with how a value reaches them: ("", TD) for the
    value itself, ("[]", TD) for a list's items, ("{}", TD) for a mapping's values."""
    if is_typeddict(annotation):
        return [("", annotation)]
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (types.UnionType, typing.Union):
        return [found for arg in args for found in _typeddicts(arg)]
    if origin is list:
        return [("[]", td) for _, td in _typeddicts(args[0])]
    if origin is dict:
        return [("{}", td) for _, td in _typeddicts(args[1])]
    return []


def _check(value: Any, td: Any, path: str, seen: dict[Any, set[str]], wrong: list[str]) -> None:
    if not isinstance(value, dict):
        wrong.append(f"{path}: a {type(value).__name__}, declared {td.__name__}")
        return
    keys = set(value)
    if missing := td.__required_keys__ - keys:
        wrong.append(f"{path}: {td.__name__} declares {sorted(missing)}, not built")
    if extra := keys - td.__required_keys__ - td.__optional_keys__:
        wrong.append(f"{path}: built {sorted(extra)}, not declared in {td.__name__}")
    seen.setdefault(td, set()).update(keys)
    hints = get_type_hints(td)
    for key in keys & set(hints):
        for how, inner in _typeddicts(hints[key]):
            item = value[key]
            if item is None:
                continue
            if how == "":
                _check(item, inner, f"{path}.{key}", seen, wrong)
            elif how == "[]":
                for i, v in enumerate(item):
                    _check(v, inner, f"{path}.{key}[{i}]", seen, wrong)
            else:
                for k, v in item.items():
                    _check(v, inner, f"{path}.{key}.{k}", seen, wrong)


def _reachable(td: Any, out: set[Any]) -> set[Any]:
    if td not in out:
        out.add(td)
        for annotation in get_type_hints(td).values():
            for _, inner in _typeddicts(annotation):
                _reachable(inner, out)
    return out


def test_the_variants_are_valid_tenants_and_reach_every_state() -> None:
    assert validate_repo(REPO) == []
    ctxs = {name: ctx for name, _, ctx, _ in BUILT}
    assert ctxs["state-offboarding"]["offboarding"] is not None
    assert ctxs["state-migrating"]["migration"] is not None
    assert ctxs["state-restoring"]["backups"]["restore"] is not None
    assert any(ctx["move"] is not None for name, _, ctx, _ in BUILT if name == "state-moving")
    assert any(ctx["move"] and ctx["move"]["shared_egress"] for name, _, ctx, _ in BUILT if name == "state-to-shared")


def test_the_built_keys_are_the_declared_keys() -> None:
    seen: dict[Any, set[str]] = {}
    wrong: list[str] = []
    for name, values, ctx, late in BUILT:
        _check(values, context_types.EffectiveValues, f"{name}: effective", seen, wrong)
        _check(ctx, context_types.TenantContext, f"{name}: context", seen, wrong)
        _check(late, context_types.PodValues, f"{name}: from_pods", seen, wrong)
    assert wrong == []
    declared = _reachable(context_types.TenantContext, set()) | _reachable(context_types.EffectiveValues, set())
    # Every nested TypedDict was built at least once (none sits unused behind a None) ...
    assert declared - set(seen) == set()
    # ... and every key it declares, unless the input files may leave it out.
    never = {td.__name__: sorted(set(get_type_hints(td)) - seen[td]) for td in declared - INPUTS}
    assert {k: v for k, v in never.items() if v} == {}


def test_the_stages_are_what_the_context_builds_first_and_then() -> None:
    """BaseContext is what the modules computing the later keys read; TenantContext adds them."""
    base = set(get_type_hints(context_types.BaseContext))
    late = set(get_type_hints(context_types.TenantContext)) - base
    assert {"migration", "backups", "move", "offboarding", "monitoring", "secrets", "backup_storage"} <= late
    assert base.isdisjoint(get_type_hints(context_types.PodValues))
    # The routing entry's context is the whole context's too (routing.routing_context builds it alone).
    hints, whole = get_type_hints(context_types.RoutingContext), get_type_hints(context_types.TenantContext)
    assert {k: whole[k] for k in hints} == hints
