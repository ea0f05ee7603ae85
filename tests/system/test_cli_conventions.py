"""CLI conventions: -o json|yaml in any position with a stable shape, version, completion,
-n for the cluster commands and their offline checks, and the messages that name the mistake."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from render import templates
from render.load import parse_yaml
from render.ops.kube import network_reason
from render.problems import ProblemsError
from tests.support import copy_repo, dataplane, need_binary

Capsys = pytest.CaptureFixture[str]

# command -> the top-level keys of its JSON document (docs/operations.md#machine-readable-output)
SHAPES = {
    ("explain", "acme"): {"tenant", "values", "placement"},
    ("footprint", "acme"): {"tenant", "cloud", "region", "components", "always_on", "ceiling", "monthly_usd", "contract"},
    ("validate",): {"valid", "problems", "warnings"},
    ("migration",): {"tenants"},
    ("rollout", "plan", "2026.12.1"): {"version", "plan", "budgets", "waves", "held", "timeout_minutes"},
    ("rollout", "status"): {"rollout"},
    ("version",): {"engine", "platform_version", "python"},
    ("render", "--check", "--no-cache"): {"check", "tenants", "files", "unchanged"},
}


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_repo(tmp_path_factory.mktemp("repo"))


def _json(capsys: Capsys, root: Path, *args: str) -> object:
    assert dataplane(root, *args) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def test_output_json_has_the_documented_shape(repo: Path, capsys: Capsys) -> None:
    for command, keys in SHAPES.items():
        data = _json(capsys, repo, "-o", "json", *command)
        assert isinstance(data, dict) and set(data) >= keys, command


READ_COMMANDS = [*SHAPES, ("status", "acme"), ("doctor", "acme"), ("check-scope", "--base", "main"),
                 ("pr-report", "--base", "main"), ("preview", "acme")]


def test_output_is_accepted_before_and_after_every_read_command() -> None:
    from render.cli import parser

    for command in READ_COMMANDS:
        for argv in (["-o", "yaml", *command], [*command, "-o", "yaml"], [*command, "--output=yaml"]):
            assert parser().parse_args(argv).output == "yaml", argv
    assert parser().parse_args(["-o", "json", "version", "-o", "yaml"]).output == "yaml"  # the later one wins
    assert parser().parse_args(["version"]).output is None


def test_the_same_document_either_side_of_the_command(repo: Path, capsys: Capsys) -> None:
    assert _json(capsys, repo, "-o", "json", "migration") == _json(capsys, repo, "migration", "--output", "json")


def test_yaml_carries_the_same_data_as_json(repo: Path, capsys: Capsys) -> None:
    as_json = _json(capsys, repo, "explain", "acme", "image_extractor", "-o", "json")
    assert dataplane(repo, "explain", "acme", "image_extractor", "-o", "yaml") == 0
    assert yaml.safe_load(capsys.readouterr().out) == as_json
    # --format json, the older spelling, is the same document
    assert _json(capsys, repo, "explain", "acme", "image_extractor", "--format", "json") == as_json


def test_explain_shows_what_each_extractor_can_reach(repo: Path, capsys: Capsys) -> None:
    data = _json(capsys, repo, "explain", "acme", "image_extractor", "-o", "json")
    assert isinstance(data, dict)
    [reach] = data["placement"]["extractors"]
    assert reach["extractor"] == "image_extractor_v1" and reach["group"] == "gpu-workers"
    assert reach["reachable_max"] == reach["max_replicas"]
    assert dataplane(repo, "explain", "acme", "image_extractor") == 0
    out = capsys.readouterr().out
    assert "gpu-workers: " in out and "  image_extractor_v1" in out and "reachable" in out


def test_explain_of_a_worker_group_shows_the_group(repo: Path, capsys: Capsys) -> None:
    assert dataplane(repo, "explain", "acme", "cpu-workers") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "# cpu-workers is a worker group: its values (cluster.cpu-workers) and the extractors it holds"
    values = [ln for ln in lines if " = " in ln]
    assert values and all(ln.startswith("cluster.cpu-workers.") for ln in values)
    assert any(ln.startswith("cpu-workers: ") for ln in lines) and not any(ln.startswith("gpu-workers: ") for ln in lines)


def test_version(repo: Path, capsys: Capsys) -> None:
    data = _json(capsys, repo, "version", "-o", "json")
    platform = yaml.safe_load((repo / "registry/platform.yaml").read_text())["platform_version"]
    assert isinstance(data, dict) and data["platform_version"] == platform and data["engine"]
    assert dataplane(repo, "version") == 0
    assert capsys.readouterr().out.startswith(f"dataplane {data['engine']}, platform {platform}, Python ")


def test_completion_scripts_come_from_the_parser(repo: Path, capsys: Capsys) -> None:
    for shell in ("bash", "zsh"):
        assert dataplane(repo, "completion", shell) == 0
        script = capsys.readouterr().out
        assert "dataplane" in script and "ray-dashboard" in script and "--kubeconfig" in script


@pytest.mark.parametrize("line, expected", [("dataplane ex", "explain"), ("dataplane explain ac", "acme"),
                                            ("dataplane status --kubec", "--kubeconfig")])
def test_bash_completes_commands_options_and_tenants(repo: Path, capsys: Capsys, tmp_path: Path,
                                                     line: str, expected: str) -> None:
    bash = need_binary("bash", "apt-get install bash")
    assert dataplane(repo, "completion", "bash") == 0
    script = tmp_path / "dataplane.bash"
    script.write_text(capsys.readouterr().out)
    words = line.split(" ")
    run = (f"source {script}; COMP_WORDS=({line}); COMP_CWORD={len(words) - 1}; COMP_LINE='{line}'; "
           "COMP_POINT=${#COMP_LINE}; _shtab_dataplane; echo \"${COMPREPLY[@]}\"")
    out = subprocess.run([bash, "-c", run], cwd=repo, capture_output=True, text=True, check=True).stdout
    assert out.split() == [expected]


def test_cluster_commands_check_the_tenant_before_dialing(repo: Path, capsys: Capsys) -> None:
    assert dataplane(repo, "status", "acmee", "--kubeconfig", str(repo / "none")) == 2
    err = capsys.readouterr().err
    assert "no tenant 'acmee'" in err and "did you mean 'acme'?" in err
    assert dataplane(repo, "doctor", "acme", "-n", "tenant-globex") == 2
    assert "disagree" in capsys.readouterr().err


def test_a_missing_kubeconfig_is_named(repo: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = repo / "no-such-kubeconfig"
    assert dataplane(repo, "status", "-n", "tenant-acme", "--kubeconfig", str(missing)) == 2
    assert f"kubeconfig file {missing} does not exist" in capsys.readouterr().err
    monkeypatch.setenv("KUBECONFIG", str(missing))
    assert dataplane(repo, "ray-dashboard", "acme") == 2
    assert f"no kubeconfig file of KUBECONFIG exists: {missing}" in capsys.readouterr().err


def test_scale_checks_the_range_offline(repo: Path, capsys: Capsys) -> None:
    kubeconfig = repo / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n")
    assert dataplane(repo, "scale", "-n", "tenant-acme", "gpu-workers", "--replicas", "9", "--kubeconfig", str(kubeconfig)) == 2
    err = capsys.readouterr().err
    assert "gpu-workers allows 0..3 replicas; 9 is outside" in err and "max_replicas: 9" in err


def test_doctor_offline_runs_the_render_time_checks(repo: Path, capsys: Capsys) -> None:
    assert dataplane(repo, "doctor", "acme", "--offline") == 0
    assert "no problems found in the files of acme" in capsys.readouterr().out
    data = _json(capsys, repo, "doctor", "-n", "tenant-acme", "--offline", "-o", "json")
    assert data == {"tenant": "acme", "namespace": "tenant-acme", "findings": []}


def test_doctor_offline_reports_stale_output(tmp_path: Path, capsys: Capsys) -> None:
    root = copy_repo(tmp_path)
    (root / "rendered/acme/namespace-tenant-acme.yaml").write_text("stale\n")
    assert dataplane(root, "doctor", "acme", "--offline") == 1
    out = capsys.readouterr().out
    assert "[error] rendered output of acme: 1 file(s) not current" in out and "rendered/acme/namespace-tenant-acme.yaml" in out


def test_the_network_reason_not_the_exception_class() -> None:
    from urllib3.exceptions import MaxRetryError, NewConnectionError

    refused = NewConnectionError(object(), "Failed to establish a new connection: [Errno 111] Connection refused")  # type: ignore[arg-type]
    assert network_reason(MaxRetryError(None, "/api/v1/pods", reason=refused)) == "[Errno 111] Connection refused"  # type: ignore[arg-type]


def test_argocd_url_is_also_server(repo: Path) -> None:
    from render.cli import parser

    args = parser().parse_args(["rollout", "advance", "--server", "argocd.example"])
    assert args.argocd_url == "argocd.example"


def test_a_template_error_names_the_variable_and_the_line() -> None:
    env = templates.environment({"base/x.yaml.j2": "a: 1\nb: {{ storage.bucket_nmae | j }}\n"}, {})
    with pytest.raises(ProblemsError) as info:
        templates.render(env, "base/x.yaml.j2", {"storage": {"bucket": "b"}})
    [p] = info.value.problems
    assert (p.file, p.line) == ("base/x.yaml.j2", 2)
    assert p.message == "template error: {{ storage.bucket_nmae | j }}: no value 'bucket_nmae' (undefined)"


def test_a_list_item_out_of_line_gets_an_indentation_hint() -> None:
    with pytest.raises(ProblemsError) as info:
        parse_yaml("disabled:\n  - web_scraper\n - face_identity_extractor\n", "tenants/acme/overrides.yaml")
    [p] = info.value.problems
    assert p.line == 3 and p.hint == ("indentation: this list item is indented by 1 spaces and the one on line 2 by 2; "
                                      "items of one list line up")


def test_validate_deep_as_one_document(repo: Path, capsys: Capsys) -> None:
    from tests.support import crds_dir

    data = _json(capsys, repo, "validate", "acme", "--deep", "--crds", str(crds_dir()), "-o", "json")
    assert isinstance(data, dict) and data["valid"] is True and data["problems"] == []
    assert data["deep"] and all(set(v) == {"validator", "ok", "checked", "unit", "skipped", "failures"} for v in data["deep"])
    assert all(v["ok"] for v in data["deep"]), [v for v in data["deep"] if not v["ok"]]


def test_problems_are_json_under_output_json(repo: Path, capsys: Capsys) -> None:
    assert dataplane(repo, "explain", "acme", "web_scrapper", "-o", "json") == 2
    [problem] = json.loads(capsys.readouterr().out)
    assert problem["file"] == "registry/extractors.yaml" and problem["hint"].startswith("did you mean 'web_scraper'?")


def test_output_json_is_refused_by_a_writing_command(repo: Path, capsys: Capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        dataplane(repo, "-o", "json", "new-tenant", "hooli", "--cloud", "gcp", "--region", "us-central1",
                  "--organization-id", "org_h00l1")
    assert exit_info.value.code == 2 and "new-tenant prints no document" in capsys.readouterr().err
    assert not (repo / "tenants/hooli").exists()
