"""The merge gate: the automation merges a tenant's pull request only when it changes that
tenant's own files, a member of its team approved the exact head commit, and the App's
checks passed on it. Every way around it, replayed against a stand-in GitHub API, is
refused with one line naming the rule, and no merge is attempted."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.flow_repo import dataplane
from tests.github_standin import APP_ID, GitHub, in_workflow, serve
from tests.support import copy_repo

HEAD, OLD = "1" * 40, "2" * 40
ACTIONS_APP = 15368  # github-actions: what any workflow's GITHUB_TOKEN reports as


def _check(name: str = "dataplane / verify", sha: str = HEAD, app: int = APP_ID, conclusion: str = "success",
           id: int = 1) -> dict[str, Any]:
    return {"id": id, "name": name, "head_sha": sha, "status": "completed", "conclusion": conclusion,
            "app": {"id": app}}


def _review(login: str, state: str = "APPROVED", sha: str = HEAD) -> dict[str, Any]:
    return {"user": {"login": login}, "state": state, "commit_id": sha}


@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch) -> Iterator[GitHub]:
    gh = GitHub()
    gh.member("tenant-acme", "acme-lead", "acme-dev")
    gh.member("tenant-globex", "globex-dev")
    gh.member("platform", "plat-eng")
    gh.pulls[7] = {"number": 7, "state": "open", "draft": False, "base": {"ref": "main"}, "head": {"sha": HEAD},
                   "user": {"login": "acme-dev"}, "changed_files": 1}
    gh.files[7] = [{"filename": "tenants/acme/overrides.yaml", "status": "modified"}]
    gh.reviews[7] = [_review("acme-lead")]
    gh.check_runs[HEAD] = [_check()]
    gh.contents["tenants/acme/overrides.yaml"] = b"auto_deploy: false\n"
    with serve(gh, monkeypatch):
        yield gh


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return copy_repo(tmp_path / "repo")


def _gate(root: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    code = dataplane(root, "merge-gate", "7")
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _refused(root: Path, github: GitHub, capsys: pytest.CaptureFixture[str], rule: str) -> str:
    code, said = _gate(root, capsys)
    assert code == 1 and f"refused by rule {rule}:" in said and len(said.strip().splitlines()) == 1, said
    assert github.merged == [] and not any(m == "PUT" for m, _ in github.calls)
    return said


def test_a_tenant_pull_request_approved_by_its_team_with_passing_checks_is_merged_at_its_head(
        root: Path, github: GitHub, capsys: pytest.CaptureFixture[str]) -> None:
    code, said = _gate(root, capsys)
    assert code == 0 and "merging 111111111111 of tenant acme: approved by acme-lead" in said
    assert github.merged == [(7, {"sha": HEAD, "merge_method": "squash"})]
    assert ("GET", "/orgs/dataplane-platform/teams/tenant-acme/memberships/acme-lead") in github.calls


@pytest.mark.parametrize("files, rule", [
    ([{"filename": "rendered/acme/daemonset.yaml"}], "generated-by-automation"),
    ([{"filename": "argocd/tenants/acme/appproject-tenant-acme.yaml"}], "generated-by-automation"),
    ([{"filename": "control-plane/routing/acme/configmap.yaml"}], "generated-by-automation"),
    ([{"filename": "tenants/acme/release.yaml"}], "generated-by-automation"),
    ([{"filename": ".github/CODEOWNERS"}], "generated-by-automation"),
    ([{"filename": "tenants/acme/tenant.yaml"}], "tenant-files-only"),
    ([{"filename": ".github/workflows/pr.yml"}], "tenant-files-only"),
    ([{"filename": "registry/rollout.yaml"}], "tenant-files-only"),
    ([{"filename": "tenants/globex/overrides.yaml"}], "one-tenant"),
    ([{"filename": "tenants/acme/overrides.yaml", "previous_filename": "tenants/globex/overrides.yaml"}], "one-tenant"),
    ([{"filename": "tenants/acme/overrides.yaml\n"}], "plain-path"),
])
def test_a_pull_request_outside_one_tenants_own_files_is_not_merged(
        root: Path, github: GitHub, capsys: pytest.CaptureFixture[str], files: list[dict[str, str]], rule: str) -> None:
    github.files[7] = [{"filename": "tenants/acme/overrides.yaml"}, *files]
    github.pulls[7]["changed_files"] = len(github.files[7])
    github.reviews[7] += [_review("globex-dev"), _review("plat-eng")]  # every team approved: scope still wins
    _refused(root, github, capsys, rule)


@pytest.mark.parametrize("reviews", [
    [],
    [_review("acme-lead", sha=OLD)],  # approved an earlier commit; the tenant pushed since
    [_review("globex-dev")],  # another tenant's team
    [_review("plat-eng")],  # the platform team does not speak for the tenant here
    [_review("stranger")],
    [_review("acme-dev")],  # the author
    [_review("acme-lead"), _review("acme-lead", "CHANGES_REQUESTED")],  # withdrawn
    [_review("acme-lead"), _review("acme-lead", "DISMISSED")],
    [_review("acme-lead", "COMMENTED")],
])
def test_without_an_approval_of_the_head_by_the_tenants_team_nothing_is_merged(
        root: Path, github: GitHub, capsys: pytest.CaptureFixture[str], reviews: list[dict[str, Any]]) -> None:
    github.reviews[7] = reviews
    _refused(root, github, capsys, "tenant-approval")


def test_membership_is_asked_at_merge_time(root: Path, github: GitHub, capsys: pytest.CaptureFixture[str]) -> None:
    """acme-lead approved, then left the team: the approval no longer counts."""
    github.members.discard(("tenant-acme", "acme-lead"))
    _refused(root, github, capsys, "tenant-approval")


@pytest.mark.parametrize("runs", [
    [],
    [_check(app=ACTIONS_APP)],  # a branch workflow's GITHUB_TOKEN reporting the check's name
    [_check(sha=OLD)],
    [_check(conclusion="failure")],
    [_check(conclusion="skipped")],
    [_check(id=2), _check(conclusion="failure", id=3)],  # the latest run counts
    [{**_check(), "status": "in_progress", "conclusion": None}],
    [_check(name="dataplane / verify (forged)")],
])
def test_required_checks_are_the_apps_check_runs_on_the_exact_head(
        root: Path, github: GitHub, capsys: pytest.CaptureFixture[str], runs: list[dict[str, Any]]) -> None:
    github.check_runs[HEAD] = runs
    _refused(root, github, capsys, "required-checks")


@pytest.mark.parametrize("change, rule", [
    ({"state": "closed"}, "open-against-main"),
    ({"draft": True}, "open-against-main"),
    ({"base": {"ref": "release"}}, "open-against-main"),
    ({"changed_files": 2}, "all-files-listed"),  # GitHub's list is short of the pull request
])
def test_only_an_open_pull_request_against_main_whose_every_file_is_listed(
        root: Path, github: GitHub, capsys: pytest.CaptureFixture[str], change: dict[str, Any], rule: str) -> None:
    github.pulls[7].update(change)
    _refused(root, github, capsys, rule)


def test_a_push_after_the_decision_makes_github_refuse_the_merge(
        root: Path, github: GitHub, capsys: pytest.CaptureFixture[str]) -> None:
    github.moved_to = "3" * 40
    code, said = _gate(root, capsys)
    assert code == 1 and "refused by rule head-unchanged" in said and github.merged == []


def test_the_gate_runs_from_main_only(root: Path, github: GitHub, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    """A branch workflow carrying the gate has no App key (environment restricted to main),
    and the engine refuses to run there anyway."""
    in_workflow(monkeypatch, "workflow_dispatch", "acme-dev", ref="refs/heads/attack")
    code, said = _gate(root, capsys)
    assert code == 2 and "refused by rule main-only" in said and github.calls == []


def test_the_schedule_gates_every_open_pull_request(root: Path, github: GitHub, capsys: pytest.CaptureFixture[str]) -> None:
    github.pulls[8] = {**github.pulls[7], "number": 8, "head": {"sha": OLD}}
    github.files[8] = [{"filename": "rendered/acme/daemonset.yaml"}]
    github.pulls[9] = {**github.pulls[7], "number": 9, "state": "closed"}
    capsys.readouterr()
    assert dataplane(root, "merge-gate", "--open") == 0
    captured = capsys.readouterr()
    assert "#7: merging" in captured.out and "#8: not merged: refused by rule generated-by-automation" in captured.err
    assert [n for n, _ in github.merged] == [7] and "#9" not in captured.out + captured.err


def test_inputs_no_longer_valid_on_main_are_not_merged(root: Path, github: GitHub,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """The check passed, then main moved (a platform change, or another merge): the gate
    validates the tenant's files at the head commit against main as it is now."""
    github.contents["tenants/acme/overrides.yaml"] = b"cluster: {cpu-workers: {max_replicas: three}}\n"
    before = (root / "tenants/acme/overrides.yaml").read_bytes()
    said = _refused(root, github, capsys, "valid-on-main")
    assert "tenants/acme/overrides.yaml:1:" in said and "max_replicas" in said
    assert (root / "tenants/acme/overrides.yaml").read_bytes() == before  # the checkout is restored
