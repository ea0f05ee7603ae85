"""The rollout plan, the gate and the ArgoCD client, without git: waves from candidates,
hostile or malformed plan data refused with a Problem, decisions from health and time."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import yaml

from render.cli import main
from render.load import parse_yaml
from render.problems import ProblemsError
from render.rollout import gate
from render.rollout.argocd_api import AppStatus, ArgoCD, ArgoCDError, application_names, base_url, parse_application
from render.rollout.plan import Candidate, PlanSpec, WaveSpec, make_waves, order_key, parse_plan
from render.rollout.state import State, WaveState, from_document, state_text
from render.workflows import scope
from tests.support import ROOT, copy_repo

TENANTS = {"acme", "globex", "initech", "umbrella"}
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def plan(text: str) -> PlanSpec:
    return parse_plan(parse_yaml(text, "registry/rollout.yaml"), TENANTS)


def problems(text: str) -> list[str]:
    with pytest.raises(ProblemsError) as caught:
        plan(text)
    return [p.format() for p in caught.value.problems]


def test_the_example_plan_is_valid():
    spec = parse_plan(parse_yaml((ROOT / "registry/rollout.yaml").read_text(), "registry/rollout.yaml"), TENANTS)
    assert spec.canary_tenants == ("acme",) and spec.timeout_minutes == 30 and len(spec.waves) == 2


@pytest.mark.parametrize("text, expected", [
    ("canary:\n  tenants: [acme, nobody]\n", "registry/rollout.yaml:2:19: canary.tenants[1]: no tenant named 'nobody'"),
    ("canary:\n  tenants: [globx]\n", "did you mean 'globex'?"),
    ("canary:\n  tenants: [../acme]\n", '"../acme" is not a valid entry of tenants'),
    ("canary:\n  tenants: [tenants/acme]\n", '"tenants/acme" is not a valid entry of tenants'),
    ("canary:\n  labels: [Canary!]\n", '"Canary!" is not a valid entry of labels'),
    ("waves:\n  - percent: -5\n", "waves[0].percent: percent -5 is below the minimum of 1"),
    ("waves:\n  - percent: 150\n", "waves[0].percent: percent 150 is above the maximum of 100"),
    ("waves:\n  - count: 0\n", "waves[0].count: count 0 is below the minimum of 1"),
    ("waves:\n  - count: 2\n    percent: 10\n", "waves[0]: a wave needs a size, and this one has both count and percent"),
    ("waves:\n  - soak_minutes: 5\n", "waves[0]: a wave needs a size, and this one has neither count nor percent"),
    ("wavs:\n  - count: 1\n", "unknown key 'wavs'"),
    ("soak_minutes: \"60\"\n", "soak_minutes: expected"),
    ("gate:\n  timeout_minutes: 0\n", "gate.timeout_minutes: timeout_minutes 0 is below the minimum of 1"),
    ("canary:\n  tenants: [acme, acme]\n", "\"acme\" is listed twice"),
])
def test_hostile_or_malformed_plans_are_refused_with_a_problem(text, expected):
    found = problems(text)
    assert any(expected in p for p in found), found


def test_every_problem_of_a_plan_is_reported_at_once():
    found = problems("canary:\n  tenants: [nobody, ghost]\nwaves:\n  - count: 1\n    percent: 5\n")
    assert len(found) == 3


def test_validate_and_platform_update_refuse_a_bad_plan(tmp_path, capsys):
    root = copy_repo(tmp_path)
    (root / "registry/rollout.yaml").write_text("canary:\n  tenants: [nobody]\nwaves:\n  - percent: 101\n")
    capsys.readouterr()
    assert main(["--repo", str(root), "--format", "text", "validate"]) == 2
    err = capsys.readouterr().err
    assert "registry/rollout.yaml:4:14: waves[0].percent: percent 101 is above the maximum of 100" in err
    assert "1 problem found." in err  # the schema first; names once the shape is right
    assert main(["--repo", str(root), "rollout", "plan", "2026.12.1"]) == 2


def candidates(n: int) -> list[Candidate]:
    return [Candidate(f"t{i:02d}", True) for i in range(n)]


def test_waves_take_counts_and_percentages_of_the_tenants_after_the_canaries_in_a_fixed_order():
    spec = PlanSpec(soak_minutes=60, canary_tenants=("t00",), canary_labels=("canary",), canary_soak_minutes=120,
                    waves=(WaveSpec(2, None, 30), WaveSpec(None, 25, 45)))
    tenants = candidates(12) + [Candidate("vol", True, labels=frozenset({"canary"}))]
    waves = make_waves(spec, tenants, "2026.12.1")
    assert [w.name for w in waves.waves] == ["canary", "wave-1", "wave-2", "rest"]
    assert waves.waves[0].tenants == ("t00", "vol") and waves.waves[0].soak_minutes == 120
    pool = sorted((f"t{i:02d}" for i in range(1, 12)), key=order_key)
    assert waves.waves[1].tenants == tuple(pool[:2]) and waves.waves[1].soak_minutes == 30
    assert waves.waves[2].tenants == tuple(pool[2:5])  # 25% of 11, rounded up
    assert waves.waves[3].tenants == tuple(pool[5:]) and waves.waves[3].soak_minutes == 60
    assert make_waves(spec, list(reversed(tenants)), "2026.12.1") == waves  # the input order does not matter


def test_pinned_fork_and_skipping_tenants_are_in_no_wave():
    tenants = [Candidate("a", False), Candidate("b", True, fork=True), Candidate("c", True, skip=frozenset({"2026.12.1"})),
               Candidate("d", True)]
    waves = make_waves(PlanSpec(canary_tenants=("a", "c")), tenants, "2026.12.1")
    assert [w.tenants for w in waves.waves] == [("d",)]
    assert waves.held == {"a": "auto_deploy is false", "b": "runs its fork image",
                          "c": "skips 2026.12.1 (tenant.yaml rollout.skip)"}
    assert [w.tenants for w in make_waves(PlanSpec(), tenants, "2026.12.2").waves] == [tuple(sorted("cd", key=order_key))]


def test_waves_beyond_the_tenants_are_dropped():
    waves = make_waves(PlanSpec(waves=(WaveSpec(None, 100, 60), WaveSpec(5, None, 60))), candidates(3), "v1")
    assert [w.name for w in waves.waves] == ["wave-1"] and len(waves.waves[0].tenants) == 3


def test_rollout_plan_prints_waves_and_duration_and_changes_nothing(tmp_path, capsys):
    root = copy_repo(tmp_path)
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    assert main(["--repo", str(root), "rollout", "plan", "2026.12.1"]) == 0
    out = capsys.readouterr().out
    assert "1. canary (1 tenant(s), soak 2h00m; moved by `dataplane platform-update`): acme" in out
    assert "not moved: initech: auto_deploy is false" in out
    assert "expected duration: 4h00m of soak" in out and "5h30m in all" in out
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file() and ".cache" not in p.parts} == before


def test_rollout_plan_refuses_a_hostile_version(tmp_path):
    assert main(["--repo", str(copy_repo(tmp_path)), "rollout", "plan", "../../etc"]) == 2


# -- the gate -------------------------------------------------------------------------

def state(*, soak: int = 60, healthy_since: datetime | None = None, waves: int = 2) -> State:
    ws = [WaveState("canary", ("acme",), soak, "a" * 40, T0, healthy_since)]
    ws += [WaveState(f"wave-{i}", (f"t{i}",), soak) for i in range(1, waves)]
    return State("2026.12.1", "img:2026.12.1", "b" * 40, "rolling", T0, 30, tuple(ws))


def health(tenant: str = "acme", *, health_: str = "Healthy", sync: str = "Synced", at_wave: bool = True,
           message: str = "") -> dict[str, gate.TenantHealth]:
    apps = (AppStatus(f"tenant-{tenant}", True, health_, sync, "c" * 40, message),
            AppStatus(f"tenant-{tenant}-guardrails", True, "Healthy", "Synced", "c" * 40))
    return {tenant: gate.TenantHealth(tenant, apps, at_wave)}


def test_a_degraded_tenant_halts_at_once_naming_it_and_why():
    d = gate.decide(state(), health(health_="Degraded", message="engine: DEPLOY_FAILED"), T0 + timedelta(minutes=1))
    assert (d.kind, d.tenant) == (gate.HALT, "acme")
    assert d.message == "tenant acme: Application tenant-acme is Degraded (engine: DEPLOY_FAILED)"


def test_not_healthy_waits_until_the_gate_then_halts():
    progressing = health(health_="Progressing", sync="OutOfSync")
    assert gate.decide(state(), progressing, T0 + timedelta(minutes=29)).kind == gate.WAIT
    d = gate.decide(state(), progressing, T0 + timedelta(minutes=30))
    assert d.kind == gate.HALT and "not Healthy and Synced within 30m of wave canary" in d.message


def test_synced_to_an_older_commit_is_not_synced():
    d = gate.decide(state(), health(at_wave=False), T0 + timedelta(minutes=5))
    assert d.kind == gate.WAIT and "has not synced the commit that moved it" in d.message


def test_soak_then_advance_then_complete():
    assert gate.decide(state(), health(), T0 + timedelta(minutes=5)).kind == gate.SOAK
    soaking = state(healthy_since=T0 + timedelta(minutes=5))
    assert "1m left" in gate.decide(soaking, health(), T0 + timedelta(minutes=64, seconds=1)).message
    assert gate.decide(soaking, health(), T0 + timedelta(minutes=65)).kind == gate.ADVANCE
    assert gate.decide(state(waves=1, healthy_since=T0), health(), T0 + timedelta(minutes=60)).kind == gate.COMPLETE
    assert gate.decide(state(soak=0), health(), T0).kind == gate.ADVANCE


def test_a_degraded_tenant_of_an_earlier_wave_halts_too():
    s = state()
    s = s.with_wave(1, replace(s.waves[1], base="d" * 40, moved_at=T0 + timedelta(hours=2)))
    d = gate.decide(s, health() | health("t1") | health("acme", health_="Degraded"), T0 + timedelta(hours=2, minutes=1))
    assert (d.kind, d.tenant) == (gate.HALT, "acme")


SERVE = "active Serve application text_extractor_v1 is DEPLOY_FAILED: ImportError"


def test_a_tenant_breaking_its_own_serve_application_holds_itself_not_the_fleet():
    s = state()
    s = s.with_wave(1, replace(s.waves[1], base="d" * 40, moved_at=T0 + timedelta(hours=2)))
    d = gate.decide(s, health() | health("t1") | health("acme", health_="Degraded", message=SERVE),
                    T0 + timedelta(hours=2, minutes=1))
    assert (d.kind, d.tenant) == (gate.HOLD, "acme") and "only its promotion stops" in d.message
    held = replace(s, held={"acme": "held"})  # recorded: no longer counted
    assert gate.decide(held, health("t1") | health("acme", health_="Degraded", message=SERVE),
                       T0 + timedelta(hours=2, minutes=1)).kind == gate.SOAK


def test_in_the_current_wave_the_wave_waits_one_timeout_then_holds_or_halts():
    two = replace(state(), waves=(replace(state().waves[0], tenants=("acme", "t9")), state().waves[1]))
    broken = health("acme", health_="Degraded", message=SERVE) | health("t9")
    assert gate.decide(two, broken, T0 + timedelta(minutes=29)).kind == gate.WAIT
    d = gate.decide(two, broken, T0 + timedelta(minutes=30))
    assert (d.kind, d.tenant) == (gate.HOLD, "acme")
    everyone = broken | health("t9", health_="Degraded", message=SERVE)  # the release is the common cause
    assert gate.decide(two, everyone, T0 + timedelta(minutes=30)).kind == gate.HALT
    assert gate.decide(state(), health(health_="Degraded", message=SERVE), T0 + timedelta(minutes=30)).kind == gate.HALT


@pytest.mark.parametrize("message", ["engine: DEPLOY_FAILED", "RayCluster head pod CrashLoopBackOff",
                                     SERVE + "\nactive Serve application x is DEPLOY_FAILED"])
def test_only_a_serve_application_failure_is_the_tenants_own(message):
    assert not gate.tenant_breakable(health(health_="Degraded", message=message)["acme"])
    guardrails = health(health_="Degraded", message=SERVE)["acme"]
    guardrails = replace(guardrails, apps=(guardrails.apps[0], replace(guardrails.apps[1], health="Degraded")))
    assert not gate.tenant_breakable(guardrails)


# -- state ------------------------------------------------------------------------------

def test_state_round_trips_and_a_broken_hand_edit_is_a_problem():
    s = state(healthy_since=T0 + timedelta(minutes=5))
    text = state_text(s)
    assert from_document(parse_yaml(text, "rollout/state.yaml")) == s
    broken = text.replace("b" * 40, "../../etc/passwd")
    with pytest.raises(ProblemsError) as caught:
        from_document(parse_yaml(broken, "rollout/state.yaml"))
    assert "revision" in caught.value.problems[0].format()
    with pytest.raises(ProblemsError) as caught:
        from_document(parse_yaml(text.replace("2026-12-01T09:05:00Z", "yesterday"), "rollout/state.yaml"))
    assert "'yesterday' is not a UTC time" in caught.value.problems[0].format()
    with pytest.raises(ProblemsError) as caught:
        from_document(parse_yaml(text.replace(f"  base: {'a' * 40}\n", ""), "rollout/state.yaml"))
    assert "a wave that moved needs `base`" in caught.value.problems[0].format()


# -- ArgoCD client ---------------------------------------------------------------------

def test_the_gate_reads_the_applications_argocd_renders():
    for tenant in ("acme", "globex"):
        names = {yaml.safe_load(p.read_text())["metadata"]["name"]
                 for p in (ROOT / f"argocd/tenants/{tenant}").glob("application-*.yaml")}
        assert names == set(application_names(tenant))


@pytest.mark.parametrize("url", ["http://argocd.example.com", "ftp://argocd", "https://user:pw@argocd.example.com",
                                 "https://argocd.example.com/?x=1", "https://"])
def test_the_token_goes_only_to_an_https_server_or_this_machine(url):
    with pytest.raises(ArgoCDError):
        base_url(url)


def test_server_urls():
    assert base_url("argocd.example.com") == "https://argocd.example.com"
    assert base_url("http://127.0.0.1:8080/") == "http://127.0.0.1:8080"


def test_application_names_are_checked_before_any_request():
    with pytest.raises(ArgoCDError):
        ArgoCD("https://argocd.example.com", "t").application("../settings")
    with pytest.raises(ArgoCDError):
        ArgoCD("https://argocd.example.com", "")


def test_odd_application_answers_are_unknown_not_healthy():
    for data in ({}, {"status": None}, {"status": {"health": "x", "sync": []}}, []):
        app = parse_application("tenant-acme", data)
        assert not app.ok and app.health == "Unknown"


# -- scope ------------------------------------------------------------------------------

def test_a_rollout_commit_may_touch_only_its_tenants_and_the_state():
    ok = ["rollout/state.yaml", "tenants/acme/release.yaml", "rendered/acme/x.yaml", "argocd/tenants/acme/a.yaml"]
    assert scope.check_rollout_paths(["acme"], ok) == []
    bad = ["tenants/acme/overrides.yaml", "tenants/globex/release.yaml", "registry/rollout.yaml",
           "rollout/other.yaml", "rollout/../registry/platform.yaml", "rollout/state.yaml/x"]
    assert len(scope.check_rollout_paths(["acme"], bad)) == len(bad)


def test_a_tenant_deploy_may_not_touch_the_rollout_state():
    assert scope.check_paths("acme", ["rollout/state.yaml"], release=True)


def test_a_label_in_tenant_yaml_makes_a_canary(tmp_path, capsys):
    root = copy_repo(tmp_path)
    tenant = root / "tenants/globex/tenant.yaml"
    tenant.write_text(tenant.read_text() + "rollout:\n  labels: [canary]\n")
    assert main(["--repo", str(root), "rollout", "plan", "2026.12.1"]) == 0
    assert "1. canary (2 tenant(s), soak 2h00m; moved by `dataplane platform-update`): acme, globex" in capsys.readouterr().out
    tenant.write_text(tenant.read_text().replace("labels: [canary]", "labels: [../canary]"))
    assert main(["--repo", str(root), "--format", "text", "validate"]) == 2
    assert "tenants/globex/tenant.yaml" in capsys.readouterr().err
