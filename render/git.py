"""Every git read and write of the engine, through one runner.

Reads serve the load stage: pinned tenants render from the `base/` and `registry/` of
the platform release their release.yaml names, read from history with `git ls-tree` and
`git cat-file`, never a checkout. Writes serve the deploy commands (never the render
pipeline): stage, commit, tag a release and push with retry. Pushing retries on a
non-fast-forward rejection by moving to the remote's new tip and applying the change
again (re-rendering from the new inputs): the same outcome as a rebase, without merging
generated files by hand.
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from render import layout
from render.problems import UserError

REVISION = re.compile(r"^[0-9a-f]{40}$")
BOT_NAME = "github-actions[bot]"
BOT_EMAIL = "41898282+github-actions[bot]@users.noreply.github.com"
ATTEMPTS = 5


class GitError(UserError):
    """A git command that failed: a revision or path git cannot read, a rejected push (the
    message says which)."""


def _env(env: dict[str, str] | None = None) -> dict[str, str]:
    """Pathspecs are literal (no globs, no magic) and git never prompts."""
    return {**os.environ, "GIT_LITERAL_PATHSPECS": "1", "GIT_TERMINAL_PROMPT": "0", **(env or {})}


def start(root: Path, *args: str) -> subprocess.Popen[bytes]:
    """Run git in `root` in the background, as `run` does; `wait` returns what it printed."""
    try:
        return subprocess.Popen(["git", "-C", str(root), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=_env())
    except FileNotFoundError:
        raise GitError("git is not installed") from None


def wait(proc: subprocess.Popen[bytes]) -> str:
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise GitError(f"git: {(err or out).decode('utf-8', 'replace').strip()}")
    return out.decode("utf-8", "replace")


def _run(root: Path, *args: str, data: bytes | None = None, env: dict[str, str] | None = None) -> bytes:
    """Run git in `root` (see `_env`)."""
    try:
        done = subprocess.run(["git", "-C", str(root), *args], input=data, capture_output=True, env=_env(env),
                              check=False)
    except FileNotFoundError:
        raise GitError("git is not installed") from None
    if done.returncode != 0:
        said = (done.stderr or done.stdout).decode("utf-8", "replace").strip()
        # Name the subcommand, not the `-c name=value` options before it.
        command = next((a for a, before in zip(args, ("", *args), strict=False)
                        if not a.startswith("-") and before != "-c"), "")
        raise GitError(f"git {command}: {said}" if said else f"git {command} failed")
    return done.stdout


def run(root: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """Run git in `root` and return what it printed, as text."""
    return _run(root, *args, env=env).decode("utf-8", "replace")


class GitTree:
    """The files of one commit. `revision` must be a full 40-hex commit id."""

    def __init__(self, root: Path, revision: str) -> None:
        if not REVISION.fullmatch(revision):
            raise GitError(f"{revision!r} is not a full 40-character commit id")
        self.root = root
        self.revision = revision
        try:
            kind = _run(root, "cat-file", "-t", revision).decode().strip()
        except GitError:
            raise GitError(f"commit {revision} is not in this repository's history") from None
        if kind != "commit":
            raise GitError(f"{revision} is a {kind}, not a commit")

    def _entries(self, folder: str, kind: bytes) -> list[str]:
        try:
            out = _run(self.root, "ls-tree", "-z", f"{self.revision}:{folder}")
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
        out = _run(self.root, "ls-tree", "-r", "-z", "--name-only", self.revision, "--", *folders)
        names = [n.decode("utf-8") for n in out.split(b"\0") if n]
        if not names:
            return {}
        batch = _run(self.root, "cat-file", "--batch", data="".join(f"{self.revision}:{n}\n" for n in names).encode())
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
            return _run(self.root, "cat-file", "blob", f"{self.revision}:{rel}")
        except GitError:
            return None


def head(root: Path) -> str:
    """The commit id checked out at `root`."""
    return _run(root, "rev-parse", "--verify", "HEAD^{commit}").decode().strip()


def current_branch(root: Path) -> str | None:
    """The branch checked out at `root`, or None when HEAD is detached."""
    done = subprocess.run(["git", "-C", str(root), "symbolic-ref", "-q", "--short", "HEAD"], capture_output=True,
                          text=True, check=False)
    return done.stdout.strip() or None if done.returncode == 0 else None


def resolve(root: Path, ref: str) -> str:
    """A ref or commit id -> the full commit id it names."""
    if ref.startswith("-"):
        raise GitError(f"{ref!r} is not a revision")
    return _run(root, "rev-parse", "--verify", "--end-of-options", f"{ref}^{{commit}}").decode().strip()


def release_tags(root: Path) -> dict[str, str]:
    """Commit id -> name of the annotated platform release tag naming it. Lightweight tags
    do not count: platform-update writes annotated ones, with a tagger."""
    out = _run(root, "for-each-ref", "--format=%(objecttype) %(*objectname) %(refname)",
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
    out = _run(root, "rev-parse", f"{revision}:{layout.BASE_DIR}", f"{revision}:{layout.REGISTRY_DIR}").decode().split()
    return out[0], out[1]


def _repository(root: Path) -> None:
    """Outside a repository `git diff` compares files (--no-index) and fails with its usage
    text; fail first with git's own "not a git repository"."""
    run(root, "rev-parse", "--git-dir")


