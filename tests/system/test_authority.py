"""Dispatch is authorised: each attack of a writer who is not entitled, replayed as the
workflow would run it (GitHub's run variables, a stand-in GitHub API for team membership,
a temporary origin), is refused with one line naming the rule, and nothing is pushed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from render.workflows import authority
from tests.flow_repo import clone, dataplane, event, git, make_origin, origin_head
from tests.github_standin import GitHub, in_workflow, serve

RELEASE_DIGEST = "sha256:" + "9" * 64  # what the release job pushed (a stand-in)

PLATFORM, GLOBEX = "platform", "tenant-globex"


@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch) -> Iterator[GitHub]:
    gh = GitHub()
    gh.member(PLATFORM, "plat-eng")
    gh.member(GLOBEX, "globex-dev")
    gh.refs["globex/engine heads/feature"] = {"object": {"type": "commit", "sha": "a" * 40}}
    gh.refs["globex/engine tags/v1"] = {"object": {"type": "commit", "sha": "b" * 40}}
    with serve(gh, monkeypatch):
        yield gh


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, Path]:
    origin = make_origin(tmp_path)
    return origin, clone(origin, tmp_path / "work")


def _refused(capsys: pytest.CaptureFixture[str], rule: str) -> str:
    err = capsys.readouterr().err
    assert f"refused by rule {rule}" in err and "Traceback" not in err
    return err


def _unchanged(origin: Path, work: Path, start: str) -> None:
    assert origin_head(origin) == start and git(work, "status", "--porcelain") == ""
    tags = git(origin, "tag", "--list").split()
    assert [t for t in tags if not t.startswith("platform/base/")] == []  # no release tag was created (the copy's own pin aside)


@pytest.mark.parametrize("event_name", ["workflow_dispatch", "repository_dispatch"])
def test_a_writer_outside_the_platform_team_cannot_release_or_downgrade_the_fleet(
        repo: tuple[Path, Path], github: GitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], event_name: str) -> None:
    """Issue item 1: `version=2099.1.1` dispatched by any writer moved every tenant."""
    origin, work = repo
    start = origin_head(origin)
    in_workflow(monkeypatch, event_name, "globex-dev")
    key = "inputs" if event_name == "workflow_dispatch" else "client_payload"
    payload = event(tmp_path, "dispatch", {key: {"version": "2099.1.1"}, "sender": {"login": "plat-eng"}})
    assert dataplane(work, "platform-update", "--event-name", event_name, "--event", str(payload), "--push") == 2
    err = _refused(capsys, "platform-dispatch")
    assert "globex-dev is not an active member of @dataplane-platform/platform" in err
    _unchanged(origin, work, start)
    assert ("GET", "/orgs/dataplane-platform/teams/platform/memberships/globex-dev") in github.calls


def test_a_member_may_dispatch_but_a_non_members_rerun_is_refused(
        repo: tuple[Path, Path], github: GitHub, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """github.triggering_actor, not the payload's sender nor the first run's actor: a re-run
    of a platform engineer's dispatch by someone else is that someone's request."""
    origin, work = repo
    start = origin_head(origin)
    in_workflow(monkeypatch, "workflow_dispatch", "plat-eng", triggering="globex-dev")
    assert dataplane(work, "platform-update", "--version", "2099.1.1", "--digest", RELEASE_DIGEST, "--push") == 2
    _refused(capsys, "platform-dispatch")
    _unchanged(origin, work, start)
    in_workflow(monkeypatch, "workflow_dispatch", "plat-eng")
    assert dataplane(work, "platform-update", "--version", "2099.1.1", "--digest", RELEASE_DIGEST, "--push") == 0
    assert origin_head(origin) != start


def test_a_branch_workflow_cannot_run_a_command_that_writes_main(
        repo: tuple[Path, Path], github: GitHub, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    origin, work = repo
    start = origin_head(origin)
    in_workflow(monkeypatch, "push", "plat-eng", ref="refs/heads/attack")
    assert dataplane(work, "platform-update", "--push") == 2
    _refused(capsys, "main-only")
    _unchanged(origin, work, start)


@pytest.mark.parametrize("verb", [["rollout", "rollback"], ["rollout", "advance", "--argocd-url", "http://127.0.0.1:9"]])
def test_only_the_platform_team_moves_the_rollout_by_hand(
        repo: tuple[Path, Path], github: GitHub, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], verb: list[str]) -> None:
    """Issue item 6: any writer dispatched `rollback` and stalled the fleet."""
    origin, work = repo
    start = origin_head(origin)
    in_workflow(monkeypatch, "workflow_dispatch", "globex-dev")
    assert dataplane(work, *verb, "--push") == 2
    _refused(capsys, "platform-dispatch")
    _unchanged(origin, work, start)
    in_workflow(monkeypatch, "workflow_dispatch", "plat-eng")
    if verb[1] == "rollback":
        assert dataplane(work, *verb, "--push") == 0  # allowed: nothing recorded to roll back
        assert "no rollout recorded" in capsys.readouterr().out


def test_the_schedule_advances_the_rollout_but_never_rolls_it_back(
        repo: tuple[Path, Path], github: GitHub, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    _, work = repo
    in_workflow(monkeypatch, "schedule", "github-actions[bot]")
    assert dataplane(work, "rollout", "rollback", "--push") == 2
    _refused(capsys, "automatic-event")
    assert dataplane(work, "rollout", "advance", "--argocd-url", "http://127.0.0.1:9") == 0  # no rollout recorded


@pytest.mark.parametrize("actor, expected", [("acme-dev", 2), ("globex-dev", 0), ("plat-eng", 0)])
def test_config_deploy_of_a_tenant_by_its_own_team_or_the_platform_only(
        repo: tuple[Path, Path], github: GitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], actor: str, expected: int) -> None:
    """Issue item 8: any writer could config-deploy another tenant."""
    origin, work = repo
    start = origin_head(origin)
    in_workflow(monkeypatch, "workflow_dispatch", actor)
    payload = event(tmp_path, "dispatch", {"inputs": {"tenant": "globex"}})
    assert dataplane(work, "config-deploy", "--event", str(payload), "--push") == expected
    if expected:
        err = _refused(capsys, "tenant-dispatch")
        assert "@dataplane-platform/tenant-globex or @dataplane-platform/platform" in err
        _unchanged(origin, work, start)
    else:
        assert origin_head(origin) != start


@pytest.mark.parametrize("actor, triggering", [("acme-dev", None), ("globex-dev", "acme-dev"), ("plat-eng", None)])
def test_a_fork_deploy_is_dispatched_by_the_tenants_team_only(
        repo: tuple[Path, Path], github: GitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], actor: str, triggering: str | None) -> None:
    origin, work = repo
    start = origin_head(origin)
    in_workflow(monkeypatch, "workflow_dispatch", actor, triggering=triggering)
    payload = event(tmp_path, "dispatch", {"inputs": {"tenant": "globex", "repository": "globex/engine",
                                                      "ref": "feature"}, "sender": {"login": "globex-dev"}})
    output = tmp_path / "output"
    assert dataplane(work, "fork-inputs", "--event", str(payload), "--output", str(output)) == 2
    _refused(capsys, "tenant-dispatch")
    assert not output.exists()
    assert dataplane(work, "fork-deploy", "--event", str(payload), f"--commit={'a' * 40}",
                     f"--digest=sha256:{'d' * 64}", "--push") == 2
    _unchanged(origin, work, start)


@pytest.mark.parametrize("ref, commit", [("feature", "a" * 40), ("refs/heads/feature", "a" * 40), ("v1", "b" * 40)])
def test_a_fork_ref_is_bound_to_the_commit_its_branch_or_tag_names(
        repo: tuple[Path, Path], github: GitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        ref: str, commit: str) -> None:
    _, work = repo
    in_workflow(monkeypatch, "workflow_dispatch", "globex-dev")
    payload = event(tmp_path, "dispatch", {"inputs": {"tenant": "globex", "repository": "globex/engine", "ref": ref}})
    output = tmp_path / "output"
    assert dataplane(work, "fork-inputs", "--event", str(payload), "--output", str(output)) == 0
    assert f"commit={commit}\n" in output.read_text()


@pytest.mark.parametrize("ref", ["refs/pull/7/head", "refs/pull/7/merge", "c" * 40, "deadbeef", "no-such-branch",
                                 "refs/remotes/origin/main"])
def test_a_pull_request_ref_or_a_bare_commit_is_not_a_fork_deploy(
        repo: tuple[Path, Path], github: GitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], ref: str) -> None:
    """Issue item 8: `refs/pull/N/head` or any 40-hex id deployed code nobody declared (GitHub
    serves every commit of a fork network through any fork of it)."""
    _, work = repo
    in_workflow(monkeypatch, "workflow_dispatch", "globex-dev")
    payload = event(tmp_path, "dispatch", {"inputs": {"tenant": "globex", "repository": "globex/engine", "ref": ref}})
    output = tmp_path / "output"
    assert dataplane(work, "fork-inputs", "--event", str(payload), "--output", str(output)) == 2
    _refused(capsys, "fork-ref")
    assert not output.exists()


def test_no_token_means_no_dispatch(repo: tuple[Path, Path], github: GitHub, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    origin, work = repo
    start = origin_head(origin)
    monkeypatch.delenv("DATAPLANE_TEAMS_TOKEN")
    in_workflow(monkeypatch, "workflow_dispatch", "plat-eng")
    assert dataplane(work, "platform-update", "--version", "2099.1.1", "--digest", RELEASE_DIGEST, "--push") == 2
    _refused(capsys, "membership-unverifiable")
    _unchanged(origin, work, start)


def test_outside_github_actions_no_run_is_checked() -> None:
    assert authority.current_run({}) is None
    authority.authorize(None, authority.PLATFORM_UPDATE, platform_team="@o/p")  # a person's own credentials


@pytest.mark.parametrize("action, inputs, actor, expected, said", [
    ("config-deploy", {"tenant": "globex"}, "acme-dev", 2, "refused by rule tenant-dispatch"),
    ("config-deploy", {"tenant": "globex"}, "globex-dev", 0, "tenant=globex\n"),
    ("config-deploy", {"tenant": "../globex"}, "plat-eng", 2, "is not a tenant name"),
    ("platform-update", {"version": "2099.1.1"}, "globex-dev", 2, "refused by rule platform-dispatch"),
    ("platform-update", {"version": "2099.1.1"}, "plat-eng", 0, "version=2099.1.1\n"),
    ("platform-update", {"version": "$(id)"}, "plat-eng", 2, "is not a platform version"),
    ("rollout rollback", {}, "globex-dev", 2, "refused by rule platform-dispatch"),
])
def test_the_first_job_of_a_dispatch_authorizes_it(
        repo: tuple[Path, Path], github: GitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], action: str, inputs: dict[str, str], actor: str, expected: int,
        said: str) -> None:
    _, work = repo
    in_workflow(monkeypatch, "workflow_dispatch", actor)
    output = tmp_path / "output"
    capsys.readouterr()
    assert dataplane(work, "authorize", action, "--event", str(event(tmp_path, "d", {"inputs": inputs})),
                     "--output", str(output)) == expected
    captured = capsys.readouterr()
    assert said in (output.read_text() if expected == 0 else captured.err)
    assert output.exists() == (expected == 0 and bool(inputs))


def _comment(tmp_path: Path, body: str) -> Path:
    return event(tmp_path, "comment", {"comment": {"body": body, "user": {"login": "whoever"}}, "issue": {"number": 3}})


@pytest.mark.parametrize("body, actor, expected, said", [
    ("/deploy-config globex", "globex-dev", 0, ""),
    ("/deploy-config globex\nplease", "plat-eng", 0, ""),
    ("/deploy-config globex", "acme-dev", 2, "refused by rule tenant-dispatch"),
    ("/deploy-config", "globex-dev", 2, "is not `/deploy-config TENANT`"),
    ("/deploy-config ../globex", "globex-dev", 2, "is not a tenant name"),
    ("deploy globex", "globex-dev", 2, "is not `/deploy-config TENANT`"),
])
def test_a_tenant_without_write_access_requests_a_config_deploy_in_a_comment(
        repo: tuple[Path, Path], github: GitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], body: str, actor: str, expected: int, said: str) -> None:
    """workflow_dispatch needs write access, which no tenant has: its team comments instead,
    and the commenter (the run's triggering actor) is checked like a dispatcher."""
    origin, work = repo
    start = origin_head(origin)
    in_workflow(monkeypatch, "issue_comment", actor)
    assert dataplane(work, "config-deploy", "--event", str(_comment(tmp_path, body)), "--push") == expected
    err = capsys.readouterr().err
    assert said in err and (origin_head(origin) != start) == (expected == 0)


@pytest.mark.parametrize("body, expected, said", [
    ("/deploy-fork globex globex/engine feature", 0, "commit=" + "a" * 40),
    ("/deploy-fork globex globex/engine refs/pull/1/head", 2, "refused by rule fork-ref"),
    ("/deploy-fork globex acme-corp/engine main", 2, "is not a fork globex may deploy from"),
    ("/deploy-fork globex globex/engine", 2, "is not `/deploy-fork TENANT REPOSITORY REF`"),
])
def test_a_fork_deploy_requested_in_a_comment_is_checked_like_a_dispatch(
        repo: tuple[Path, Path], github: GitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], body: str, expected: int, said: str) -> None:
    _, work = repo
    in_workflow(monkeypatch, "issue_comment", "globex-dev")
    output = tmp_path / "output"
    assert dataplane(work, "fork-inputs", "--event", str(_comment(tmp_path, body)), "--output", str(output)) == expected
    assert said in (output.read_text() if expected == 0 else capsys.readouterr().err)


def test_a_comment_cannot_release_or_roll_back(repo: tuple[Path, Path], github: GitHub,
                                               monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    _, work = repo
    in_workflow(monkeypatch, "issue_comment", "plat-eng")
    assert dataplane(work, "rollout", "rollback", "--push") == 2
    _refused(capsys, "automatic-event")


def test_superseding_a_rollout_needs_the_platform_team(repo: tuple[Path, Path], github: GitHub,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 23 item 6: a platform dispatch supersedes the rollout in progress; by a writer
    outside the platform team it is refused and the rollout's state stays as it was."""
    origin, work = repo
    assert dataplane(work, "platform-update", "--version", "2026.12.1", "--digest", RELEASE_DIGEST,
                     "--push") == 0  # a person, locally
    state = (work / "rollout/state.yaml").read_bytes()
    start = origin_head(origin)
    in_workflow(monkeypatch, "workflow_dispatch", "globex-dev")
    assert dataplane(work, "platform-update", "--version", "2026.12.2", "--digest", "sha256:" + "8" * 64,
                     "--push") == 2
    _refused(capsys, "platform-dispatch")
    assert origin_head(origin) == start and (work / "rollout/state.yaml").read_bytes() == state
    assert b"supersedes" not in state
