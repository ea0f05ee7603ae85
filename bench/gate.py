"""The pull-request gate on a benchmark fleet: `render --base BASE` for a one-tenant change.

The fleet becomes a git repository whose one commit (the base) holds its inputs, the engine
(render/, pyproject.toml, constraints.txt: `render --base` renders everything when the
running engine is not the base's) and the full render's output, as main does after the
automation's commit. Each pull request is one commit on top of it that edits one tenant's
overrides.yaml and carries no output, as a pull request does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from bench.fleet import REPO

ENGINE = ("render", "pyproject.toml", "constraints.txt")
IDENTITY = ("-c", "user.name=bench", "-c", "user.email=bench@example.com")


def git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(root), *IDENTITY, *args], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def copy_engine(root: Path) -> None:
    for rel in ENGINE:
        if (REPO / rel).is_dir():
            shutil.copytree(REPO / rel, root / rel, ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True)
        else:
            shutil.copy(REPO / rel, root / rel)


def commit_base(root: Path) -> str:
    """Commit everything (inputs, engine, the current output), then pin every tenant to that
    commit, tagged as a platform release, as `dataplane pin` leaves a repository (in a git
    repository every tenant pins one): the base revision."""
    from render import layout

    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base: inputs, engine and rendered output")
    first = git(root, "rev-parse", "HEAD")
    git(root, "tag", "-a", "-m", "platform release", layout.release_tag("bench", first), first)
    for release in sorted((root / layout.TENANTS_DIR).glob(f"*/{layout.RELEASE_FILE}")):
        with release.open("a", encoding="utf-8") as f:
            f.write(f'platform_revision: "{first}"\n')
    git(root, "commit", "-q", "-a", "-m", "pin every tenant to the base's platform")
    return git(root, "rev-parse", "HEAD")


def reset_to(root: Path, base: str) -> None:
    """Back to the base, as a fresh checkout of it."""
    git(root, "reset", "-q", "--hard", base)
    git(root, "clean", "-q", "-fdx", "--", "rendered", "argocd", "control-plane")


def commit_pull_request(root: Path) -> None:
    git(root, "commit", "-q", "-a", "-m", "one tenant's overrides")


def fill_from(root: Path, names: list[str], rendered: list[str]) -> None:
    """Give every tenant not in `rendered` output folders holding a rendered tenant's files
    (hard links: same count and sizes, made in seconds). Only for measuring the gate, which
    reads none of an unchanged tenant's files: git compares them by object id and stat."""
    from render import layout

    for i, name in enumerate(n for n in names if n not in set(rendered)):
        sample = rendered[i % len(rendered)]
        for parent in layout.TENANT_SCOPE_PARENTS:
            shutil.copytree(root / parent / sample, root / parent / name, copy_function=os.link)
