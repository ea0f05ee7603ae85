"""ruff over the engine, the benchmark and the tests, with the rules in pyproject.toml."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_ruff_reports_nothing() -> None:
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    assert ruff, "ruff is in the dev extra: pip install -e '.[dev]'"
    done = subprocess.run([ruff, "check", "--no-cache", "render", "bench", "tests"], cwd=REPO,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_pre_commit_files_are_valid_for_pre_commit() -> None:
    """.pre-commit-config.yaml (this repository's hooks) and .pre-commit-hooks.yaml (the hook
    other repositories use), checked by pre-commit's own validators."""
    from pre_commit.clientlib import load_config, load_manifest

    hooks = {h["id"] for repo in load_config(str(REPO / ".pre-commit-config.yaml"))["repos"] for h in repo["hooks"]}
    assert {"ruff", "dataplane-validate", "dataplane-render-check"} <= hooks
    assert [h["id"] for h in load_manifest(str(REPO / ".pre-commit-hooks.yaml"))] == ["dataplane-validate"]
