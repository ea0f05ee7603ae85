"""`dataplane validate --deep` over the example tenants, a generated fleet, and broken repos."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bench.fleet import generate_fleet
from render.commands.render import render
from render.commands.validate import validate
from render.conformance import deep
from tests.support import ROOT, copy_repo, crds_dir, need_deep_engines

need_deep_engines()

VALIDATORS = ("kubernetes", "custom resources", "ray serve", "celery", "yamllint", "reachability", "capacity",
              "references")


def summary(out: str) -> dict[str, str]:
    """Summary lines by validator (`ok   kubernetes ...` -> {'kubernetes': 'ok   kubernetes ...'})."""
    lines = [line for line in out.splitlines() if line.startswith(("ok   ", "FAIL ", "skip "))]
    return {v: line for v in VALIDATORS for line in lines if line[5:].startswith(v)}


def test_the_example_tenants_pass_every_validator(capsys: pytest.CaptureFixture[str]) -> None:
    assert validate(root=ROOT, tenants=[], deep=True, crds=crds_dir(), require_crds=True) == 0
    lines = summary(capsys.readouterr().out)
    assert sorted(lines) == sorted(VALIDATORS)
    assert all(line.startswith("ok   ") and ", 0 failures" in line for line in lines.values()), lines
    tenants = len([p for p in (ROOT / "tenants").iterdir() if p.is_dir()])
    assert f"{tenants} RayServices" in lines["ray serve"] and f"{tenants} configs" in lines["celery"]


def test_a_generated_fleet_of_50_tenants_passes_every_validator(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    names = generate_fleet(tmp_path, 50, seed=6)
    shutil.copy(ROOT / ".yamllint.yaml", tmp_path / ".yamllint.yaml")
    assert render(root=tmp_path, tenants=[]) == 0
    capsys.readouterr()
    code = validate(root=tmp_path, tenants=[], deep=True, crds=crds_dir(), require_crds=True)
    captured = capsys.readouterr()
    assert code == 0, captured.out + captured.err[-5000:]
    lines = summary(captured.out)
    assert f"{len(names)} RayServices" in lines["ray serve"] and f"{len(names)} configs" in lines["celery"]
    clouds = {(tmp_path / "tenants" / n / "tenant.yaml").read_text().split("cloud: ")[1][:3] for n in names}
    assert clouds == {"gcp", "aws"}
    # Config Connector and ACK kinds are checked against their upstream CRDs (no hand-written schemas).
    crd_kinds = lines["custom resources"].rsplit("(", 1)[1]
    assert all(kind in crd_kinds for kind in ("Bucket", "StorageBucket", "IAMPolicyMember", "IAMServiceAccount", "Role"))
    assert not (ROOT / "render" / "conformance" / "schemas").exists()


def test_a_fresh_clone_checks_custom_resources_with_the_vendored_crds(capsys: pytest.CaptureFixture[str],
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATAPLANE_CRDS", raising=False)
    assert validate(root=ROOT, tenants=["acme"], deep=True, crds=None, require_crds=True) == 0
    line = summary(capsys.readouterr().out)["custom resources"]
    assert line.startswith("ok   custom resources (CRDs: vendored, render/crds): ") and ", 0 failures" in line
    assert "RayService" in line and "skip" not in line


def test_a_skipped_check_says_skip_and_ci_turns_it_into_a_failure() -> None:
    outcome = {o.name.split(" (")[0]: o for o in deep.run(ROOT, tenants=["acme"], crds=None)}["custom resources"]
    assert outcome.status == "skip" and outcome.line().startswith("custom resources (upstream CRDs): no CRD folder")
    assert "RayService" in outcome.line()
    required = deep.run(ROOT, tenants=["acme"], crds=None, require_crds=True)[1]
    assert required.status == "FAIL" and "(required here, so this fails)" in required.line()


def test_a_broken_rendered_object_fails_the_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = copy_repo(tmp_path)
    shutil.copy(ROOT / "tests/fixtures/broken/core-unknown-field.yaml", root / "rendered/acme/deployment-web.yaml")
    assert validate(root=root, tenants=[], deep=True, crds=crds_dir()) == 1
    captured = capsys.readouterr()
    assert summary(captured.out)["kubernetes"].startswith("FAIL ") and ", 1 failure" in captured.out
    assert "rendered/acme/deployment-web.yaml:24:11: Deployment/web: spec.template.spec.containers[0].resource: " \
           "unknown field" in captured.err


def test_every_document_under_argocd_is_dispatched_by_kind(tmp_path: Path) -> None:
    """ArgoCD objects (and any multi-document file) are checked against their CRDs; an
    unknown kind or a document that is no object fails instead of passing silently."""
    root = copy_repo(tmp_path)
    (root / "argocd" / "platform").mkdir(parents=True, exist_ok=True)
    (root / "argocd" / "platform" / "extra.yaml").write_text(
        "---\napiVersion: argoproj.io/v1alpha1\nkind: AppProject\nmetadata:\n  name: p\n  namespace: argocd\n"
        "spec:\n  sourceRepo: []\n"
        "---\napiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n"
        "---\njust: data\n")
    outcomes = {o.name.split(" (")[0]: o for o in deep.run(root, crds=crds_dir())}
    crd_problems = [p for p in outcomes["custom resources"].failures if p.file == "argocd/platform/extra.yaml"]
    assert [(p.line, p.pointer) for p in crd_problems] == [(8, "AppProject/p: spec.sourceRepo"), (10, "Widget/w: apiVersion")]
    assert "no CRD for Widget" in crd_problems[1].message
    k8s = [p for p in outcomes["kubernetes 1.33"].failures if p.file == "argocd/platform/extra.yaml"]
    assert [p.message for p in k8s] == ["not a Kubernetes object: no apiVersion and kind"]
