"""The App's required check (`verify-pr`: main's engine on the pull request's inputs, read as
data) and the rendering of main after a merge (`generate`): on temporary repositories with a
stand-in GitHub API."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.flow_repo import clone, commit_all, dataplane, git, make_origin, origin_head, push, touched
from tests.github_standin import APP_ID, GitHub, in_workflow, serve

CHECK = "dataplane / verify"


@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch) -> Iterator[GitHub]:
    gh = GitHub()
    gh.member("tenant-acme", "acme-lead")
    with serve(gh, monkeypatch):
        yield gh


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, Path]:
    origin = make_origin(tmp_path)
    return origin, clone(origin, tmp_path / "main")


def _pull_request(tmp_path: Path, origin: Path, gh: GitHub, files: dict[str, str | None]) -> Path:
    """A tenant's pull request #7: a clone with `files` changed (None: removed), committed."""
    tree = clone(origin, tmp_path / "pr")
    for rel, text in files.items():
        if text is None:
            (tree / rel).unlink()
        else:
            (tree / rel).parent.mkdir(parents=True, exist_ok=True)
            (tree / rel).write_text(text)
    head = commit_all(tree, "tenant change")
    gh.pulls[7] = {"number": 7, "state": "open", "draft": False, "base": {"ref": "main"}, "head": {"sha": head},
                   "user": {"login": "acme-dev"}, "changed_files": len(files)}
    gh.files[7] = [{"filename": rel} for rel in files]
    gh.contents.update({rel: text.encode() for rel, text in files.items() if text is not None})
    gh.reviews[7] = [{"user": {"login": "acme-lead"}, "state": "APPROVED", "commit_id": head}]
    return tree


def _runs(gh: GitHub, tree: Path) -> list[tuple[str, str, int]]:
    return [(r["name"], r["conclusion"], r["app"]["id"]) for r in gh.check_runs.get(git(tree, "rev-parse", "HEAD"), [])]


def test_valid_inputs_get_the_apps_check_and_the_gate_then_merges(
        repo: tuple[Path, Path], github: GitHub, tmp_path: Path) -> None:
    origin, main = repo
    tree = _pull_request(tmp_path, origin, github, {"tenants/acme/overrides.yaml": "auto_deploy: false\n"})
    assert dataplane(main, "merge-gate", "7") == 1  # no check yet
    assert dataplane(main, "verify-pr", "7", "--tree", str(tree)) == 0
    assert _runs(github, tree) == [(CHECK, "success", APP_ID)]
    assert dataplane(main, "merge-gate", "7") == 0
    assert [n for n, _ in github.merged] == [7]


def test_invalid_inputs_fail_the_check(repo: tuple[Path, Path], github: GitHub, tmp_path: Path) -> None:
    origin, main = repo
    tree = _pull_request(tmp_path, origin, github, {"tenants/acme/overrides.yaml": "cluster: {cpu-workers: {max_replicas: three}}\n"})
    assert dataplane(main, "verify-pr", "7", "--tree", str(tree)) == 1
    assert _runs(github, tree) == [(CHECK, "failure", APP_ID)]
    assert dataplane(main, "merge-gate", "7") == 1 and github.merged == []


def test_the_pull_requests_engine_and_output_are_never_used(
        repo: tuple[Path, Path], github: GitHub, tmp_path: Path) -> None:
    """The pull request ships its own engine (a validator that accepts everything) and
    hand-made output: neither is read; main's engine renders what the inputs produce."""
    origin, main = repo
    tree = _pull_request(tmp_path, origin, github, {
        "tenants/acme/overrides.yaml": "cluster: {cpu-workers: {max_replicas: three}}\n",
        "render/validate/__init__.py": "def validate_repo(repo):\n    return []\n",
        "rendered/acme/daemonset-miner.yaml": "kind: DaemonSet\n"})
    assert dataplane(main, "verify-pr", "7", "--tree", str(tree)) == 1
    assert not (main / "render").exists() and not (main / "rendered/acme/daemonset-miner.yaml").exists()


def test_a_symlink_in_the_pull_request_is_refused_not_followed(
        repo: tuple[Path, Path], github: GitHub, tmp_path: Path) -> None:
    origin, main = repo
    tree = clone(origin, tmp_path / "pr")
    (tree / "tenants/acme/overrides.yaml").unlink()
    os.symlink("/etc/hostname", tree / "tenants/acme/overrides.yaml")
    head = commit_all(tree, "link")
    github.pulls[7] = {"head": {"sha": head}}
    github.files[7] = [{"filename": "tenants/acme/overrides.yaml"}]
    assert dataplane(main, "verify-pr", "7", "--tree", str(tree)) == 1
    assert [r["conclusion"] for r in github.check_runs[head]] == ["failure"]
    assert "symbolic link" in github.check_runs[head][0]["output"]["summary"]


def test_a_tree_that_is_not_the_head_is_refused(repo: tuple[Path, Path], github: GitHub, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    origin, main = repo
    tree = _pull_request(tmp_path, origin, github, {"tenants/acme/overrides.yaml": "{}\n"})
    github.pulls[7]["head"]["sha"] = "9" * 40  # pushed meanwhile
    assert dataplane(main, "verify-pr", "7", "--tree", str(tree)) == 2
    assert github.check_runs == {} and "is not the head" in capsys.readouterr().err


def test_after_a_merge_the_automation_commits_the_generated_trees_and_nothing_else(
        repo: tuple[Path, Path], github: GitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    origin, main = repo
    (main / "tenants/acme/overrides.yaml").write_text("cluster: {cpu-workers: {max_replicas: 1}}\n")
    merged = commit_all(main, "merge #7: acme settings (inputs only)")
    push(main)
    assert dataplane(main, "render", "--check") == 1  # the pull request carried no output
    in_workflow(monkeypatch, "push", "dataplane-automation[bot]")
    assert dataplane(main, "generate", "--push") == 0
    changed = touched(main, f"{merged}..HEAD")
    assert changed and all(p.startswith("rendered/acme/") for p in changed), changed
    assert origin_head(origin) == git(main, "rev-parse", "HEAD")
    assert dataplane(main, "render", "--check") == 0
    assert dataplane(main, "generate", "--push") == 0 and git(main, "rev-parse", "HEAD") == origin_head(origin)


def test_generate_runs_on_main_only(repo: tuple[Path, Path], github: GitHub, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    origin, main = repo
    start = origin_head(origin)
    in_workflow(monkeypatch, "push", "someone", ref="refs/heads/feature")
    assert dataplane(main, "generate", "--push") == 2
    assert "refused by rule main-only" in capsys.readouterr().err and origin_head(origin) == start
