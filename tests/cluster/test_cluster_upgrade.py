"""Upgrades on a real control plane (render/cluster/upgrade.py), as ArgoCD syncs them:
server-side apply with ArgoCD's field manager, Applications and waves in ArgoCD's order.

1. The committed output of the previous platform release (upgrade.previous_release), synced
   and healthy, then the current committed output over it: every object accepted and
   admitted, every workload rolled out with its pods admitted.
2. Every change a tenant can make in overrides.yaml (hypothesis, over the schema), and
3. a platform change of each registry key (every leaf with a valid alternative value):
   the changed objects sent with dryRun=All over the current output; whenever the API
   server refuses one, the PR checks (`validate`, `validate --against HEAD`) refused the
   change first, and an immutable field the gate refuses on a built-in kind is one the API
   server refuses too (render/cluster/agreement.py).

No Ray runs in a simulated pod: a RayService never leaves Initializing and KubeRay never
observes its changed spec, so these tests are about acceptance and admission, which is
what an upgrade's "no field the API server refuses" asks (docs/validation.md).
Marker `cluster`; one control plane for the module, stopped by pid at the end.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import Phase

from render import git, layout, pools
from render.cluster import (
    agreement,
    api,
    apply,
    bootstrap,
    control_plane,
    health,
    nodes,
    session,
    standins,
    upgrade,
    variations,
    verify,
)
from render.load import Repo, load_repo
from render.problems import ProblemsError
from render.validate import validate_repo
from render.validate.schemas import inline_refs
from tests.conformance.test_merge import _valid as without_disabled_overrides
from tests.conformance.test_merge import overrides_strategy as merge_overrides
from tests.conformance.test_validate_implies_deep import overrides as deep_overrides
from tests.control_plane import running
from tests.hyp import HealthCheck, assume, at_most, given, settings, st
from tests.support import ROOT, missing

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(900)]

BASE_REF = "HEAD"  # what the cluster runs, and what `validate --against` compares with
SETTLE_TIMEOUT_S = 180  # rolling updates of every tenant on a busy 2-core machine
TENANTS = sorted(session.tenant_clouds(ROOT))


@dataclass
class Upgraded:
    """What the module's cluster went through: the previous release's sync, then the current output's."""
    head: str
    previous: str | None
    why_none: str = ""
    previous_objects: int = 0
    refused: list[upgrade.Refusal] = field(default_factory=list)
    items: list[Any] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[control_plane.Paths]:
    with running(ROOT, tmp_path_factory.mktemp("cluster-upgrade")) as (p, _):
        yield p


@pytest.fixture(scope="module")
def upgraded(cluster: control_plane.Paths, tmp_path_factory: pytest.TempPathFactory) -> Upgraded:
    """The previous release's committed output synced as ArgoCD syncs it (every wave
    healthy: apply.run), then the current committed output applied over it in the same
    order. Without a previous release in the history the current output is synced alone
    (the acceptance tests below still need it) and test 1 fails under CI."""
    admin, deploy = _admin(cluster), _deploy(cluster)
    head = git.resolve(ROOT, BASE_REF)
    out = Upgraded(head, None)
    try:
        out.previous = upgrade.previous_release(ROOT, head)
    except upgrade.NoPreviousRelease as e:
        out.why_none = str(e)
    started = time.monotonic()
    if out.previous is None:
        apply.run(upgrade.write_output(upgrade.output_files(ROOT, head), tmp_path_factory.mktemp("current")),
                  admin, deploy, None, lambda _: None)
        return out
    pooled = "pools" in (yaml.safe_load(git.GitTree(ROOT, out.previous).read(layout.PLATFORM_FILE) or b"{}") or {}).get("nodes", {})
    _pool_taints(admin, on=pooled)
    before = apply.run(upgrade.write_output(upgrade.output_files(ROOT, out.previous), tmp_path_factory.mktemp("previous")),
                       admin, deploy, None, lambda _: None)
    _pool_taints(admin, on=True)
    out.previous_objects = before.objects
    out.seconds["previous release, synced healthy"] = time.monotonic() - started
    started = time.monotonic()
    tree = upgrade.output_at(ROOT, head)
    plan = upgrade.in_waves(tree)
    out.items = [item for wave in plan for item in wave.items]
    upgrade.namespaces_of(admin, tree)
    out.refused = upgrade.sync_waves(deploy, plan)
    out.seconds["current output applied over it"] = time.monotonic() - started
    return out


def _pool_taints(admin: api.Api, on: bool) -> None:
    """The nodes with or without the pools' own taints (dataplane.io/pool). A release from
    before node pools ran on untainted worker pools; the platform taints them once that
    release runs (NoSchedule evicts nothing) and then rolls out the pods that tolerate them."""
    clouds = session.tenant_clouds(ROOT)
    for node in nodes.nodes(session.platform(ROOT), sorted(set(clouds.values())), len(clouds)):
        taints = node["spec"].get("taints", [])
        kept = taints if on else [t for t in taints if t["key"] != pools.LABEL_POOL]
        api.request(admin, "patch", f"/api/v1/nodes/{node['metadata']['name']}", {"spec": {"taints": kept or None}},
                    content_type="application/merge-patch+json")


