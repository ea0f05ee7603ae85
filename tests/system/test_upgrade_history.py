"""`upgrade.previous_release`, the one definition of "the previous platform release" the
upgrade tests apply first (tests/cluster/test_cluster_upgrade.py), on small histories."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from render import layout
from render.cluster import upgrade


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=True).stdout.strip()


def _commit(root: Path, platform: str, message: str, extra: str = "") -> str:
    (root / "registry").mkdir(exist_ok=True)
    (root / layout.PLATFORM_FILE).write_text(platform, encoding="utf-8")
    (root / "notes.txt").write_text(extra or message, encoding="utf-8")
    _git(root, "add", "-A")
    _git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", message)
    return _git(root, "rev-parse", "HEAD")


def _release(version: str, digest: str) -> str:
    return f'platform_version: "{version}"\nengine:\n  tag: "{version}"\n  digest: "sha256:{digest * 64}"\nother: 1\n'


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    _git(tmp_path, "init", "-q", "-b", "main")
    return tmp_path


def test_the_last_commit_before_the_current_release(repo: Path) -> None:
    _commit(repo, _release("2026.10.2", "a"), "release 2026.10.2")
    last_of_previous = _commit(repo, _release("2026.10.2", "a").replace("other: 1", "other: 2"), "a platform change")
    _commit(repo, _release("2026.11.3", "b"), "release 2026.11.3")
    _commit(repo, _release("2026.11.3", "b"), "a docs change", extra="docs")
    assert upgrade.previous_release(repo) == last_of_previous


def test_a_new_digest_of_the_same_version_is_a_release(repo: Path) -> None:
    before = _commit(repo, _release("2026.11.3", "a"), "first build")
    _commit(repo, _release("2026.11.3", "b"), "re-recorded digest")
    assert upgrade.previous_release(repo) == before


def test_one_release_in_the_history_says_what_to_fetch(repo: Path) -> None:
    _commit(repo, _release("2026.11.3", "a"), "only release")
    _commit(repo, _release("2026.11.3", "a").replace("other: 1", "other: 2"), "a platform change")
    with pytest.raises(upgrade.NoPreviousRelease, match="fetch-depth: 0"):
        upgrade.previous_release(repo)
