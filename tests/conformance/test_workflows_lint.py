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


def test_the_seven_workflows_exist():
    assert [p.name for p in FILES] == ["config-deploy.yml", "fork-deploy.yml", "generate.yml", "merge.yml",
                                       "platform-update.yml", "pr.yml", "rollout.yml"]


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


def test_the_job_building_fork_code_holds_only_its_tenants_package_credential():
    """Issue 23 item 2: fork builds pushed with GITHUB_TOKEN and packages: write, which any
    branch workflow also gets. Now: the tenant's environment, its package's token, nothing else."""
    build = load(WORKFLOWS / "fork-deploy.yml")["jobs"]["build"]
    assert build["permissions"] == {"contents": "read"}
    assert build["environment"] == "tenant-${{ needs.inputs.outputs.tenant }}"
    assert set(re.findall(r"secrets\.(\w+)", yaml.safe_dump(build))) == {"TENANT_PACKAGE_TOKEN"}
    assert "github.token" not in yaml.safe_dump(build)
    checkout = next(s for s in build["steps"] if s.get("with", {}).get("path") == "fork")
    assert checkout["with"]["ref"] == "${{ needs.inputs.outputs.commit }}"  # bound to the branch or tag's commit


def test_single_tenant_deploys_share_a_per_tenant_concurrency_group():
    fork = load(WORKFLOWS / "fork-deploy.yml")["jobs"]["deploy"]["concurrency"]
    config = load(WORKFLOWS / "config-deploy.yml")["jobs"]["deploy"]["concurrency"]
    assert fork["group"] == "dataplane-tenant-${{ needs.inputs.outputs.tenant }}"
    assert config["group"] == "dataplane-tenant-${{ needs.authorize.outputs.tenant }}"
    assert fork["cancel-in-progress"] is False and config["cancel-in-progress"] is False


def test_every_step_that_does_work_is_a_dataplane_subcommand():
    """Shell lines only install, call dataplane, or talk to docker and argocd."""
    allowed = re.compile(r"^(python3 -m venv|\.venv/bin/(pip|dataplane|yamllint|actionlint|zizmor)|docker |printf |"
                         r"curl |chmod |\./argocd |echo \"configured=|echo \"config deploy of \$TENANT approved\")")
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


# -- who holds what (docs/security.md, "Who may do what") --------------------------------

def jobs() -> list[tuple[str, str, dict[str, Any]]]:
    return [(path.name, name, spec) for path in FILES for name, spec in load(path)["jobs"].items()]


APP_ENVIRONMENTS = {"automation", "${{ github.event_name == 'schedule' && 'automation' || 'platform' }}"}


def test_only_jobs_in_main_restricted_environments_hold_a_secret():
    """Issue 23 item 7: the argocd environment's token was reachable from branches. Every
    secret lives in an environment (restricted to main: `dataplane repository-audit`)."""
    for name, job, spec in jobs():
        if "secrets." in yaml.safe_dump(spec):
            assert spec.get("environment"), f"{name}:{job} reads a secret outside an environment"


def test_the_apps_key_is_used_only_by_main_s_engine_in_the_automations_environments():
    for name, job, spec in jobs():
        text = yaml.safe_dump(spec)
        if "DATAPLANE_APP_KEY" in text:
            assert spec["environment"] in APP_ENVIRONMENTS, f"{name}:{job}"
            assert "docker build" not in text and "fork" not in [s.get("with", {}).get("path") for s in spec["steps"]]


def test_no_workflow_token_writes_the_repository():
    """Issue 23 item 5: whatever lets GITHUB_TOKEN push main lets every branch workflow do it.
    Only the App's token writes: no job asks GITHUB_TOKEN for contents, packages or statuses."""
    for name, job, spec in jobs():
        granted = spec.get("permissions") or {}
        assert granted.get("contents") in (None, "read"), f"{name}:{job}"
        assert not {"packages", "statuses", "checks", "actions"} & set(granted), f"{name}:{job}: {granted}"
        if name != "pr.yml":
            assert "github.token" not in yaml.safe_dump(spec), f"{name}:{job}"


