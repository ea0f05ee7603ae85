"""ruff over the engine, the benchmark and the tests, with the rules in pyproject.toml."""

from __future__ import annotations

import subprocess

from tests.support import ROOT, need, need_binary


def test_ruff_reports_nothing() -> None:
    done = subprocess.run([need_binary("ruff"), "check", "--no-cache", "render", "bench", "tests"], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_pre_commit_files_are_valid_for_pre_commit() -> None:
    """.pre-commit-config.yaml (this repository's hooks) and .pre-commit-hooks.yaml (the hook
    other repositories use), checked by pre-commit's own validators."""
    clientlib = need("pre_commit.clientlib")
    load_config, load_manifest = clientlib.load_config, clientlib.load_manifest

    hooks = {h["id"] for repo in load_config(str(ROOT / ".pre-commit-config.yaml"))["repos"] for h in repo["hooks"]}
    assert {"ruff", "dataplane-validate", "dataplane-render-check"} <= hooks
    assert [h["id"] for h in load_manifest(str(ROOT / ".pre-commit-hooks.yaml"))] == ["dataplane-validate"]
