"""The workflow files: actionlint and zizmor report nothing, and our own rules hold."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import ROOT, need_binary

WORKFLOWS = ROOT / ".github" / "workflows"
FILES = sorted(WORKFLOWS.glob("*.yml"))


def load(path: Path) -> dict[Any, Any]:
    # PyYAML reads the key `on` as True; the workflow schema calls it `on`.
    data = yaml.safe_load(path.read_text())
    data["on"] = data.pop(True, data.get("on"))
    return dict(data)


def test_the_five_workflows_exist():
    assert [p.name for p in FILES] == ["config-deploy.yml", "fork-deploy.yml", "platform-update.yml", "pr.yml",
                                       "rollout.yml"]


def test_actionlint_reports_nothing():
    done = subprocess.run([need_binary("actionlint"), "-no-color", *map(str, FILES)], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("persona", ["regular", "auditor"])
def test_zizmor_reports_nothing(persona):
    done = subprocess.run([need_binary("zizmor"), "--offline", "--no-progress", "--persona", persona, "--format", "plain",
                           str(WORKFLOWS)], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No findings to report" in done.stdout + done.stderr


def test_yamllint_passes_on_every_yaml_file_with_the_one_config():
    """The command the pull request workflow and pre-commit run, with the root config only."""
    assert not (ROOT / ".github" / "yamllint.yaml").exists(), "one yamllint config: .yamllint.yaml at the root"
    done = subprocess.run([need_binary("yamllint"), "--strict", "-c", ".yamllint.yaml", "."],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_yamllint_call_uses_the_root_config():
    """A second config would let two rule sets drift apart again."""
    calls = [(path.name, line.strip()) for path in [*FILES, ROOT / ".pre-commit-config.yaml"]
             for line in path.read_text().splitlines() if re.search(r"(bin/|entry: )yamllint ", line)]
    assert len(calls) == 2, calls  # the pull request workflow and the pre-commit hook
    for name, line in calls:
        assert "yamllint --strict -c .yamllint.yaml" in line, f"{name}: {line}"


def steps(path: Path) -> list[tuple[str, dict[str, Any]]]:
    return [(job, step) for job, spec in load(path)["jobs"].items() for step in spec.get("steps", [])]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_no_expression_is_interpolated_into_a_shell_line(path):
    for job, step in steps(path):
        assert "${{" not in step.get("run", ""), f"{job}: pass values through env:, not into the script"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_least_privilege(path):
    data = load(path)
    assert data["permissions"] == {}, "the workflow grants nothing; each job asks for what it needs"
    for job, spec in data["jobs"].items():
        assert "permissions" in spec, f"{job} must state its permissions"
    for job, step in steps(path):
        if step.get("uses", "").startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False, job
        if "uses" in step:
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", step["uses"]), f"{job}: pin actions to a commit"


def test_the_job_building_fork_code_cannot_write_this_repository():
    build = load(WORKFLOWS / "fork-deploy.yml")["jobs"]["build"]
    assert build["permissions"] == {"contents": "read", "packages": "write"}
    text = yaml.safe_dump(build)
    assert "secrets." not in text


def test_single_tenant_deploys_share_a_per_tenant_concurrency_group():
    fork = load(WORKFLOWS / "fork-deploy.yml")["jobs"]["deploy"]["concurrency"]
    config = load(WORKFLOWS / "config-deploy.yml")["jobs"]["deploy"]["concurrency"]
    assert fork["group"] == "dataplane-tenant-${{ needs.inputs.outputs.tenant }}"
    assert config["group"] == "dataplane-tenant-${{ inputs.tenant }}"
    assert fork["cancel-in-progress"] is False and config["cancel-in-progress"] is False


def test_every_step_that_does_work_is_a_dataplane_subcommand():
    """Shell lines only install, call dataplane, or talk to docker and argocd."""
    allowed = re.compile(r"^(python3 -m venv|\.venv/bin/(pip|dataplane|yamllint|actionlint|zizmor)|docker |printf |"
                         r"curl |chmod |\./argocd |echo \"configured=)")
    for path in FILES:
        for job, step in steps(path):
            for line in step.get("run", "").replace(">-\n", "").splitlines():
                line = line.strip()
                if line and not line.startswith("--"):
                    assert allowed.match(line), f"{path.name}:{job}: {line}"


def test_the_rollout_workflow_runs_on_schedule_and_rolls_back_only_by_hand():
    data = load(WORKFLOWS / "rollout.yml")
    assert data["on"]["schedule"] and data["on"]["workflow_dispatch"]["inputs"]["action"]["options"] == ["advance", "rollback"]
    assert data["concurrency"]["group"] != load(WORKFLOWS / "platform-update.yml")["concurrency"]["group"]
    runs = {step.get("name"): step for _, step in steps(WORKFLOWS / "rollout.yml")}
    assert "dataplane rollout advance" in runs["Advance the rollout (gate in ArgoCD)"]["run"]
    rollback = runs["Roll the current wave back"]
    assert "dataplane rollout rollback" in rollback["run"] and "workflow_dispatch" in rollback["if"]
    assert "ARGOCD_AUTH_TOKEN" not in rollback["env"]  # rolling back needs no ArgoCD token