def test_nothing_that_holds_a_secret_runs_the_pull_requests_code():
    """merge.yml runs on pull_request_target with the App's key: it installs main's engine
    (checkout of ref main) and reads the pull request's head only as --tree data."""
    data = load(WORKFLOWS / "merge.yml")
    for job, spec in data["jobs"].items():
        checkouts = [s for s in spec["steps"] if s.get("uses", "").startswith("actions/checkout@")]
        assert checkouts[0]["with"]["ref"] == "main" and "path" not in checkouts[0]["with"], job
        for step in spec["steps"]:
            run = step.get("run", "")
            assert "pr/" not in run and "./pr" not in run and "cd " not in run, f"{job}: {run}"
            assert not step.get("uses", "").startswith("./"), job
    verify = data["jobs"]["verify"]["steps"]
    assert [s.get("with", {}).get("path") for s in verify if "uses" in s][:2] == [None, "pr"]
    assert verify[-1]["run"] == '.venv/bin/dataplane verify-pr "$PR" --tree pr'


@pytest.mark.parametrize("workflow, job, environment", [
    ("platform-update.yml", "build", "release"),
    ("config-deploy.yml", "approve", "tenant-${{ needs.authorize.outputs.tenant }}"),
    ("fork-deploy.yml", "build", "tenant-${{ needs.inputs.outputs.tenant }}"),
    ("rollout.yml", "step", "${{ github.event_name == 'schedule' && 'automation' || 'platform' }}"),
])
def test_every_dispatch_waits_for_an_environment_with_reviewers(workflow, job, environment):
    assert load(WORKFLOWS / workflow)["jobs"][job]["environment"] == environment


@pytest.mark.parametrize("workflow, first, command", [
    ("platform-update.yml", "authorize", "dataplane authorize platform-update"),
    ("config-deploy.yml", "authorize", "dataplane authorize config-deploy"),
    ("fork-deploy.yml", "inputs", "dataplane fork-inputs"),
])
def test_the_first_job_of_a_dispatch_checks_the_triggering_actor(workflow, first, command):
    data = load(WORKFLOWS / workflow)
    assert command in data["jobs"][first]["steps"][-1]["run"]
    others = [name for name, spec in data["jobs"].items() if name != first]
    for name in others:  # every other job runs after it
        needs = data["jobs"][name].get("needs", [])
        assert first in ([needs] if isinstance(needs, str) else needs) or any(
            first in (data["jobs"][n].get("needs") or []) for n in ([needs] if isinstance(needs, str) else needs)), name


def test_the_release_is_built_pushed_attested_and_rolled_out_by_digest():
    data = load(WORKFLOWS / "platform-update.yml")["jobs"]
    build = data["build"]
    assert set(re.findall(r"secrets\.(\w+)", yaml.safe_dump(build))) == {"RELEASE_PACKAGE_TOKEN"}
    assert "docker push" in build["steps"][-1]["run"] and build["outputs"]["digest"]
    attest = data["attest"]
    assert attest["permissions"] == {"id-token": "write", "attestations": "write"}
    assert [s["uses"].split("@")[0] for s in attest["steps"]] == ["actions/attest-build-provenance"]
    assert attest["steps"][0]["with"]["subject-digest"] == "${{ needs.build.outputs.digest }}"
    roll = data["roll-out"]
    assert roll["steps"][-1]["env"]["DIGEST"] == "${{ needs.build.outputs.digest }}"
    assert '--digest="$DIGEST"' in roll["steps"][-1]["run"]
    fork = load(WORKFLOWS / "fork-deploy.yml")["jobs"]["attest"]
    assert fork["steps"][0]["uses"].startswith("actions/attest-build-provenance@")
