"""Flow: progressive platform rollouts on a throwaway repository, gated by a stand-in
ArgoCD API on 127.0.0.1, with an injected clock (no test waits for wall-clock time).

The example plan (registry/rollout.yaml): canary acme (soak 120 min), then wave-1 (one
tenant, soak 60) and wave-2 (the rest); initech has auto_deploy: false.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from render.commands.platform_update import platform_update
from render.problems import ProblemsError
from render.rollout import cli as rollout
from render.rollout.argocd_api import ArgoCD
from render.rollout.state import read_state
from render.workflows.release import release_text
from tests.argocd_standin import TOKEN, FakeArgoCD, serve
from tests.flow_repo import clone, commit_all, dataplane, files_under, git, make_origin, origin_head, push, tag_release, touched
from tests.support import edit

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
TENANTS = ("acme", "globex", "initech", "umbrella")
IMAGE = "ghcr.io/dataplane-platform/engine:"


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def at(self, minutes: int) -> Clock:
        self.now = START + timedelta(minutes=minutes)
        return self


@pytest.fixture
def argocd() -> Iterator[FakeArgoCD]:
    yield from serve(FakeArgoCD())


@pytest.fixture
def work(tmp_path: Path) -> Path:
    work = clone(make_origin(tmp_path), tmp_path / "work")
    (work / ".git/info/exclude").write_text(".cache/\n")  # the render cache of `dataplane render` calls
    return work


def release(work: Path, tenant: str) -> dict[str, object]:
    return dict(yaml.safe_load((work / f"tenants/{tenant}/release.yaml").read_text()))


def tenant_bytes(work: Path, tenant: str) -> dict[str, bytes]:
    return files_under(work, f"tenants/{tenant}") | files_under(work, f"rendered/{tenant}") | \
        files_under(work, f"argocd/tenants/{tenant}")


def git_bytes(work: Path, rev: str, rel: str) -> bytes:
    return subprocess.run(["git", "-C", str(work), "show", f"{rev}:{rel}"], capture_output=True, check=True).stdout


def output(files: dict[str, bytes]) -> dict[str, bytes]:
    return {k: v for k, v in files.items() if not k.startswith("tenants/")}


def digest_of(version: str) -> str:
    """A stand-in for the digest the release job pushed for `version`."""
    return "sha256:" + hashlib.sha256(version.encode()).hexdigest()


def update(work: Path, version: str, clock: Clock, tmp_path: Path | None = None) -> int:
    return platform_update(root=work, version=version, digest=digest_of(version), push=True, clock=clock,
                           summary=tmp_path / "update.md" if tmp_path else None)


def advance(work: Path, argocd: FakeArgoCD, clock: Clock) -> int:
    """One scheduled run: ArgoCD has synced main's tip by then (unless a test says otherwise)."""
    return rollout.advance(root=work, client=lambda: ArgoCD(argocd.url, TOKEN), clock=clock, push=True)


def sync(work: Path, argocd: FakeArgoCD) -> None:
    argocd.revision = git(work, "rev-parse", "HEAD")


