"""Every command that commits checks its preconditions before it writes anything, has a
dry run that shows exactly what it would commit, tag and push, never drops a local commit,
and reports what it wrote. Real git: a bare origin and a clone (tests/flow_repo.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.flow_repo import clone, commit_all, dataplane, git, make_origin, origin_head

# The pushed image's digest the release and fork jobs pass on.
DIGEST = f"--digest=sha256:{'d' * 64}"
FORK = ["fork-deploy", "--tenant", "acme", "--repository", "acme-corp/engine", "--ref", "main", f"--commit={'a' * 40}", DIGEST]
# Each command that commits to main, as a workflow runs it.
COMMANDS = {
    "platform-update": ["platform-update", "--version", "2026.12.1", DIGEST],
    "config-deploy": ["config-deploy", "globex"],
    "fork-deploy": FORK,
    "rollout-advance": ["rollout", "advance", "--argocd-url", "https://127.0.0.1:9"],
    "rollout-rollback": ["rollout", "rollback", "--reason", "test"],
    "generate": ["generate"],
}
# What each one's dry run says it would commit (the tags a platform update makes, too).
WOULD = {
    "platform-update": ["would commit: platform: engine 2026.12.1@sha256:" + "d" * 64 + " (platform 2026.12.1)",
                        "would commit: release: platform 2026.12.1 at ", "would tag: platform/2026.12.1/"],
    "config-deploy": ["would commit: config deploy 1: re-render globex", "    tenants/globex/release.yaml"],
    "fork-deploy": ["would commit: fork deploy: acme runs "],  # pinned already: no new release to tag
}


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, Path]:
    origin = make_origin(tmp_path, without=("registry/rollout.yaml",))
    work = clone(origin, tmp_path / "work")
    (work / ".git/info/exclude").write_text(".cache/\n")
    return origin, work


def state(origin: Path, work: Path) -> tuple[str, str, str, str]:
    """Everything a refused or rehearsed run must leave alone: HEAD, the tree, the tags, origin."""
    return (git(work, "rev-parse", "HEAD"), git(work, "status", "--porcelain", "--untracked-files=all"),
            git(work, "tag", "--list"), origin_head(origin))


def problems(capsys: pytest.CaptureFixture[str]) -> str:
    return capsys.readouterr().err


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_off_main_nothing_is_written(repo, name: str, capsys: pytest.CaptureFixture[str]) -> None:
    origin, work = repo
    git(work, "checkout", "-q", "-b", "feature")
    before = state(origin, work)
    assert dataplane(work, *COMMANDS[name], "--push") == 2
    err = problems(capsys)
    assert "repository: HEAD is on feature, not on main" in err and "nothing was written" in err
    assert ":1:1:" not in err
    assert state(origin, work) == before


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_over_uncommitted_changes_nothing_is_written(repo, name: str, capsys: pytest.CaptureFixture[str]) -> None:
    origin, work = repo
    (work / "tenants/globex/overrides.yaml").write_text("env:\n  LOG_LEVEL: DEBUG\n")
    (work / "notes.txt").write_text("mine\n")
    before = state(origin, work)
    assert dataplane(work, *COMMANDS[name]) == 2
    err = problems(capsys)
    assert "uncommitted changes: notes.txt, tenants/globex/overrides.yaml" in err or (
        name in ("config-deploy", "generate") and "tenants/globex/overrides.yaml:1:1: uncommitted change to an input" in err)
    assert state(origin, work) == before
    assert (work / "notes.txt").read_text() == "mine\n"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_push_refuses_instead_of_dropping_a_local_commit(repo, name: str, capsys: pytest.CaptureFixture[str]) -> None:
    origin, work = repo
    (work / "tenants/globex/overrides.yaml").write_text("env:\n  LOG_LEVEL: DEBUG\n")
    mine = commit_all(work, "a local commit, not pushed")
    before = state(origin, work)
    assert dataplane(work, *COMMANDS[name], "--push") == 2
    assert f"1 local commit(s) not on origin/main: {mine[:12]}" in problems(capsys)
    assert state(origin, work) == before
    assert git(work, "rev-parse", "main") == mine  # as git would: the commit is still there


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_push_refuses_when_behind_the_remote(repo, tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]) -> None:
    origin, work = repo
    other = clone(origin, tmp_path / "other")
    (other / "tenants/globex/overrides.yaml").write_text("env:\n  LOG_LEVEL: DEBUG\n")
    commit_all(other, "someone else's change")
    git(other, "push", "-q", "origin", "main")
    before = state(origin, work)
    assert dataplane(work, *COMMANDS[name], "--push") == 2
    assert "main is 1 commit(s) behind origin/main" in problems(capsys)
    assert state(origin, work) == before


@pytest.mark.parametrize("name", sorted(WOULD))
def test_dry_run_shows_what_would_be_committed_tagged_and_pushed(repo, name: str,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    origin, work = repo
    before = state(origin, work)
    assert dataplane(work, *COMMANDS[name], "--push", "--dry-run") == 0
    out = capsys.readouterr().out
    assert out.startswith("dry run: nothing was written, committed or pushed\n")
    for line in WOULD[name]:
        assert line in out, out
    assert "would push: " in out
    assert state(origin, work) == before
    # The real run makes exactly the commits the dry run announced, and says so.
    assert dataplane(work, *COMMANDS[name], "--push") == 0
    real = capsys.readouterr().out
    subjects = git(work, "log", "--format=%s", f"{before[0]}..HEAD").splitlines()[::-1]
    ids = re.compile(r"\b[0-9a-f]{12}\b")  # a commit made in the rehearsal has its own id (time differs)
    announced = [line.removeprefix("would commit: ") for line in out.splitlines() if line.startswith("would commit: ")]
    assert [ids.sub("X", s) for s in announced] == [ids.sub("X", s) for s in subjects]
    assert all(f": {s} (" in real for s in subjects) and "pushed to origin main" in real
    assert origin_head(origin) == git(work, "rev-parse", "HEAD")


@pytest.mark.parametrize("name", ["rollout-advance", "rollout-rollback", "generate"])
def test_dry_run_with_nothing_to_do_commits_nothing(repo, name: str, capsys: pytest.CaptureFixture[str]) -> None:
    origin, work = repo
    before = state(origin, work)
    assert dataplane(work, *COMMANDS[name], "--dry-run") == 0
    out = capsys.readouterr().out
    assert "would commit nothing" in out and ("no rollout recorded" in out or name == "generate")
    assert state(origin, work) == before


def test_a_real_run_reports_its_commits_and_that_it_did_not_push(repo, capsys: pytest.CaptureFixture[str]) -> None:
    origin, work = repo
    start = origin_head(origin)
    assert dataplane(work, "config-deploy", "globex") == 0
    out = capsys.readouterr().out
    sha = git(work, "rev-parse", "HEAD")
    assert f"committed {sha[:12]}: config deploy 1: re-render globex" in out
    assert "not pushed (give --push" in out and origin_head(origin) == start


def test_an_invalid_input_is_refused_before_anything_is_written(repo, capsys: pytest.CaptureFixture[str]) -> None:
    origin, work = repo
    for tenant in ("acme", "globex"):  # the tenants the commands deploy
        (work / f"tenants/{tenant}/overrides.yaml").write_text("auto_deploy: yes\n")
    commit_all(work, "a bad input")
    git(work, "push", "-q", "origin", "main")
    before = state(origin, work)
    for args in COMMANDS.values():
        code = dataplane(work, *args, "--push")
        assert code in (0, 2)  # rollout steps without a rollout have nothing to read
    assert "tenants/globex/overrides.yaml:1:14: auto_deploy: 'yes' is read by YAML 1.1 as true" in problems(capsys)
    assert state(origin, work) == before


def test_promote_dry_run_and_its_precondition(repo, capsys: pytest.CaptureFixture[str]) -> None:
    origin, work = repo
    assert dataplane(work, "platform-update", "--version", "2026.12.1", DIGEST, "--push") == 0
    capsys.readouterr()
    git(work, "checkout", "-q", "-b", "promote-initech")
    before = state(origin, work)
    assert dataplane(work, "promote", "initech", "--dry-run") == 0
    out = capsys.readouterr().out
    assert out.startswith("dry run: nothing was written\nwould move initech to platform 2026.12.1")
    assert '    platform_version: "2026.12.1"' in out
    assert state(origin, work) == before
    (work / "tenants/initech/release.yaml").write_text((work / "tenants/initech/release.yaml").read_text() + "# mine\n")
    assert dataplane(work, "promote", "initech") == 2
    assert "uncommitted changes in files this command rewrites: tenants/initech/release.yaml" in problems(capsys)
    assert (work / "tenants/initech/release.yaml").read_text().endswith("# mine\n")


def test_new_tenant_dry_run_prints_the_files_and_writes_nothing(repo, capsys: pytest.CaptureFixture[str]) -> None:
    origin, work = repo
    before = state(origin, work)
    assert dataplane(work, "new-tenant", "hooli", "--cloud", "gcp", "--region", "us-east4", "--organization-id",
                     "org_h00l1", "--dry-run") == 0
    out = capsys.readouterr().out
    assert "--- tenants/hooli/tenant.yaml\n" in out and "cluster: dp-gke-us-east4\n" in out
    assert state(origin, work) == before and not (work / "tenants/hooli").exists()


def test_read_only_commands_never_say_nothing_was_written(repo, capsys: pytest.CaptureFixture[str]) -> None:
    _origin, work = repo
    (work / "tenants/globex/overrides.yaml").write_text("auto_deploy: yes\n")
    assert dataplane(work, "validate") == 2
    err = problems(capsys)
    assert err.endswith("1 problem found.\n") and "nothing was written" not in err
    assert dataplane(work, "render") == 2
    assert problems(capsys).endswith("1 problem found; nothing was written.\n")


def test_json_problems_of_a_refused_run_name_the_repository(repo, capsys: pytest.CaptureFixture[str]) -> None:
    _origin, work = repo
    (work / "notes.txt").write_text("x\n")
    from render import cli

    assert cli.main(["--repo", str(work), "--format", "json", "config-deploy", "globex"]) == 2
    [p] = json.loads(capsys.readouterr().out)
    assert (p["file"], p["line"]) == (".", 0) and p["message"] == "uncommitted changes: notes.txt"