def _admin(p: control_plane.Paths) -> api.Api:
    return api.connect(str(p.kubeconfig))


def _deploy(p: control_plane.Paths) -> api.Api:
    return api.connect(str(bootstrap.deploy_kubeconfig(p)))


def test_previous_release_then_current_every_object_accepted(cluster: control_plane.Paths, upgraded: Upgraded) -> None:
    if upgraded.previous is None:
        missing(upgraded.why_none, "fetch the full history of main")
    assert upgraded.previous != upgraded.head
    assert upgraded.previous_objects > 0 and len(upgraded.items) > 0
    refused = "\n".join(str(r) for r in upgraded.refused)
    assert not upgraded.refused, (f"the API server refused, upgrading from {upgrade.describe(ROOT, upgraded.previous)}"
                                  f" to {upgrade.describe(ROOT, upgraded.head)}:\n{refused}")


def test_after_the_upgrade_every_workload_rolls_out_admitted(cluster: control_plane.Paths, upgraded: Upgraded) -> None:
    """The new pod templates are admitted too (Pod Security, the image policy, the quota
    with its rollout headroom): every Deployment, StatefulSet and Job of the current
    output rolls out, every pod is scheduled and Ready. RayServices are not judged
    (render/cluster/apply.py SIMULATION_LIMITS): KubeRay never observes their new spec."""
    if upgraded.previous is None:
        missing(upgraded.why_none, "fetch the full history of main")
    admin = _admin(cluster)
    judged = [i for i in upgraded.items if i.obj["kind"] not in apply.SIMULATION_LIMITS]
    namespaces = sorted({str(i.obj["metadata"]["namespace"]) for i in judged if i.obj["metadata"].get("namespace")})
    world = standins.World(settled={standins.key(i.obj) for i in judged})
    end = time.monotonic() + SETTLE_TIMEOUT_S
    while True:
        standins.reconcile(admin, namespaces, world)
        waiting = [(i, v) for i in judged if (v := apply.judge(admin, i.obj))[0] != health.HEALTHY]
        if not waiting or time.monotonic() > end:
            break
        time.sleep(1)
    assert not waiting, "not healthy after the upgrade: " + "; ".join(f"{i.describe()}: {s} {m}" for i, (s, m) in waiting[:8])
    assert verify.check(admin, verify.tenant_namespaces(admin)) == []


# 2. Every change a tenant can make in overrides.yaml. The strategies of the property tests
# that already cover overrides.yaml (odd env values and extractor settings; disabled lists,
# enabled flags and auto_deploy), plus the schema's worker-group sizing and spec thresholds.
_PUBLISHED = json.loads((ROOT / layout.SCHEMA_DIR / "overrides.schema.json").read_text(encoding="utf-8"))
SCHEMA = inline_refs(_PUBLISHED, _PUBLISHED)  # the worker groups' one $defs block, under each group
CPUS = st.sampled_from(["1", "2", "3500m", "7", "15", 4])
MEMORY = st.sampled_from(["4Gi", "8Gi", "28Gi", "60Gi", "16000Mi"])


def _from_schema(node: dict[str, Any], name: str = "") -> st.SearchStrategy[Any]:
    """Values a tenant may write at `node` of overrides.schema.json; integers near their
    minimum (large sizes only meet the contract's refusal), quantities from plausible ones."""
    kind = node.get("type")
    if kind == "object":
        return st.fixed_dictionaries({}, optional={k: _from_schema(v, k) for k, v in node["properties"].items()})
    if kind == "integer":
        low = int(node.get("minimum", 0))
        return st.integers(low, min(int(node.get("maximum", low + 8)), low + 8 if "replicas" in name else 10 ** 6))
    if name == "cpu":
        return CPUS
    if name == "memory":
        return MEMORY
    raise AssertionError(f"overrides.schema.json: no strategy for {name!r} ({kind})")