def test_a_healthy_rollout_moves_wave_by_wave_after_each_soak(work, argocd, tmp_path, capsys):
    clock = Clock()
    before = {t: tenant_bytes(work, t) for t in ("globex", "umbrella", "initech")}
    assert update(work, "2026.12.1", clock, tmp_path) == 0
    target = git(work, "rev-parse", "HEAD^")
    changed = touched(work, "HEAD^..HEAD")
    assert "rollout/state.yaml" in changed
    assert all(p == "rollout/state.yaml" or "/acme/" in p or p.endswith("/release.yaml") for p in changed)
    assert release(work, "acme") == {"platform_version": "2026.12.1", "image": IMAGE + "2026.12.1@" + digest_of("2026.12.1"),
                                     "platform_revision": target}
    for tenant in ("globex", "umbrella"):  # pinned where they were (a platform_revision), output unchanged
        assert release(work, tenant)["platform_version"] == "2026.11.3"
        assert output(tenant_bytes(work, tenant)) == output(before[tenant])
    report = (tmp_path / "update.md").read_text()
    assert "**umbrella** stays on 2026.11.3: waits for wave wave-1" in report and "### Progressive rollout" in report

    sync(work, argocd)
    head = origin_head(work.parent / "origin.git")
    assert advance(work, argocd, clock.at(5)) == 0  # healthy: the soak starts
    assert read_state(work).waves[0].healthy_since == clock.now
    assert advance(work, argocd, clock.at(124)) == 0  # 119 minutes of 120: nothing moves
    assert release(work, "umbrella")["platform_version"] == "2026.11.3"
    assert git(work, "rev-list", "--count", f"{head}..HEAD") == "1"

    assert advance(work, argocd, clock.at(125)) == 0  # soaked: wave-1 moves
    assert release(work, "umbrella")["platform_revision"] == target
    parent = git(work, "rev-parse", "HEAD^")
    assert dataplane(work, "check-scope", "--rollout", "umbrella", "--since", parent) == 0
    assert dataplane(work, "check-scope", "--rollout", "acme", "--since", parent) == 2
    assert dataplane(work, "check-scope", "umbrella", "--release", "--since", parent) == 2  # the state is not a tenant's
    assert release(work, "globex")["platform_version"] == "2026.11.3"
    capsys.readouterr()
    assert advance(work, argocd, clock.at(130)) == 0  # ArgoCD still shows the commit before the move
    assert "umbrella: ArgoCD has not synced the commit that moved it yet" in capsys.readouterr().out
    assert read_state(work).waves[1].healthy_since is None

    for minutes in (135, 195):  # synced -> soak starts; soaked -> wave-2
        sync(work, argocd)
        assert advance(work, argocd, clock.at(minutes)) == 0
    assert release(work, "globex")["platform_revision"] == target
    for minutes in (200, 260):
        sync(work, argocd)
        assert advance(work, argocd, clock.at(minutes)) == 0
    state = read_state(work)
    assert state.status == "complete" and [w.tenants for w in state.waves] == [("acme",), ("umbrella",), ("globex",)]
    # auto_deploy: false: never moved (pinned where it was by the first update), output unchanged
    assert output(tenant_bytes(work, "initech")) == output(before["initech"])
    assert release(work, "initech")["platform_version"] == "2026.10.2"
    assert {p for _, p, auth in argocd.requests if auth == f"Bearer {TOKEN}"} >= {
        "/api/v1/applications/tenant-acme", "/api/v1/applications/tenant-acme-guardrails"}
    assert "tenant-initech" not in argocd.read()
    capsys.readouterr()
    assert dataplane(work, "rollout", "status") == 0
    said = capsys.readouterr().out
    assert f"rollout of platform 2026.12.1 at {target[:12]}" in said and ": complete, started 2026-12-01T09:00:00Z" in said
    assert "  2. wave-1: moved 2026-12-01T11:05:00Z, healthy since 2026-12-01T11:15:00Z; soak 1h00m; umbrella" in said
    assert dataplane(work, "render", "--check") == 0
    assert git(work, "rev-parse", "HEAD") == origin_head(work.parent / "origin.git")


def pin_all(work: Path) -> None:
    """Every tenant pinned to HEAD's platform, as after any earlier platform update."""
    head = tag_release(work, git(work, "rev-parse", "HEAD"))  # a platform release, as pins must be
    for folder in sorted((work / "tenants").iterdir()):
        (folder / "release.yaml").write_text(release_text({**release(work, folder.name), "platform_revision": head}))
    commit_all(work, "pin every tenant")
    push(work)


