"""A throwaway copy of this repository for flow tests: a bare "origin" and clones of it.

Every flow test gets its own copy under tmp_path (inputs and committed output of the
checkout the tests run from), so the workflows' subcommands can commit and push for real
without a network or GitHub.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from render import cli, layout
from tests.support import ROOT, pin_to_first_commit

COPIED = (*layout.INPUT_DIRS, *layout.OUTPUT_DIRS, ".github")


def _auto_deploy(name: str) -> bool:
    import yaml

    overrides = yaml.safe_load((ROOT / "tenants" / name / "overrides.yaml").read_text()) or {}
    return overrides.get("auto_deploy", True) is not False


# The example tenants that take platform updates at once (auto_deploy defaults to true).
AUTO_DEPLOY = tuple(sorted(p.name for p in (ROOT / "tenants").iterdir() if p.is_dir() and _auto_deploy(p.name)))


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(cwd), "-c", "user.name=test", "-c", "user.email=test@example.com",
                           *args], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def make_origin(tmp_path: Path, without: tuple[str, ...] = ()) -> Path:
    """A bare repository holding one commit: a copy of this checkout's inputs and output
    (less the files named in `without`)."""
    seed = tmp_path / "seed"
    seed.mkdir()
    for folder in COPIED:
        if (ROOT / folder).is_dir():
            shutil.copytree(ROOT / folder, seed / folder)
    for rel in without:
        (seed / rel).unlink()
    git(seed, "init", "-q", "-b", "main")
    git(seed, "add", "-A")
    git(seed, "commit", "-q", "-m", "seed")
    pin_to_first_commit(seed)
    origin = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(seed), str(origin))
    shutil.rmtree(seed)
    return origin


def clone(origin: Path, dest: Path) -> Path:
    git(origin.parent, "clone", "-q", str(origin), str(dest))
    return dest


def commit_all(work: Path, message: str) -> str:
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", message)
    return git(work, "rev-parse", "HEAD")


def tag_release(work: Path, rev: str, *, publish: bool = True) -> str:
    """Record `rev` as a platform release, as platform-update does (and push the tag)."""
    from render import git as engine_git
    from render import layout

    name = layout.release_tag("test", rev)
    engine_git.tag_release(work, name, rev, "platform release test")
    if publish:
        git(work, "push", "-q", "origin", f"refs/tags/{name}")
    return rev


def push(work: Path) -> None:
    git(work, "push", "-q", "origin", "HEAD:refs/heads/main")


def dataplane(work: Path, *args: str) -> int:
    """Run the CLI in-process, as a workflow step would run it."""
    return cli.main(["--repo", str(work), "--format", "text", *args])


def event(tmp_path: Path, name: str, payload: dict[str, Any]) -> Path:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(payload), encoding="utf-8")
    return path


def files_under(work: Path, folder: str) -> dict[str, bytes]:
    base = work / folder
    return {p.relative_to(work).as_posix(): p.read_bytes() for p in sorted(base.rglob("*")) if p.is_file()}


def touched(work: Path, rev_range: str) -> list[str]:
    out = git(work, "diff", "--name-only", "--no-renames", rev_range)
    return sorted(p for p in out.splitlines() if p)


def origin_head(origin: Path) -> str:
    return git(origin, "rev-parse", "refs/heads/main")


def tenant_of(path: str) -> str | None:
    """The tenant a repo path belongs to (its inputs or any of its output folders)."""
    parts = path.split("/")
    for prefix in (["tenants"], ["rendered"], ["argocd", "tenants"], ["control-plane", "routing"]):
        if parts[: len(prefix)] == prefix and len(parts) > len(prefix) + 1:
            return parts[len(prefix)]
    return None
