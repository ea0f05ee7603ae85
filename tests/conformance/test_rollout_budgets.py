"""Upgrade budgets (issue #29, item 2): every tenant a wave moves starts a second RayCluster,
so waves are split into batches that keep each cluster within `upgrades_per_cluster` and
`gpus_per_cluster`, and `rollout plan` prints the peaks a brute-force count finds too."""

from __future__ import annotations

import json
import math
import random
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from render import context, contract, layout, pipeline
from render.cli import main
from render.load import load_repo
from render.pipeline import effective
from render.pods import Size
from render.rollout import gate, moves, surge
from render.rollout.argocd_api import AppStatus
from render.rollout.plan import (
    Candidate,
    PlanSpec,
    WaveSpec,
    batched,
    grouped,
    make_waves,
    peak,
    plan_lines,
)
from render.rollout.surge import Surge
from render.workflows.release import Target
from tests.support import ROOT, copy_repo, snapshot

CLUSTERS = ("dp-a", "dp-b", "dp-c")
HEADS_PER_NODE = 3
# (pool, cpu, memory, GPUs, pods a node holds): the shapes of the generated fleet
HEAD = ("general", Decimal("2.5"), Decimal(8 * 2**30), 0, HEADS_PER_NODE)
CPU = ("cpu-workers", Decimal(7), Decimal(26 * 2**30), 0, 1)
GPU = ("gpu-workers", Decimal(7), Decimal(26 * 2**30), 1, 1)
SPEC = PlanSpec(canary_tenants=("t0000",), waves=(WaveSpec(10, None, 60), WaveSpec(None, 50, 60)),
                upgrades_per_cluster=40, gpus_per_cluster=24)


def fleet(n: int = 1000, seed: int = 29) -> tuple[list[Candidate], dict[str, Surge], dict[str, tuple[str, int, int]]]:
    """n tenants on a few clusters, each with its own (cluster, CPU workers, GPU workers)."""
    rng = random.Random(seed)
    shapes = {f"t{i:04d}": (rng.choice(CLUSTERS), rng.randint(0, 2), rng.choice([0, 0, 0, 1, 2, 4])) for i in range(n)}
    surges = {}
    for name, (cluster, cpus, gpus) in shapes.items():
        pods = [(HEAD, 1)] + ([(CPU, cpus)] if cpus else []) + ([(GPU, gpus)] if gpus else [])
        surges[name] = Surge(cluster, gpus, tuple(sorted(pods)))
    return [Candidate(name, True) for name in shapes], surges, shapes


def brute_force(batch: tuple[str, ...], shapes: dict[str, tuple[str, int, int]]) -> dict[str, tuple[int, int, int]]:
    """cluster -> (upgrades, extra nodes, extra GPUs), counted from the tenants themselves."""
    out = {}
    for cluster in CLUSTERS:
        mine = [shapes[t] for t in batch if shapes[t][0] == cluster]
        if mine:
            gpus = sum(g for _, _, g in mine)
            nodes = math.ceil(len(mine) / HEADS_PER_NODE) + sum(c for _, c, _ in mine) + gpus
            out[cluster] = (len(mine), nodes, gpus)
    return out


