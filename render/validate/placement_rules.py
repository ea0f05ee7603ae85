"""Placement rules (render/placement.py's model) over a tenant's or the registry's values.

An error: the extractors' min_replicas do not all fit their group at its max_replicas (a
minimum Ray Serve could never schedule). Warnings: an extractor that cannot reach its
max_replicas with the others at their minimums, and a group whose extractors cannot all be
at their max_replicas at once (what `dataplane preview` deploys). A problem points at the
first value the checked party owns (the tenant's overrides, or the registry); a shortfall
the tenant inherits from the registry is reported once, at the registry.

pool_problems: the node pools and registry/platform.yaml `nodes.placement`, the one
mapping of components to pools (render/pools.py) every pod's nodeSelector and tolerations,
the capacity model and the simulated cluster nodes are made from.

Pure: documents in, problems out. Run only on schema-valid documents.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from render import clouds, placement, pools
from render.load import Document, TenantFiles
from render.merge import merge_tenant
from render.problems import Problem
from render.validate.effective_rules import Layers, Origin, _blame, _get

SIZE_KEYS = ("num_cpus", "memory", "num_gpus")
GROUP_KEYS = ("cpu", "memory", "gpus")


def tenant_problems(files: TenantFiles, platform: Document, extractors: Document,
                    values: Mapping[str, Any] | None = None) -> tuple[list[Problem], list[Problem]]:
    """(errors, warnings) of one tenant. `values`: its merged values, when the caller has them."""
    values = merge_tenant(platform, extractors, files).values if values is None else values
    return check(values, Layers(platform, extractors, files.overrides), tenant=True)


def registry_problems(platform: Document, extractors: Document) -> tuple[list[Problem], list[Problem]]:
    """(errors, warnings) of the platform defaults with the extractors enabled by default."""
    defaults = _get(platform.data, "extractor_defaults") or {}
    entries = {i: {**defaults, **e, "id": i, "enabled": e.get("enabled_by_default", True)}
               for i, e in (_get(extractors.data, "extractors") or {}).items()}
    values = {"cluster": _get(platform.data, "worker_groups") or {}, "extractors": entries}
    return check(values, Layers(platform, extractors, None), tenant=False)


def check(values: Mapping[str, Any], layers: Layers, tenant: bool) -> tuple[list[Problem], list[Problem]]:
    p = placement.place(values)
    entries = values["extractors"]
    errors, warnings = [], []
    for g in p.groups:
        members = [r for r in p.extractors if r.group == g.group and r.fits_pod]  # too big for a pod: effective_rules
        where = f"{g.group} holds {placement.describe(g.holds)} at max_replicas {g.pods}"
        for r in members:
            e = entries[r.extractor]
            others = [(o, entries[o.extractor]) for o in members if o is not r]
            if not r.min_fits:
                at = _first(tenant, [_ext(layers, e, "min_replicas"), layers.group(g.group, "max_replicas"),
                                     *[layers.group(g.group, k) for k in GROUP_KEYS], *_others(layers, others),
                                     *[_ext(layers, e, k) for k in SIZE_KEYS]])
                if at is not None:
                    errors.append(at.problem(
                        f"min_replicas {r.min_replicas} of {r.extractor} cannot all be placed: {where}, and the "
                        f"extractors' minimums need {placement.describe(g.need_min)}: only {r.placed_min} fit",
                        f"lower overrides.{r.name}.min_replicas to {r.placed_min}, or raise cluster.{g.group}.max_replicas to "
                        f"{placement.pods_for_minimums(values, g.group)}"))
            elif r.reachable < r.max_replicas:
                at = _first(tenant, [_ext(layers, e, "max_replicas"), layers.group(g.group, "max_replicas"),
                                     *[layers.group(g.group, k) for k in GROUP_KEYS], *_others(layers, others),
                                     *[_ext(layers, e, k) for k in SIZE_KEYS]])
                if at is not None:
                    taken = ", ".join(f"{o.extractor} {o.min_replicas}" for o, _ in others if o.min_replicas)
                    warnings.append(at.problem(
                        f"{r.extractor} can reach {r.reachable} of its max_replicas {r.max_replicas}: {where}"
                        + (f", with the other extractors at their minimums ({taken})" if taken else ""),
                        (f"lower overrides.{r.name}.max_replicas to {r.reachable}" if r.reachable
                         else "lower the other extractors' min_replicas") + f", or raise cluster.{g.group}.max_replicas "
                        f"to {placement.pods_for_reach(values, r.extractor)}"))
        if g.min_fits and not g.max_fits and all(r.reachable >= r.max_replicas for r in members):
            at = _first(tenant, [layers.group(g.group, "max_replicas"), *[layers.group(g.group, k) for k in GROUP_KEYS],
                                 *_others(layers, [(r, entries[r.extractor]) for r in members])])
            if at is not None:
                warnings.append(at.problem(
                    f"{where}; its extractors at their max_replicas need {placement.describe(g.need_max)}: "
                    "they cannot all peak at once", f"raise cluster.{g.group}.max_replicas to "
                    f"{placement.pods_for_maximums(values, g.group)} (`dataplane preview` places them all)"))
    return errors, warnings


def _ext(layers: Layers, e: dict[str, Any], key: str) -> Origin:
    return layers.extractor(e["id"], e.get("name", e["id"]), key)


def _others(layers: Layers, others: list[tuple[placement.Reach, dict[str, Any]]]) -> list[Origin]:
    return [_ext(layers, e, k) for _, e in others for k in ("min_replicas", "enabled", *SIZE_KEYS)]


def _first(tenant: bool, origins: list[Origin]) -> Origin | None:
    return _blame(tenant, *origins)


def pool_problems(platform: Document) -> list[Problem]:
    """The node pools and the placement of every component (render/pools.py): each component
    on a declared pool with a machine type on every cloud; a worker group alone on a dedicated
    pool (a small pod there takes the room a whole-node worker needs: the scheduler spreads
    pods, and the worker then finds no whole node); GPUs only where the machines have them."""
    data = platform.data
    declared = _get(data, "nodes", "pools") or {}
    placed = _get(data, "nodes", "placement") or {}
    machines = _get(data, "nodes", "machines") or {}
    groups = _get(data, "worker_groups") or {}
    out = []
    for component, pool in placed.items():
        at = ("nodes", "placement", component)
        if pool not in declared:
            out.append(platform.problem(at, f"{component} is placed on the pool {pool!r}, which `nodes.pools` does not "
                                            "declare", f"one of: {', '.join(sorted(declared))}"))
            continue
        spec = declared[pool] or {}
        for cloud in clouds.names():
            machine = pools.machine(data, cloud, pool)
            if machine not in machines:
                out.append(platform.problem(("nodes", "pools", pool), f"pool {pool} has no machine type on {cloud} "
                                            f"that `nodes.machines` declares ({machine or 'none'})",
                                            f"give it `machine: {{{cloud}: <type>}}` and declare the type in nodes.machines"))
            elif component in groups and int(groups[component].get("gpus") or 0) > int(machines[machine].get("gpus") or 0):
                out.append(platform.problem(at, f"{component} needs {groups[component]['gpus']} GPU per pod; the "
                                                f"{pool} pool's {machine} has {machines[machine].get('gpus', 0)}",
                                            "place it on a GPU pool"))
        others = sorted(c for c, p in placed.items() if p == pool and c not in groups)
        if component in groups and not (spec.get("dedicated") and not others):
            # Blame what is wrong: the other component's placement, or the pool's own `dedicated`.
            what = f"also holds {', '.join(others)}" if others else "is not dedicated"
            where = ("nodes", "placement", others[0]) if others else ("nodes", "pools", pool, "dedicated")
            out.append(platform.problem(where, f"worker group {component} fills whole nodes of the {pool} pool, which "
                                               f"{what}: smaller pods spread over its nodes and a worker then finds none "
                                               "with room", "keep a worker group alone on a pool with `dedicated: true`"))
    return out
