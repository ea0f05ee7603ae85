"""The linters as tests, with their configs in pyproject.toml: ruff over the engine, the
benchmark and the tests; mypy --strict over the engine. A finding fails the suite and CI."""

from __future__ import annotations

import os
import re
import subprocess
import tomllib
from pathlib import Path

from tests.support import ROOT, need, need_binary

TOOLS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]


def test_ruff_reports_nothing() -> None:
    done = subprocess.run([need_binary("ruff"), "check", "--no-cache", "render", "bench", "tests"], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_strict_reports_nothing_on_the_engine() -> None:
    """`mypy` with no arguments: the files and the strict flags come from pyproject.toml."""
    done = subprocess.run([need_binary("mypy")], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Success: no issues found" in done.stdout


MISREAD = """from render.context_types import TenantContext


def namespace(ctx: TenantContext) -> str:
    return ctx["nmae"]


def redis_port(ctx: TenantContext) -> str:
    return ctx["ports"]["redis"]


def bucket(ctx: TenantContext) -> str:
    return ctx["names"]["bucket"]
"""


def test_mypy_catches_a_misread_of_the_template_context(tmp_path: Path) -> None:
    """The context is typed (render/context_types.py): a misspelled key and a value of the
    wrong type are mypy errors where Python reads them; the right read is none."""
    (tmp_path / "reader.py").write_text(MISREAD)
    done = subprocess.run([need_binary("mypy"), "--strict", "--cache-dir", str(tmp_path / "cache"), "reader.py"],
                          cwd=tmp_path, env={**os.environ, "MYPYPATH": str(ROOT)}, capture_output=True, text=True, check=False)
    errors = {(int(m[1]), m[2]) for m in re.finditer(r"^reader\.py:(\d+): error: .*\[([a-z-]+)\]$", done.stdout, re.MULTILINE)}
    # Line 5 also returns the unknown key's Any (no-any-return); line 13 reads right.
    assert errors == {(5, "typeddict-item"), (5, "no-any-return"), (9, "return-value")}, done.stdout + done.stderr
    assert 'TypedDict "TenantContext" has no key "nmae"' in done.stdout


def test_the_linters_are_not_quietly_narrowed() -> None:
    """Passing by weakening the config is not passing: the rule families and strict mode stay."""
    lint = TOOLS["ruff"]["lint"]
    assert {"E", "W", "F", "I", "B", "UP", "SIM", "RUF"} <= set(lint["select"])
    assert not {"E9", "F", "B", "I", "RUF100"} & set(lint.get("ignore", [])), lint.get("ignore")
    mypy = TOOLS["mypy"]
    assert mypy["strict"] is True and mypy["files"] == ["render"]
    for override in mypy.get("overrides", []):
        # Only an untyped third-party import may be let through, never errors in our code.
        assert set(override) == {"module", "ignore_missing_imports"}, override
        assert not any(m.startswith("render") for m in override["module"]), override


def test_the_pre_commit_files_are_valid_for_pre_commit() -> None:
    """.pre-commit-config.yaml (this repository's hooks) and .pre-commit-hooks.yaml (the hook
    other repositories use), checked by pre-commit's own validators."""
    clientlib = need("pre_commit.clientlib")
    load_config, load_manifest = clientlib.load_config, clientlib.load_manifest

    hooks = {h["id"] for repo in load_config(str(ROOT / ".pre-commit-config.yaml"))["repos"] for h in repo["hooks"]}
    assert {"ruff", "mypy", "yamllint", "dataplane-validate", "dataplane-render-check"} <= hooks
    assert [h["id"] for h in load_manifest(str(ROOT / ".pre-commit-hooks.yaml"))] == ["dataplane-validate"]