def test_a_degraded_canary_halts_and_rollback_restores_the_previous_bytes(work, argocd, tmp_path, monkeypatch, capsys):
    pin_all(work)
    acme_before = tenant_bytes(work, "acme")
    assert update(work, "2026.12.1", Clock()) == 0
    sync(work, argocd)
    argocd.set("tenant-acme", health="Degraded", revision=argocd.revision,
               message="RayService engine: serve application text_extractor_v1 DEPLOY_FAILED")
    monkeypatch.setenv("ARGOCD_AUTH_TOKEN", TOKEN)
    for key, value in (("GITHUB_TOKEN", "gh-token"), ("GITHUB_REPOSITORY", "dataplane-platform/dataplane"),
                       ("GITHUB_API_URL", argocd.url), ("GITHUB_RUN_ID", "42")):
        monkeypatch.setenv(key, value)
    summary = tmp_path / "summary.md"
    capsys.readouterr()

    assert dataplane(work, "rollout", "advance", "--argocd-url", argocd.url, "--push", "--summary", str(summary),
                     "--commit-status") == 1

    said = capsys.readouterr().out
    assert "rollout halted at wave canary: tenant acme: Application tenant-acme is Degraded" in said
    assert "DEPLOY_FAILED" in said and "DEPLOY_FAILED" in summary.read_text()
    assert read_state(work).status == "halted"
    path, status = argocd.statuses[-1]  # on the release's commit, for the PR and commit views
    assert path == f"/repos/dataplane-platform/dataplane/statuses/{read_state(work).revision}"
    assert status["state"] == "failure" and status["context"] == "dataplane/rollout"
    assert status["description"].startswith("2026.12.1: rollout halted at wave canary: tenant acme")
    assert status["target_url"].endswith("/dataplane-platform/dataplane/actions/runs/42")
    halted = origin_head(work.parent / "origin.git")
    assert git(work, "rev-parse", "HEAD") == halted
    argocd.set("tenant-acme")  # healthy again: a halted rollout still moves nothing
    assert dataplane(work, "rollout", "advance", "--argocd-url", argocd.url, "--push") == 0
    assert origin_head(work.parent / "origin.git") == halted
    assert release(work, "umbrella")["platform_version"] == "2026.11.3"

    assert dataplane(work, "rollout", "rollback", "--push", "--summary", str(summary)) == 0

    assert git(work, "rev-parse", "HEAD^") == halted  # one commit
    assert tenant_bytes(work, "acme") == acme_before
    assert all(p == "rollout/state.yaml" or "acme" in p for p in touched(work, "HEAD^..HEAD"))
    state = read_state(work)
    assert state.status == "rolled_back" and "Degraded" in state.reason and state.waves[0].rolled_back
    assert dataplane(work, "render", "--check") == 0
    assert update(work, "2026.12.1", Clock()) == 0  # the same release again does not move the canary back
    assert release(work, "acme")["platform_version"] == "2026.11.3"
    assert output(tenant_bytes(work, "acme")) == output(acme_before)


def test_a_canary_not_synced_within_the_gate_halts_the_rollout(work, argocd, capsys):
    clock = Clock()
    assert update(work, "2026.12.1", clock) == 0
    sync(work, argocd)
    argocd.set("tenant-acme-guardrails", sync="OutOfSync", health="Progressing", revision=argocd.revision)
    assert advance(work, argocd, clock.at(29)) == 0  # still within the 30 minutes
    assert read_state(work).status == "rolling"
    capsys.readouterr()
    assert advance(work, argocd, clock.at(30)) == 1
    assert ("tenant acme: not Healthy and Synced within 30m of wave canary: "
            "Application tenant-acme-guardrails is Progressing and OutOfSync") in capsys.readouterr().out
    assert read_state(work).status == "halted"


def test_a_tenant_added_during_the_rollout_starts_on_the_newest_release(work, argocd):
    clock = Clock()
    assert update(work, "2026.12.1", clock) == 0
    assert dataplane(work, "new-tenant", "zeta", "--cloud", "gcp", "--region", "us-central1",
                     "--organization-id", "org_2e7a0001") == 0
    assert dataplane(work, "render", "zeta") == 0
    commit_all(work, "tenant zeta")
    push(work)
    sync(work, argocd)
    assert advance(work, argocd, clock.at(1)) == 0
    assert advance(work, argocd, clock.at(121)) == 0

    state = read_state(work)
    assert state.waves[1].tenants == ("umbrella",)  # zeta is on the target already: no wave moves it
    assert release(work, "zeta")["platform_revision"] == state.revision
    assert dataplane(work, "render", "--check") == 0


