"""render/git.py on real repositories made in tmp_path: reads (revisions, release tags,
trees at a revision) and writes (stage, commit, tag). Every failure is a UserError with a
message a person can act on."""

from __future__ import annotations

from pathlib import Path

import pytest

from render import git as engine_git
from render import layout
from render.problems import UserError
from tests.flow_repo import git
from tests.support import write


@pytest.fixture(autouse=True)
def _no_repository_above(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """git never climbs out of tmp_path into a checkout around it."""
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))


def commit(root: Path, files: dict[str, str], message: str) -> str:
    write(root, files)
    git(root, "add", "-A")
    git(root, "commit", "-q", "--no-gpg-sign", "-m", message)
    return git(root, "rev-parse", "HEAD")


@pytest.fixture()
def repo(tmp_path: Path) -> tuple[Path, str, str]:
    """A repository with two commits: the platform, then a tenant. (root, first, second)"""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", layout.RELEASE_BRANCH)
    first = commit(root, {"base/a.yaml.j2": "a: 1\n", "registry/platform.yaml": "x: 1\n"}, "platform")
    second = commit(root, {"tenants/acme/tenant.yaml": "name: acme\n"}, "acme")
    return root, first, second


def annotated_tag(root: Path, name: str, revision: str) -> None:
    git(root, "tag", "-a", "-m", name, name, revision)


def test_head_and_resolve_name_full_commit_ids(repo: tuple[Path, str, str]) -> None:
    root, first, second = repo
    assert engine_git.head(root) == second
    assert engine_git.resolve(root, "HEAD~1") == first
    assert engine_git.resolve(root, first[:10]) == first
    annotated_tag(root, "platform/1.0.0/x", first)
    assert engine_git.resolve(root, "platform/1.0.0/x") == first  # a tag is peeled to its commit
    assert engine_git.resolve(root, layout.RELEASE_BRANCH) == second


@pytest.mark.parametrize("ref", ["-h", "--output=/tmp/x", "no-such-branch", "0" * 40, "HEAD:base"])
def test_resolve_refuses_what_is_not_a_commit(repo: tuple[Path, str, str], ref: str) -> None:
    root, _, _ = repo
    with pytest.raises(engine_git.GitError) as info:
        engine_git.resolve(root, ref)
    assert isinstance(info.value, UserError)
    assert str(info.value) and "Traceback" not in str(info.value)


