"""The commands of the render engine issue: explain, new-tenant, help, exit codes."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from render import commands
from render.cli import named_command, parser
from render.commands import COMMANDS
from tests.support import ROOT, copy_repo, dataplane


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    names = [c.__name__.rsplit(".", 1)[1].replace("_", "-") for c in COMMANDS]
    for name in names:
        with pytest.raises(SystemExit) as exit_info:
            parser().parse_args([name, "--help"])
        assert exit_info.value.code == 0
        assert "usage: dataplane" in capsys.readouterr().out


def _registered(p: argparse.ArgumentParser) -> set[str]:
    return set(next(a for a in p._actions if isinstance(a, argparse._SubParsersAction)).choices)


def test_each_command_is_built_from_the_module_the_registry_names() -> None:
    assert _registered(parser()) == set(commands.NAMES)
    for name in commands.NAMES:
        assert name in _registered(parser(name))


@pytest.mark.parametrize("argv, command", [
    (["--repo", "x", "render", "--base", "main"], "render"), (["-o", "json", "validate", "acme"], "validate"),
    (["fork-image", "acme"], "fork-image"), (["--help"], None), (["--format", "bad", "render"], None),
    (["nonsense"], None), ([], None)])
def test_a_run_builds_only_the_command_it_names(argv: list[str], command: str | None) -> None:
    assert named_command(argv) == command


def test_render_imports_no_other_command() -> None:
    code = ("import sys, render.cli; render.cli.parser(render.cli.named_command(['render', '--base', 'x'])); "
            "print(sorted(m for m in sys.modules if m.startswith('render.commands.')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert done.stdout.strip() == "['render.commands.render']"


def test_explain_shows_each_value_and_its_layer(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = copy_repo(tmp_path)
    assert dataplane(root, "explain", "globex", "image_extractor") == 0
    lines = capsys.readouterr().out.splitlines()
    line = next(x for x in lines if x.startswith("extractors.image_extractor_v1.min_replicas = 2 "))
    assert "overrides (tenants/globex/overrides.yaml:10)" in line
    line = next(x for x in lines if x.startswith("extractors.image_extractor_v1.upscale_delay_s = 30 "))
    assert "registry (registry/extractors.yaml:" in line


def test_explain_whole_tenant_includes_platform_layer(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = copy_repo(tmp_path)
    assert dataplane(root, "explain", "acme") == 0
    out = capsys.readouterr().out
    assert 'cluster.batch-workers.max_replicas = 3' in out and "platform (registry/platform.yaml:" in out
    assert "auto_deploy = true" in out and "engine default" in out


def test_explain_unknown_extractor_suggests(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = copy_repo(tmp_path)
    assert dataplane(root, "explain", "acme", "text_extracter") == 2
    assert "did you mean" in capsys.readouterr().err


def test_new_tenant_scaffolds_a_valid_tenant(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = copy_repo(tmp_path)
    assert dataplane(root, "new-tenant", "hooli", "--cloud", "aws", "--region", "eu-west-1", "--organization-id", "org_h00l1",
                     "--cloud-account", "123456789012") == 0
    for name in ("tenant.yaml", "overrides.yaml", "release.yaml"):
        text = (root / "tenants/hooli" / name).read_text()
        assert text.startswith("# yaml-language-server: $schema=../../render/schemas/")
    assert dataplane(root, "validate") == 0
    assert dataplane(root, "render", "hooli") == 0
    assert (root / "rendered/hooli/bucket-dp-data-hooli.yaml").exists()
    assert dataplane(root, "new-tenant", "hooli", "--cloud", "aws", "--region", "eu-west-1", "--organization-id", "org_h00l1",
                     "--cloud-account", "123456789012") == 2
    assert dataplane(root, "new-tenant", "Bad_Name", "--cloud", "gcp", "--region", "us-central1", "--organization-id", "org_bad") == 2


def test_validate_on_examples_prints_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = copy_repo(tmp_path)
    assert dataplane(root, "validate") == 0
    assert capsys.readouterr() == ("", "")


def test_unknown_tenant_is_a_problem_not_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = copy_repo(tmp_path)
    assert dataplane(root, "render", "nosuch") == 2
    err = capsys.readouterr().err
    assert "no tenant named 'nosuch'" in err and "Traceback" not in err