def test_a_new_release_during_a_rollout_supersedes_it(work, argocd, tmp_path):
    clock = Clock()
    assert update(work, "2026.12.1", clock) == 0
    sync(work, argocd)
    assert advance(work, argocd, clock.at(1)) == 0
    head = origin_head(work.parent / "origin.git")
    assert update(work, "2026.12.1", clock) == 0  # the same release again: nothing changes
    assert origin_head(work.parent / "origin.git") == head

    assert update(work, "2026.12.2", clock.at(60), tmp_path) == 0

    state = read_state(work)
    assert state.version == "2026.12.2" and state.status == "rolling"
    assert state.supersedes.startswith("2026.12.1 at ") and "rolling at wave canary" in state.supersedes
    assert "**Supersedes** the rollout of 2026.12.1" in (tmp_path / "update.md").read_text()
    assert release(work, "acme")["platform_version"] == "2026.12.2"
    assert release(work, "umbrella")["platform_version"] == "2026.11.3"
    assert "supersedes the rollout of 2026.12.1" in git(work, "log", "-1", "--format=%s")
    sync(work, argocd)
    assert advance(work, argocd, clock.at(61)) == 0
    assert advance(work, argocd, clock.at(181)) == 0
    assert release(work, "umbrella")["platform_version"] == "2026.12.2"  # never 2026.12.1
    assert dataplane(work, "render", "--check") == 0


def test_a_tenant_may_skip_a_release(work, argocd):
    tenant = work / "tenants/umbrella/tenant.yaml"
    tenant.write_text(tenant.read_text() + "rollout:\n  skip: [\"2026.12.1\"]\n")
    commit_all(work, "umbrella skips 2026.12.1")
    push(work)
    before = tenant_bytes(work, "umbrella")
    clock = Clock()
    assert update(work, "2026.12.1", clock) == 0
    state = read_state(work)
    assert state.held["umbrella"] == "skips 2026.12.1 (tenant.yaml rollout.skip)"
    assert [w.tenants for w in state.waves] == [("acme",), ("globex",)]
    for minutes in (1, 121, 122, 182):
        sync(work, argocd)
        assert advance(work, argocd, clock.at(minutes)) == 0
    assert read_state(work).status == "complete"
    assert output(tenant_bytes(work, "umbrella")) == output(before)
    assert release(work, "umbrella")["platform_version"] == "2026.11.3"


def test_unreadable_argocd_changes_nothing(work, argocd, capsys):
    assert update(work, "2026.12.1", Clock()) == 0
    head = origin_head(work.parent / "origin.git")
    assert rollout.advance(root=work, client=lambda: ArgoCD(argocd.url, "wrong-token"), clock=Clock(), push=True) == 1
    assert "cannot read ArgoCD, nothing changed: GET application tenant-acme: HTTP 401" in capsys.readouterr().err
    assert origin_head(work.parent / "origin.git") == head


def test_rollback_of_every_wave_restores_each_tenant_from_before_its_own_wave(work, argocd):
    before = {t: tenant_bytes(work, t) for t in ("acme", "umbrella")}
    clock = Clock()
    assert update(work, "2026.12.1", clock) == 0
    sync(work, argocd)
    assert advance(work, argocd, clock.at(1)) == 0
    assert advance(work, argocd, clock.at(121)) == 0  # wave-1: umbrella
    moved = git(work, "rev-parse", "HEAD")
    sync(work, argocd)
    argocd.set("tenant-umbrella", health="Degraded")
    assert advance(work, argocd, clock.at(122)) == 1
    assert read_state(work).status == "halted" and "tenant umbrella" in read_state(work).reason

    assert rollout.rollback(root=work, every_wave=True, reason="bad image", push=True) == 0

    # acme's release.yaml as its wave found it, byte for byte: it renders exactly what it rendered then
    assert output(tenant_bytes(work, "acme")) == output(before["acme"])
    assert (work / "tenants/acme/release.yaml").read_bytes() == before["acme"]["tenants/acme/release.yaml"]
    assert output(tenant_bytes(work, "umbrella")) == output(before["umbrella"])
    assert release(work, "umbrella")["platform_version"] == "2026.11.3"
    # umbrella's release.yaml as wave-1 found it: pinned where it was by the first update
    assert (work / "tenants/umbrella/release.yaml").read_bytes() == \
        git_bytes(work, f"{moved}^", "tenants/umbrella/release.yaml")
    state = read_state(work)
    assert state.status == "rolled_back" and state.reason == "bad image"
    assert all(w.rolled_back for w in state.waves[:2]) and not state.waves[2].moved
    head = origin_head(work.parent / "origin.git")
    assert rollout.rollback(root=work, push=True) == 0  # nothing left to roll back: no commit
    assert origin_head(work.parent / "origin.git") == head
    assert dataplane(work, "render", "--check") == 0