def test_outside_a_repository_every_read_and_write_is_a_user_error(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    for call in (lambda: engine_git.head(plain), lambda: engine_git.resolve(plain, "HEAD"),
                 lambda: engine_git.release_tags(plain), lambda: engine_git.platform_trees(plain, "HEAD"),
                 lambda: engine_git.dirty(plain), lambda: engine_git.staged(plain),
                 lambda: engine_git.changed_since(plain, "HEAD"), lambda: engine_git.commit(plain, "x")):
        with pytest.raises(UserError, match="not a git repository"):
            call()
    assert engine_git.latest_release(plain) is None
    assert engine_git.contains(plain, "HEAD", "HEAD") is False


def test_release_tags_are_the_annotated_platform_tags_by_commit(repo: tuple[Path, str, str]) -> None:
    root, first, second = repo
    assert engine_git.release_tags(root) == {}
    annotated_tag(root, "platform/1.0.0/aaa", first)
    annotated_tag(root, "platform/1.0.0/bbb", first)  # a second name for the same commit
    git(root, "tag", "platform/2.0.0/light", second)  # lightweight: not a release
    annotated_tag(root, "v2.0.0", second)  # annotated, outside the prefix
    assert engine_git.release_tags(root) == {first: "platform/1.0.0/aaa"}


def test_contains_follows_ancestry(repo: tuple[Path, str, str]) -> None:
    root, first, second = repo
    assert engine_git.contains(root, "HEAD", first)
    assert engine_git.contains(root, "HEAD", second)
    assert not engine_git.contains(root, first, second)
    assert not engine_git.contains(root, "HEAD", "f" * 40)  # unknown: not contained, not an error


def test_latest_release_is_the_newest_annotated_release_head_contains(repo: tuple[Path, str, str]) -> None:
    root, first, second = repo
    assert engine_git.latest_release(root) is None
    annotated_tag(root, "platform/1.0.0/aaa", first)
    git(root, "tag", "platform/9.0.0/light", second)  # lightweight tags are not releases
    annotated_tag(root, "other/2.0.0", second)  # nor are tags outside the prefix
    assert engine_git.latest_release(root) == "platform/1.0.0/aaa"
    annotated_tag(root, "platform/2.0.0/bbb", second)
    assert engine_git.latest_release(root) == "platform/2.0.0/bbb"
    git(root, "checkout", "-q", first)
    assert engine_git.latest_release(root) == "platform/1.0.0/aaa"  # HEAD does not contain the newer one


def test_platform_trees_change_only_with_base_or_registry(repo: tuple[Path, str, str]) -> None:
    root, first, second = repo
    assert engine_git.platform_trees(root, first) == engine_git.platform_trees(root, second)  # a tenant changed
    third = commit(root, {"registry/platform.yaml": "x: 2\n"}, "platform change")
    assert engine_git.platform_trees(root, third)[0] == engine_git.platform_trees(root, second)[0]
    assert engine_git.platform_trees(root, third)[1] != engine_git.platform_trees(root, second)[1]
    git(root, "rm", "-q", "-r", "base")
    git(root, "commit", "-q", "--no-gpg-sign", "-m", "no base")
    with pytest.raises(engine_git.GitError):
        engine_git.platform_trees(root, "HEAD")


def test_a_tree_reads_files_as_they_were_at_its_commit(repo: tuple[Path, str, str]) -> None:
    root, _first, second = repo
    commit(root, {"registry/platform.yaml": "x: 2\n", "tenants/.hidden/x": "", "tenants/globex/tenant.yaml": "g\n"},
           "later")
    tree = engine_git.GitTree(root, second)
    assert tree.read("registry/platform.yaml") == b"x: 1\n"
    assert tree.read("tenants/globex/tenant.yaml") is None
    assert tree.files("registry") == ["registry/platform.yaml"]
    assert tree.folders("tenants") == ["acme"]
    assert tree.files("no-such-folder") == [] and tree.folders("no-such-folder") == []
    assert tree.walk("base", "registry") == {"base/a.yaml.j2": b"a: 1\n", "registry/platform.yaml": b"x: 1\n"}
    assert engine_git.GitTree(root, engine_git.head(root)).folders("tenants") == ["acme", "globex"]  # hidden ones left out


def test_a_tree_refuses_anything_but_a_known_full_commit_id(repo: tuple[Path, str, str]) -> None:
    root, first, _ = repo
    tree_id = git(root, "rev-parse", f"{first}^{{tree}}")
    for revision, message in ((first[:12], "not a full 40-character commit id"), ("HEAD", "not a full"),
                              ("e" * 40, "not in this repository's history"), (tree_id, "is a tree, not a commit")):
        with pytest.raises(engine_git.GitError, match=message):
            engine_git.GitTree(root, revision)


def test_dirty_lists_every_kind_of_change_under_the_given_paths(repo: tuple[Path, str, str]) -> None:
    root, _, _ = repo
    assert engine_git.dirty(root) == []
    write(root, {"tenants/acme/tenant.yaml": "name: acme2\n", "tenants/new/tenant.yaml": "n\n", "notes.txt": "x"})
    (root / "base/a.yaml.j2").unlink()
    assert engine_git.dirty(root) == ["base/a.yaml.j2", "notes.txt", "tenants/acme/tenant.yaml", "tenants/new/tenant.yaml"]
    assert engine_git.dirty(root, "tenants") == ["tenants/acme/tenant.yaml", "tenants/new/tenant.yaml"]


def test_stage_takes_deletions_and_literal_paths_only(repo: tuple[Path, str, str]) -> None:
    root, _, _ = repo
    write(root, {"tenants/a*/tenant.yaml": "glob\n", "tenants/ab/tenant.yaml": "ab\n", "rendered/x.yaml": "x\n"})
    (root / "registry/platform.yaml").unlink()
    # "tenants/a*" is a folder's name, not a pattern: tenants/ab stays unstaged.
    assert engine_git.stage(root, ["tenants/a*", "registry", "control-plane"]) == ["registry/platform.yaml",
                                                                               "tenants/a*/tenant.yaml"]
    assert engine_git.staged(root) == ["registry/platform.yaml", "tenants/a*/tenant.yaml"]
    assert "tenants/ab/tenant.yaml" in engine_git.dirty(root)


def test_commit_and_tag_release(repo: tuple[Path, str, str]) -> None:
    root, _, second = repo
    assert engine_git.commit(root, "nothing staged") is None
    assert engine_git.head(root) == second
    write(root, {"rendered/acme/x.yaml": "x: 1\n"})
    engine_git.stage(root, ["rendered"])
    made = engine_git.commit(root, "render acme")
    assert made == engine_git.head(root) != second
    assert git(root, "log", "-1", "--format=%an <%ae>|%s") == f"{engine_git.BOT_NAME} <{engine_git.BOT_EMAIL}>|render acme"
    assert engine_git.staged(root) == [] and engine_git.dirty(root) == []
    assert engine_git.changed_since(root, second) == ["rendered/acme/x.yaml"]
    name = layout.release_tag("2026.12.1", made)
    assert engine_git.tag_release(root, name, made, "release") is True
    assert engine_git.tag_release(root, name, second, "again") is False  # an existing tag is never moved
    assert engine_git.release_tags(root) == {made: name}
    assert engine_git.latest_release(root) == name


def test_git_failures_are_user_errors_naming_the_command(repo: tuple[Path, str, str]) -> None:
    root, _, _second = repo
    with pytest.raises(engine_git.GitError) as info:
        engine_git.run(root, "checkout", "-q", "no-such-branch")
    assert isinstance(info.value, UserError)
    assert str(info.value).startswith("git checkout: ") and "no-such-branch" in str(info.value)
    # the subcommand is named, not the -c options before it
    with pytest.raises(UserError, match=r"^git tag: "):
        engine_git.tag_release(root, "platform/1.0.0/x", "0" * 40, "release of a commit that is not there")


def test_the_git_modules_run_without_a_shell(repo: tuple[Path, str, str]) -> None:
    """A path full of shell syntax is a path: nothing runs, nothing is created beside it."""
    root, _, _ = repo
    odd = "tenants/$(touch pwned);`touch pwned2`/tenant.yaml"
    write(root, {odd: "x\n"})
    assert engine_git.stage(root, ["tenants"]) == [odd]
    assert not (root / "pwned").exists() and not (root / "pwned2").exists()