def test_a_thousand_tenant_plan_keeps_every_batch_within_the_budgets_and_prints_true_peaks():
    tenants, surges, shapes = fleet()
    waves = make_waves(SPEC, tenants, "2026.12.1")
    steps = batched(waves, surges, SPEC)
    assert [t for w in steps.waves for t in w.tenants].count("t0001") == 1
    assert sorted(t for w in steps.waves for t in w.tenants) == sorted(shapes)  # every tenant, once
    text = "\n".join(plan_lines(steps, 30, "2026.12.1", SPEC))
    for (name, parts), wave in zip(grouped(steps), waves.waves, strict=True):
        assert name == wave.name and sorted(t for b in parts for t in b.tenants) == sorted(wave.tenants)
        assert all(b.soak_minutes == 0 for b in parts[:-1]) and parts[-1].soak_minutes == wave.soak_minutes
        counts = []
        for b in parts:
            counted = brute_force(b.tenants, shapes)
            assert all(u <= SPEC.upgrades_per_cluster and g <= SPEC.gpus_per_cluster for u, _, g in counted.values()), b.name
            assert {c: (x.tenants, x.nodes, x.gpus) for c, x in b.load} == counted, b.name
            counts += counted.values()
            if len(parts) > 1:
                printed = re.search(rf"^     {b.name} \((\d+) tenant\(s\); at most (\d+) upgrade\(s\), (\d+) extra node\(s\) "
                                    rf"\(\S+\) and (\d+) extra GPU\(s\)", text, re.M)
                assert printed, b.name
                assert [int(x) for x in printed.groups()] == [len(b.tenants), max(u for u, _, _ in counted.values()),
                                                              max(n for _, n, _ in counted.values()),
                                                              max(g for _, _, g in counted.values())]
        p = peak(parts)
        assert (p.upgrades, p.nodes, p.gpus) == (max(c[0] for c in counts), max(c[1] for c in counts),
                                                 max(c[2] for c in counts))
    # The budgets bind: the 50 % wave (~495 tenants, ~165 a cluster) takes several batches.
    assert len(grouped(steps)[2][1]) >= 5
    assert re.search(r"^  3\. wave-2 \(\d+ tenant\(s\) in \d+ batches", text, re.M)


def test_batches_are_as_few_as_the_tightest_cluster_allows():
    tenants, surges, shapes = fleet(300, seed=7)
    spec = PlanSpec(waves=(WaveSpec(None, 100, 60),), upgrades_per_cluster=10)
    [wave] = make_waves(spec, tenants, "v").waves
    parts = batched(make_waves(spec, tenants, "v"), surges, spec).waves
    busiest = max(sum(1 for t in wave.tenants if shapes[t][0] == c) for c in CLUSTERS)
    assert len(parts) == math.ceil(busiest / 10)


def test_without_budgets_a_wave_is_one_step_with_its_own_name():
    tenants, surges, _ = fleet(50)
    spec = PlanSpec(waves=(WaveSpec(None, 50, 60),))
    waves = make_waves(spec, tenants, "v")
    steps = batched(waves, surges, spec)
    assert [(w.name, w.tenants, w.soak_minutes) for w in steps.waves] == [(w.name, w.tenants, w.soak_minutes)
                                                                          for w in waves.waves]


def test_advance_moves_one_batch_at_a_time():
    """Each batch is a step of the recorded rollout: the next moves once the last is Healthy
    and Synced (no soak between batches), the wave's soak comes after its last batch."""
    tenants, surges, _ = fleet(60)
    spec = PlanSpec(canary_tenants=("t0000",), waves=(WaveSpec(None, 100, 45),), upgrades_per_cluster=5)
    steps = batched(make_waves(spec, tenants, "2026.12.1"), surges, spec)
    t0 = datetime(2026, 12, 1, 15, tzinfo=UTC)
    state = moves.new_state(steps, Target("2026.12.1", "img", "a" * 40), 30, "b" * 40, t0)
    names = [w.name for w in state.waves]
    assert names[0] == "canary" and names[1:4] == ["wave-1-batch-1", "wave-1-batch-2", "wave-1-batch-3"]
    state = state.with_wave(1, replace(state.waves[1], base="b" * 40, moved_at=t0))
    healthy = {t: gate.TenantHealth(t, (AppStatus(f"tenant-{t}", True, "Healthy", "Synced", "c" * 40),), True)
               for t in state.moved_tenants()}
    d = gate.decide(state, healthy, t0 + timedelta(minutes=1))
    assert d.kind == gate.ADVANCE and "wave-1-batch-2" in d.message