def test_rollback_refuses_a_multi_line_reason(work):
    assert update(work, "2026.12.1", Clock()) == 0
    with pytest.raises(ProblemsError):
        rollout.rollback(root=work, reason="x\n::error::forged", push=True)


def to_the_last_wave(work: Path, argocd: FakeArgoCD, clock: Clock) -> bytes:
    """A rollout of 2026.12.1 moved through its last wave (wave-2, soaking); returns the
    release.yaml the tenants had before it."""
    previous = (work / "tenants/acme/release.yaml").read_bytes()
    assert update(work, "2026.12.1", clock) == 0
    for minutes in (1, 121, 122, 182):  # canary soaks, wave-1 moves and soaks, wave-2 moves
        sync(work, argocd)
        assert advance(work, argocd, clock.at(minutes)) == 0
    assert read_state(work).current == 2
    return previous


def test_a_tenant_added_on_the_previous_release_during_the_last_wave_moves_in_a_wave_of_its_own(work, argocd):
    clock = Clock()
    previous = to_the_last_wave(work, argocd, clock)
    assert dataplane(work, "new-tenant", "zeta", "--cloud", "gcp", "--region", "us-central1",
                     "--organization-id", "org_2e7a0001") == 0
    (work / "tenants/zeta/release.yaml").write_bytes(previous)  # the release before, as a tenant copied from acme
    assert dataplane(work, "render", "zeta") == 0
    commit_all(work, "tenant zeta")
    push(work)
    for minutes in (183, 243):
        sync(work, argocd)
        assert advance(work, argocd, clock.at(minutes)) == 0
    state = read_state(work)
    assert (state.waves[3].name, state.waves[3].tenants, state.status) == ("added-4", ("zeta",), "rolling")
    for minutes in (244, 304):
        sync(work, argocd)
        assert advance(work, argocd, clock.at(minutes)) == 0
    assert read_state(work).status == "complete"
    assert release(work, "zeta")["platform_revision"] == state.revision


def test_tenants_added_during_the_rollout_join_only_as_far_as_the_budgets_allow(work, argocd):
    """Two tenants added on one cluster while the last wave soaks, with room for one upgrade
    there at a time: each moves in a step of its own."""
    clock = Clock()
    previous = to_the_last_wave(work, argocd, clock)
    edit(work, "registry/rollout.yaml", "upgrades_per_cluster: 25", "upgrades_per_cluster: 1")
    for name, org in (("zeta", "org_2e7a0001"), ("eta", "org_2e7a0002")):
        assert dataplane(work, "new-tenant", name, "--cloud", "gcp", "--region", "us-central1",
                         "--organization-id", org) == 0
        (work / f"tenants/{name}/release.yaml").write_bytes(previous)
    assert dataplane(work, "render", "zeta", "eta") == 0
    assert {yaml.safe_load((work / f"tenants/{t}/tenant.yaml").read_text())["cluster"] for t in ("zeta", "eta")} == {
        yaml.safe_load((work / "tenants/acme/tenant.yaml").read_text())["cluster"]}
    commit_all(work, "tenants zeta and eta; one upgrade per cluster at a time")
    push(work)
    for minutes in (183, 243, 244, 304, 305, 365):
        sync(work, argocd)
        assert advance(work, argocd, clock.at(minutes)) == 0
    state = read_state(work)
    assert [(w.name, w.tenants) for w in state.waves[3:]] == [("added-4", ("eta",)), ("added-5", ("zeta",))]
    assert state.status == "complete"
    assert {release(work, t)["platform_revision"] for t in ("zeta", "eta")} == {state.revision}