def auth_env(token: str | None, server: str = "https://github.com") -> dict[str, str]:
    """Credentials for fetch and push, passed through git's environment, never argv."""
    if not token:
        return {}
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": f"http.{server}/.extraheader",
            "GIT_CONFIG_VALUE_0": f"AUTHORIZATION: basic {basic}"}


def dirty(root: Path, *paths: str) -> list[str]:
    """Paths (under `paths`, default everywhere) that differ from HEAD: staged, unstaged
    or untracked and not ignored."""
    out = run(root, "status", "--porcelain=v1", "-z", "--untracked-files=all", "--", *(paths or (".",)))
    return sorted(entry[3:] for entry in out.split("\0") if len(entry) > 3)


def stage(root: Path, paths: list[str]) -> list[str]:
    """Stage every change (including deletions) under `paths`; return all staged paths."""
    present = [p for p in paths if (root / p).exists() or run(root, "ls-files", "--", p).strip()]
    if present:
        run(root, "add", "-A", "--", *present)
    return staged(root)


def staged(root: Path) -> list[str]:
    _repository(root)
    out = run(root, "diff", "--cached", "--name-only", "--no-renames", "-z")
    return sorted(p for p in out.split("\0") if p)


def changed_since(root: Path, base: str) -> list[str]:
    _repository(root)
    out = run(root, "diff", "--name-only", "--no-renames", "-z", base, "HEAD")
    return sorted(p for p in out.split("\0") if p)


def added_since(root: Path, base: str) -> list[str]:
    """The paths that do not exist at `base` and do at HEAD."""
    _repository(root)
    out = run(root, "diff", "--name-only", "--no-renames", "--diff-filter=A", "-z", base, "HEAD")
    return sorted(p for p in out.split("\0") if p)


def removed_since(root: Path, base: str) -> list[str]:
    """The paths that exist at `base` and do not at HEAD."""
    _repository(root)
    out = run(root, "diff", "--name-only", "--no-renames", "--diff-filter=D", "-z", base, "HEAD")
    return sorted(p for p in out.split("\0") if p)


def commit(root: Path, message: str) -> str | None:
    """Commit what is staged; None when nothing is."""
    if not staged(root):
        return None
    run(root, "-c", f"user.name={BOT_NAME}", "-c", f"user.email={BOT_EMAIL}", "commit", "-q", "--no-verify", "-m", message)
    return head(root)


def tag_release(root: Path, name: str, revision: str, message: str) -> bool:
    """Create the annotated release tag `name` at `revision` unless it exists; True if created."""
    if run(root, "tag", "--list", name).strip():
        return False
    run(root, "-c", f"user.name={BOT_NAME}", "-c", f"user.email={BOT_EMAIL}", "tag", "-a", "-m", message,
        name, revision)
    return True


@dataclass(frozen=True)
class Pushed:
    commits: list[str]
    attempts: int


def deploy(root: Path, apply: Callable[[], list[str]], *, push: bool, remote: str = "origin",
           branch: str = "main", env: dict[str, str] | None = None, attempts: int = ATTEMPTS,
           before_push: Callable[[int], None] | None = None) -> Pushed:
    """Apply a change (it commits and returns its commits), then push; on a rejected push
    reset to the remote's tip and apply again. Without `push`, only apply.

    The caller has checked (render/workflows/preconditions.py) that `branch` is checked
    out, clean and even with the remote: the first attempt starts there. A retry drops
    only this run's own commits (reset to the remote's new tip) and applies again; a
    commit that was there before the run is never dropped: the run stops instead."""
    start = head(root)
    if push and dirty(root):
        raise GitError(f"uncommitted changes ({', '.join(dirty(root)[:3])}, ...): commit or stash them first")
    for attempt in range(1, attempts + 1):
        if push and attempt > 1:
            run(root, "fetch", "-q", remote, branch, env=env)
            if not contains(root, "FETCH_HEAD", start):
                raise GitError(f"{remote}/{branch} no longer contains {start[:12]}, where this run started: "
                               "refusing to reset over it")
            run(root, "reset", "-q", "--hard", "FETCH_HEAD")  # only this run's commits are dropped, then re-applied
        commits = apply()
        if not push or not commits:
            return Pushed(commits, attempt)
        if before_push is not None:
            before_push(attempt)
        try:
            # --follow-tags: the release tags of the pushed commits go with them, atomically.
            run(root, "push", "-q", "--atomic", "--follow-tags", remote, f"HEAD:refs/heads/{branch}", env=env)
            return Pushed(commits, attempt)
        except GitError as e:
            if "non-fast-forward" not in str(e) and "fetch first" not in str(e) and "rejected" not in str(e):
                raise
    raise GitError(f"push to {branch} still rejected after {attempts} attempts")