def _merged(parts: tuple[dict[str, Any], ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for part in parts:
        for key, value in part.items():
            out[key] = {**out.get(key, {}), **value} if isinstance(value, dict) and key != "env" else value
    return without_disabled_overrides(out)


SCHEMA_PART = st.fixed_dictionaries({}, optional={k: _from_schema(SCHEMA["properties"][k], k) for k in ("cluster", "spec")})
tenant_changes = st.tuples(deep_overrides, merge_overrides, SCHEMA_PART).map(_merged)


def test_the_strategies_cover_every_key_of_the_schema() -> None:
    """A key added to overrides.schema.json gets a strategy here (or this fails)."""
    drawn: set[str] = set()

    @settings(max_examples=200, phases=[Phase.generate], database=None)
    @given(tenant_changes)
    def draw(example: dict[str, Any]) -> None:
        drawn.update(example)

    draw()
    assert drawn == set(SCHEMA["properties"]), set(SCHEMA["properties"]) ^ drawn


@pytest.fixture(scope="module")
def base(upgraded: Upgraded) -> upgrade.Base:
    """The output on the cluster: BASE_REF's committed output (applied by `upgraded`)."""
    return upgrade.base_at(ROOT, upgraded.head)


def _valid_change(repo: Callable[[], Repo]) -> Repo | None:
    """The changed inputs, or None when `dataplane validate` refuses them (the pull request
    never merges, nothing reaches a cluster)."""
    try:
        changed = repo()
    except ProblemsError:  # the strict loader refuses the file
        return None
    return None if validate_repo(changed) else changed


# Changes validate refuses cost a validate only and are left out of the count: the
# examples that reach the API server are the ones that matter (about a third are valid).
@settings(max_examples=at_most(60), derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(tenant=st.sampled_from(TENANTS), overrides=tenant_changes)
def test_every_tenant_change_the_gate_passes_the_api_server_accepts(cluster: control_plane.Paths, base: upgrade.Base,
                                                                    tenant: str, overrides: dict[str, Any]) -> None:
    repo = _valid_change(lambda: agreement.with_overrides(load_repo(ROOT), tenant, overrides))
    assume(repo is not None)
    assert repo is not None
    verdict = agreement.judge(ROOT, repo, BASE_REF, base, _admin(cluster), _deploy(cluster))
    change = f"tenants/{tenant}/overrides.yaml:\n{yaml.safe_dump(overrides)}"
    assert not verdict.gate_missed, f"the PR checks passed what the API server refuses ({change}): {verdict.gate_missed}"
    assert not verdict.gate_over_strict(), f"the gate refused what the API server accepts ({change}): {verdict.gate_over_strict()}"


# 3. A platform change of each registry key, derived from the files: every key of their
# schemas that the files use (an extractor's `memory` once, not once per extractor).
SCHEMAS = {f: json.loads((ROOT / layout.SCHEMA_DIR / f"{Path(f).stem}.schema.json").read_text(encoding="utf-8"))
           for f in variations.FILES}


def registry_keys() -> dict[tuple[str, str], list[variations.Leaf]]:
    out = []
    for file in variations.FILES:
        out += list(variations.leaves(file, yaml.safe_load((ROOT / file).read_text(encoding="utf-8"))))
    return variations.by_key(out, SCHEMAS)


def _sample(keys: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Every key under the CI profile; an even spread of a few locally (the dev profile)."""
    n = settings.default.max_examples * 3
    return keys if n >= len(keys) else keys[:: max(1, len(keys) // n)]


@dataclass
class Registry:
    keys: int = 0
    changed: int = 0
    sent: int = 0
    refused_first: int = 0
    defects: list[str] = field(default_factory=list)
    without_alternative: list[str] = field(default_factory=list)


def registry_changes(admin: api.Api, deploy: api.Api, base: upgrade.Base, keys: list[tuple[str, str]]) -> Registry:
    """Each key changed in the first of its places that has a valid alternative value."""
    repo = load_repo(ROOT)
    grouped = registry_keys()
    peers = variations.peers([leaf for leaves in grouped.values() for leaf in leaves])
    data = {f: yaml.safe_load((ROOT / f).read_text(encoding="utf-8")) for f in variations.FILES}
    out = Registry(keys=len(keys))
    for key in keys:
        found: tuple[variations.Leaf, Any, Repo] | None = None
        for leaf in grouped[key]:
            for value in variations.candidates(leaf, peers.get((leaf.file, leaf.path[-1]), [])):
                edited = functools.partial(agreement.with_registry, repo, leaf.file,
                                           variations.changed(data[leaf.file], leaf.path, value))
                try:
                    changed = _valid_change(edited)
                except Exception as e:  # noqa: BLE001 - validate must report, never crash
                    out.defects.append(f"{leaf} = {value!r}: validate crashed: {type(e).__name__}: {e}")
                    continue
                if changed is not None:
                    found = (leaf, value, changed)
                    break
            if found:
                break
        if found is None:
            out.without_alternative.append(f"{key[0]}: {key[1]}")
            continue
        leaf, value, changed = found
        verdict = agreement.judge(ROOT, changed, BASE_REF, base, admin, deploy)
        out.changed += 1
        out.sent += verdict.sent
        out.refused_first += bool(verdict.refused_by_checks)
        if verdict.gate_missed:
            out.defects.append(f"{leaf} = {value!r}: the PR checks passed what the API server refuses: {verdict.gate_missed}")
        if verdict.gate_over_strict():
            out.defects.append(f"{leaf} = {value!r}: the gate refused what the API server accepts: "
                               f"{verdict.gate_over_strict()}")
    return out


def test_a_platform_change_of_each_registry_key(cluster: control_plane.Paths, base: upgrade.Base) -> None:
    keys = sorted(registry_keys())
    assert len(keys) > 100, "every key of registry/platform.yaml and registry/extractors.yaml"
    result = registry_changes(_admin(cluster), _deploy(cluster), base, _sample(keys))
    print(f"{result.changed} of {result.keys} registry keys changed ({len(result.without_alternative)} without a valid "
          f"alternative), {result.sent} objects sent, {result.refused_first} changes refused by the PR checks")
    assert result.changed > len(result.without_alternative)
    assert not result.defects, "\n".join(result.defects)