def probe_timeouts(work: Path) -> dict[str, int]:
    """Each tenant's Celery worker liveness probe timeout, as rendered."""
    def timeout(t: str) -> int:
        worker = yaml.safe_load((work / f"rendered/{t}/deployment-celery-worker.yaml").read_text())
        return worker["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["timeoutSeconds"]
    return {t: timeout(t) for t in TENANTS}


def test_a_registry_change_merged_to_main_moves_no_tenant_until_its_wave(work, argocd, tmp_path, capsys):
    """Every tenant pins a platform release: a registry change (spec.probe_timeout_s) merged to main
    moves none; platform-update moves the canary wave, each advance the next; initech
    (auto_deploy: false) moves only when promoted."""
    clock = Clock()
    before = {t: output(tenant_bytes(work, t)) for t in TENANTS}
    edit(work, "registry/platform.yaml", "probe_timeout_s: 2", "probe_timeout_s: 3")
    assert dataplane(work, "render", "--check", "--no-cache") == 0  # the merge itself moves no tenant
    merge = commit_all(work, "registry: probes wait 3 s")
    push(work)
    assert {t: output(tenant_bytes(work, t)) for t in TENANTS} == before
    payload = tmp_path / "push.json"
    payload.write_text(json.dumps({"ref": "refs/heads/main", "before": "0" * 40, "after": merge}))

    def moved() -> set[str]:
        return {t for t in TENANTS if output(tenant_bytes(work, t)) != before[t]}

    assert platform_update(root=work, event_name="push", event=payload, push=True, clock=clock) == 0
    assert moved() == {"acme"} and probe_timeouts(work)["acme"] == 3
    assert read_state(work).revision == merge and release(work, "acme")["platform_revision"] == merge
    sync(work, argocd)
    assert advance(work, argocd, clock.at(5)) == 0
    assert advance(work, argocd, clock.at(125)) == 0  # the canary soaked: wave-1
    assert moved() == {"acme", "umbrella"}
    for minutes in (135, 195):
        sync(work, argocd)
        assert advance(work, argocd, clock.at(minutes)) == 0
    assert moved() == {"acme", "umbrella", "globex"}
    assert probe_timeouts(work) == {"acme": 3, "globex": 3, "initech": 2, "umbrella": 3}

    assert dataplane(work, "promote", "initech") == 0  # auto_deploy: false: only a promote moves it
    assert moved() == set(TENANTS) and release(work, "initech")["platform_revision"] == merge
    assert dataplane(work, "render", "--check", "--no-cache") == 0


def test_a_tenant_breaking_its_own_serve_application_holds_only_itself(work, argocd, capsys):
    """Issue 23 item 6: one tenant making its own Serve application Degraded halted the
    rollout for everyone. Now the canary (acme, soaked and healthy) breaks its own Serve
    application after wave-1 moved: acme alone is held, umbrella's wave soaks and globex moves."""
    clock = Clock()
    assert update(work, "2026.12.1", clock) == 0
    sync(work, argocd)
    assert advance(work, argocd, clock.at(5)) == 0
    assert advance(work, argocd, clock.at(125)) == 0  # wave-1 (umbrella) moves
    sync(work, argocd)
    argocd.set("tenant-acme", health="Degraded", revision=argocd.revision,
               message="active Serve application text_extractor_v1 is DEPLOY_FAILED: ImportError")
    capsys.readouterr()
    assert advance(work, argocd, clock.at(130)) == 0
    assert "tenant acme: Application tenant-acme is Degraded" in capsys.readouterr().out
    state = read_state(work)
    assert state.status == "rolling" and "acme" in state.held and "Serve application" in state.held["acme"]
    assert touched(work, "HEAD^..HEAD") == ["rollout/state.yaml"]
    for minutes in (135, 195):  # umbrella soaks; acme's Degraded no longer counts
        sync(work, argocd)
        assert advance(work, argocd, clock.at(minutes)) == 0
    assert release(work, "globex")["platform_version"] == "2026.12.1"


def test_a_degraded_guardrail_still_halts_the_fleet(work, argocd):
    """What a tenant cannot break alone (its guardrails, or more than a Serve application) is
    the release's: the rollout halts at once, as before."""
    clock = Clock()
    assert update(work, "2026.12.1", clock) == 0
    sync(work, argocd)
    argocd.set("tenant-acme-guardrails", health="Degraded", revision=argocd.revision, message="quota")
    argocd.set("tenant-acme", health="Degraded", revision=argocd.revision,
               message="active Serve application text_extractor_v1 is DEPLOY_FAILED")
    assert advance(work, argocd, clock.at(5)) == 1
    assert read_state(work).status == "halted" and "acme" not in read_state(work).held
