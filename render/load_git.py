"""Part of the load stage: read input files as they were at a git revision.

Pinned tenants render from the `base/` and `registry/` of the platform revision their
release.yaml names, so the loader must read those files from history, not from the
working tree. Read-only: `git ls-tree` and `git cat-file`, never a checkout.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from render import layout
from render.problems import UserError

REVISION = re.compile(r"^[0-9a-f]{40}$")


class GitError(UserError):
    """A revision or path that git cannot read (message says which)."""


def _git(root: Path, *args: str, data: bytes | None = None) -> bytes:
    try:
        done = subprocess.run(["git", "-C", str(root), *args], input=data, capture_output=True, check=False)
    except FileNotFoundError:
        raise GitError("git is not installed") from None
    if done.returncode != 0:
        raise GitError(done.stderr.decode("utf-8", "replace").strip() or f"git {args[0]} failed")
    return done.stdout


class GitTree:
    """The files of one commit. `revision` must be a full 40-hex commit id."""

    def __init__(self, root: Path, revision: str) -> None:
        if not REVISION.fullmatch(revision):
            raise GitError(f"{revision!r} is not a full 40-character commit id")
        self.root = root
        self.revision = revision
        try:
            kind = _git(root, "cat-file", "-t", revision).decode().strip()
        except GitError:
            raise GitError(f"commit {revision} is not in this repository's history") from None
        if kind != "commit":
            raise GitError(f"{revision} is a {kind}, not a commit")

    def _entries(self, folder: str, kind: bytes) -> list[str]:
        try:
            out = _git(self.root, "ls-tree", "-z", f"{self.revision}:{folder}")
        except GitError:
            return []
        names = []
        for entry in out.split(b"\0"):
            if entry:
                meta, name = entry.split(b"\t", 1)
                if meta.split()[1] == kind:
                    names.append(name.decode("utf-8"))
        return sorted(names)

    def files(self, folder: str) -> list[str]:
        """Repo-relative paths of the files directly inside `folder` (sorted)."""
        return [f"{folder}/{name}" for name in self._entries(folder, b"blob")]

    def folders(self, folder: str) -> list[str]:
        """Names of the folders directly inside `folder` (sorted)."""
        return [name for name in self._entries(folder, b"tree") if not name.startswith(".")]

    def walk(self, *folders: str) -> dict[str, bytes]:
        """Every file under `folders` (recursively) with its bytes."""
        out = _git(self.root, "ls-tree", "-r", "-z", "--name-only", self.revision, "--", *folders)
        names = [n.decode("utf-8") for n in out.split(b"\0") if n]
        if not names:
            return {}
        batch = _git(self.root, "cat-file", "--batch", data="".join(f"{self.revision}:{n}\n" for n in names).encode())
        files, at = {}, 0
        for name in names:  # each answer: "<sha> blob <size>\n<bytes>\n"
            end = batch.index(b"\n", at)
            size = int(batch[at:end].split()[2])
            files[name] = batch[end + 1: end + 1 + size]
            at = end + 1 + size + 1
        return files

    def read(self, rel: str) -> bytes | None:
        """The bytes of `rel` at this revision, or None when it does not exist there."""
        try:
            return _git(self.root, "cat-file", "blob", f"{self.revision}:{rel}")
        except GitError:
            return None


def head(root: Path) -> str:
    """The commit id checked out at `root`."""
    return _git(root, "rev-parse", "--verify", "HEAD^{commit}").decode().strip()


def resolve(root: Path, ref: str) -> str:
    """A ref or commit id -> the full commit id it names."""
    if ref.startswith("-"):
        raise GitError(f"{ref!r} is not a revision")
    return _git(root, "rev-parse", "--verify", "--end-of-options", f"{ref}^{{commit}}").decode().strip()


def release_tags(root: Path) -> dict[str, str]:
    """Commit id -> name of the annotated platform release tag naming it. Lightweight tags
    do not count: platform-update writes annotated ones, with a tagger."""
    out = _git(root, "for-each-ref", "--format=%(objecttype) %(*objectname) %(refname)",
               f"refs/tags/{layout.RELEASE_TAG_PREFIX}")
    tags: dict[str, str] = {}
    for line in out.decode("utf-8", "replace").splitlines():
        kind, target, ref = line.split(" ", 2)
        if kind == "tag" and REVISION.fullmatch(target):
            tags.setdefault(target, ref.removeprefix("refs/tags/"))
    return tags


def release_branches(root: Path) -> list[str]:
    """The protected branch as this checkout knows it: the local branch and origin's copy
    (a CI checkout of a pull request has only the latter; neither is the PR's own)."""
    refs = (f"refs/heads/{layout.RELEASE_BRANCH}", f"refs/remotes/origin/{layout.RELEASE_BRANCH}")
    return [ref for ref in refs if subprocess.run(["git", "-C", str(root), "rev-parse", "-q", "--verify", ref],
                                                   capture_output=True, check=False).returncode == 0]


def contains(root: Path, ref: str, revision: str) -> bool:
    """True when `revision` is `ref` or one of its ancestors."""
    done = subprocess.run(["git", "-C", str(root), "merge-base", "--is-ancestor", revision, ref],
                          capture_output=True, check=False)
    return done.returncode == 0


def latest_release(root: Path) -> str | None:
    """The newest platform release tag HEAD contains, or None."""
    done = subprocess.run(["git", "-C", str(root), "describe", "--abbrev=0", "--match",
                           f"{layout.RELEASE_TAG_PREFIX}*", "HEAD"], capture_output=True, text=True, check=False)
    return done.stdout.strip() or None if done.returncode == 0 else None


def platform_trees(root: Path, revision: str) -> tuple[str, str]:
    """Tree ids of base/ and registry/ at `revision`: equal ids mean the same platform."""
    out = _git(root, "rev-parse", f"{revision}:{layout.BASE_DIR}", f"{revision}:{layout.REGISTRY_DIR}").decode().split()
    return out[0], out[1]