def test_a_tenants_surge_is_its_second_raycluster_on_the_node_model():
    repo = load_repo(ROOT)
    eff = effective(repo.tenants["globex"], repo.current)
    ctx = context.tenant_context(eff, repo.current.platform.data)
    s = surge.of_context(ctx, repo.current.platform.data)
    pods = contract.second_cluster(ctx)
    assert s.gpus == sum(int(res.get("nvidia.com/gpu", 0)) * n for _, res, n in pods) > 0
    assert sum(n for _, n in s.pods) == sum(n for _, _, n in pods if n > 0)
    assert s.cluster == ctx["tenant"]["cluster"]


@pytest.mark.parametrize("tenant", ["acme", "globex", "initech", "umbrella"])
def test_the_budgeted_second_cluster_is_the_pod_lists_ray_pods_at_their_starting_count(tenant):
    # The plan budgets from the context (before anything is built); the quota's headroom
    # counts the same pods from the built objects. They must agree, pod for pod.
    repo = load_repo(ROOT)
    ctx, pod_list = pipeline.pod_list(effective(repo.tenants[tenant], repo.current), repo.current)
    from_objects = {p.name: (sum((c.requests for c in p.containers if not c.sidecar), Size()), p.start_count)
                    for p in pod_list if p.ray_group}
    from_context = {name: (Size.of(res), n) for name, res, n in contract.second_cluster(ctx)}
    assert from_context == from_objects


def _plan(root, capsys, *args):
    code = main(["--repo", str(root), *args])
    return code, capsys.readouterr()


@pytest.mark.parametrize("budget", ["upgrades_per_cluster: 0", "gpus_per_cluster: 0", "gpus_per_cluster: 1"])
def test_a_budget_no_upgrade_fits_is_one_line_naming_the_key_and_nothing_is_written(tmp_path, capsys, budget):
    root = copy_repo(tmp_path)
    plan = root / layout.ROLLOUT_PLAN_FILE
    plan.write_text(re.sub(r"budgets:\n(  .*\n)+", f"budgets:\n  {budget}\n", plan.read_text()))
    before = snapshot(root, (layout.REGISTRY_DIR, layout.TENANTS_DIR, *layout.OUTPUT_DIRS))
    key = budget.split(":")[0]
    for args in (["--format", "text", "validate"], ["--format", "text", "rollout", "plan", "2026.12.1"]):
        code, out = _plan(root, capsys, *args)
        assert code == 2, out
        [line] = [ln for ln in out.err.splitlines() if ln.startswith(layout.ROLLOUT_PLAN_FILE)]
        assert f": budgets.{key}: " in line
        if budget.endswith("1"):  # globex's upgrade starts 2 GPUs
            assert "tenant globex's upgrade starts 2 GPU(s), more than 1" in line
        else:
            assert "a budget of 0" in line
    assert snapshot(root, (layout.REGISTRY_DIR, layout.TENANTS_DIR, *layout.OUTPUT_DIRS)) == before


def test_rollout_plan_prints_each_waves_peak_in_text_and_json(tmp_path, capsys):
    root = copy_repo(tmp_path)
    code, out = _plan(root, capsys, "rollout", "plan", "2026.12.1")
    assert code == 0
    assert "budgets: at most 25 upgrade(s) and 8 extra GPU(s) per cluster at once" in out.out
    assert re.search(r"peak: at most 1 upgrade\(s\), \d+ extra node\(s\) \(dp-gke-europe-west4\) and 2 extra GPU\(s\)",
                     out.out)
    code, out = _plan(root, capsys, "rollout", "plan", "2026.12.1", "-o", "json")
    doc = json.loads(out.out)
    assert doc["budgets"] == {"upgrades_per_cluster": 25, "gpus_per_cluster": 8}
    globex = next(w for w in doc["waves"] if w["tenants"] == ["globex"])
    assert globex["peak"]["gpus"] == 2 and globex["batches"][0]["clusters"]["dp-gke-europe-west4"]["gpus"] == 2
