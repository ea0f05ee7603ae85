"""checkov over rendered/: 0 failed checks for the examples and a generated fleet.

checkov cannot share the dev venv (it pins packaging<24, ray needs >=24.2), so it runs from
its own venv: $DATAPLANE_CHECKOV, else .venv-checkov/bin/checkov (built by .ci/run from the
`checkov` extra), else checkov on PATH. Missing: skipped locally, a failure under CI=true.
A check that does not apply is skipped in base/ by a checkov.io/skipN annotation with its reason.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from bench.fleet import generate_fleet
from render.commands.render import render
from tests.support import ROOT, missing


def checkov_binary() -> str:
    found = os.environ.get("DATAPLANE_CHECKOV") or (str(ROOT / ".venv-checkov/bin/checkov")
                                                    if (ROOT / ".venv-checkov/bin/checkov").exists() else shutil.which("checkov"))
    if not found:
        missing("checkov", "set DATAPLANE_CHECKOV or build .venv-checkov: pip install -e '.[checkov]' in a venv of its own")
    return found


def scan(folder: Path) -> list[dict[str, Any]]:
    """checkov's JSON reports for the Kubernetes manifests under `folder` (offline)."""
    run = subprocess.run([checkov_binary(), "-d", str(folder), "--framework", "kubernetes", "--quiet", "--compact",
                          "--skip-download", "-o", "json"], capture_output=True, text=True, cwd=folder, timeout=600,
                         env={**os.environ, "BC_SKIP_MAPPING": "TRUE"})
    assert run.stdout.strip(), run.stderr[-3000:]
    reports = json.loads(run.stdout)
    return reports if isinstance(reports, list) else [reports]


def failures(reports: list[dict[str, Any]]) -> list[str]:
    return [f"{f['resource']}: {f['check_id']} {f['check_name']}" for r in reports
            for f in r.get("results", {}).get("failed_checks", [])]


def assert_clean(folder: Path) -> list[dict[str, Any]]:
    reports = scan(folder)
    assert failures(reports) == []
    assert all(r["summary"]["parsing_errors"] == 0 for r in reports)
    assert sum(r["summary"]["resource_count"] for r in reports) > 0
    skipped = [s for r in reports for s in r["results"].get("skipped_checks", [])]
    assert all(s.get("suppress_comment", "").strip() for s in skipped), "every skip says why"
    return reports


PINNED = ("CKV_K8S_43", "CKV_K8S_15")  # image by digest; pull policy (moot for a digest)


def test_the_example_tenants_pass_checkov() -> None:
    reports = assert_clean(ROOT / "rendered")
    assert sum(r["summary"]["passed"] for r in reports) > 1000
    # Every image is pinned: nothing skips the digest checks, so 0 failed means they pass on
    # every workload (checkov fails them without a digest: the test below).
    skips = [line for p in (ROOT / "rendered").rglob("*.yaml") for line in p.read_text().splitlines()
             if "checkov.io/skip" in line]
    assert skips and not [line for line in skips if any(f"{check}=" in line for check in PINNED)]


def test_a_generated_fleet_passes_checkov(tmp_path: Path) -> None:
    generate_fleet(tmp_path, 12, seed=21)
    assert render(root=tmp_path, tenants=[]) == 0
    assert_clean(tmp_path / "rendered")


def test_a_deployment_without_its_security_context_fails(tmp_path: Path) -> None:
    """checkov is really looking: the same Deployment without securityContext fails."""
    obj = yaml.safe_load((ROOT / "rendered/acme/deployment-redis-exporter.yaml").read_text())
    del obj["spec"]["template"]["spec"]["securityContext"]
    del obj["spec"]["template"]["spec"]["containers"][0]["securityContext"]
    container = obj["spec"]["template"]["spec"]["containers"][0]
    container["image"] = container["image"].split("@")[0]  # and without its digest
    (tmp_path / "deployment.yaml").write_text(yaml.safe_dump(obj))
    found = failures(scan(tmp_path))
    assert any("CKV_K8S_20" in f for f in found) and any("CKV_K8S_28" in f or "CKV_K8S_37" in f for f in found)
    assert any("CKV_K8S_43" in f for f in found)
