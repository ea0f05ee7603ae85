"""Git writes for the deploy commands: stage, commit, and push with retry.

Used by commands only (never by the render pipeline). Pushing retries on a
non-fast-forward rejection by moving to the remote's new tip and applying the change
again (re-rendering from the new inputs): the same outcome as a rebase, without
merging generated files by hand.
"""

from __future__ import annotations

import base64
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from render.problems import UserError

BOT_NAME = "github-actions[bot]"
BOT_EMAIL = "41898282+github-actions[bot]@users.noreply.github.com"
ATTEMPTS = 5


class GitCommandError(UserError):
    pass


def git(root: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """Run git in `root`; pathspecs are literal (no globs, no magic)."""
    full_env = {**os.environ, "GIT_LITERAL_PATHSPECS": "1", "GIT_TERMINAL_PROMPT": "0", **(env or {})}
    done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, env=full_env, check=False)
    if done.returncode != 0:
        # Name the subcommand, not the `-c name=value` options before it.
        command = next((a for a, before in zip(args, ("", *args)) if not a.startswith("-") and before != "-c"), "")
        raise GitCommandError(f"git {command}: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


def _repository(root: Path) -> None:
    """Outside a repository `git diff` compares files (--no-index) and fails with its usage
    text; fail first with git's own "not a git repository"."""
    git(root, "rev-parse", "--git-dir")


def auth_env(token: str | None, server: str = "https://github.com") -> dict[str, str]:
    """Credentials for fetch and push, passed through git's environment, never argv."""
    if not token:
        return {}
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": f"http.{server}/.extraheader",
            "GIT_CONFIG_VALUE_0": f"AUTHORIZATION: basic {basic}"}


def head(root: Path) -> str:
    return git(root, "rev-parse", "HEAD").strip()


def dirty(root: Path, *paths: str) -> list[str]:
    """Paths (under `paths`, default everywhere) that differ from HEAD: staged, unstaged
    or untracked and not ignored."""
    out = git(root, "status", "--porcelain=v1", "-z", "--untracked-files=all", "--", *(paths or (".",)))
    return sorted(entry[3:] for entry in out.split("\0") if len(entry) > 3)


def stage(root: Path, paths: list[str]) -> list[str]:
    """Stage every change (including deletions) under `paths`; return all staged paths."""
    present = [p for p in paths if (root / p).exists() or git(root, "ls-files", "--", p).strip()]
    if present:
        git(root, "add", "-A", "--", *present)
    return staged(root)


def staged(root: Path) -> list[str]:
    _repository(root)
    out = git(root, "diff", "--cached", "--name-only", "--no-renames", "-z")
    return sorted(p for p in out.split("\0") if p)


def changed_since(root: Path, base: str) -> list[str]:
    _repository(root)
    out = git(root, "diff", "--name-only", "--no-renames", "-z", base, "HEAD")
    return sorted(p for p in out.split("\0") if p)


def commit(root: Path, message: str) -> str | None:
    """Commit what is staged; None when nothing is."""
    if not staged(root):
        return None
    git(root, "-c", f"user.name={BOT_NAME}", "-c", f"user.email={BOT_EMAIL}", "commit", "-q", "--no-verify", "-m", message)
    return head(root)


def tag_release(root: Path, name: str, revision: str, message: str) -> bool:
    """Create the annotated release tag `name` at `revision` unless it exists; True if created."""
    if git(root, "tag", "--list", name).strip():
        return False
    git(root, "-c", f"user.name={BOT_NAME}", "-c", f"user.email={BOT_EMAIL}", "tag", "-a", "-m", message,
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

    With `push`, every attempt starts from the remote branch's tip, whatever was checked
    out: a run started on another branch can never push that branch's commits. It
    refuses to start over uncommitted changes, which that reset would discard."""
    if push and dirty(root):
        raise GitCommandError(f"uncommitted changes ({', '.join(dirty(root)[:3])}, ...): --push starts from "
                              f"{remote}/{branch} and would discard them; commit or stash them first")
    for attempt in range(1, attempts + 1):
        if push:
            git(root, "fetch", "-q", remote, branch, env=env)
            git(root, "checkout", "-q", "-B", branch, "FETCH_HEAD")  # work on the branch pins are checked against
        commits = apply()
        if not push or not commits:
            return Pushed(commits, attempt)
        if before_push is not None:
            before_push(attempt)
        try:
            # --follow-tags: the release tags of the pushed commits go with them, atomically.
            git(root, "push", "-q", "--atomic", "--follow-tags", remote, f"HEAD:refs/heads/{branch}", env=env)
            return Pushed(commits, attempt)
        except GitCommandError as e:
            if "non-fast-forward" not in str(e) and "fetch first" not in str(e) and "rejected" not in str(e):
                raise
    raise GitCommandError(f"push to {branch} still rejected after {attempts} attempts")
