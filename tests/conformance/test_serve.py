"""Ray Serve's own schema classes over serveConfigV2, with unknown keys and versions."""

from __future__ import annotations

from render.conformance import serve
from render.conformance.manifests import Manifest
from render.load import parse_yaml
from tests.support import ROOT, need

need("ray.serve")

RAYSERVICE = "rendered/acme/rayservice-engine.yaml"


def manifest(edit: tuple[str, str] | None = None) -> Manifest:
    text = (ROOT / RAYSERVICE).read_text()
    if edit:
        assert edit[0] in text
        text = text.replace(edit[0], edit[1], 1)
    return Manifest(parse_yaml(text, RAYSERVICE))


def test_the_rendered_rayservice_passes() -> None:
    outcome = serve.check([manifest()], "2.60.0")
    assert outcome.failures == [] and outcome.checked == 1 and "applications" in outcome.note


def test_a_misspelt_deployment_key_is_reported_at_its_line() -> None:
    m = manifest(("        max_ongoing_requests: 8\n", "        max_ongoing_request: 8\n"))
    problems, _ = serve.check_service(m)
    assert [p.pointer for p in problems] == \
        ["RayService/engine: spec.serveConfigV2.applications[0].deployments[0].max_ongoing_request"]
    line = (ROOT / RAYSERVICE).read_text().splitlines().index("        max_ongoing_requests: 8") + 1
    assert problems[0].line == line and problems[0].column == 9
    assert "Ray Serve would ignore it" in problems[0].message


def test_initial_replicas_above_max_is_refused_by_autoscalingconfig() -> None:
    m = manifest(("          initial_replicas: 1\n          max_replicas: 6", "          initial_replicas: 9\n          max_replicas: 6"))
    problems, _ = serve.check_service(m)
    assert len(problems) == 1 and "initial_replicas" in problems[0].message


def test_a_schema_error_from_servedeployschema_is_reported() -> None:
    m = manifest(("        max_ongoing_requests: 8\n", "        max_ongoing_requests: many\n"))
    problems, _ = serve.check_service(m)
    assert [p.pointer for p in problems] == \
        ["RayService/engine: spec.serveConfigV2.applications[0].deployments[0].max_ongoing_requests"]


def test_a_cluster_on_another_ray_version_fails() -> None:
    outcome = serve.check([manifest(("    rayVersion: 2.60.0", "    rayVersion: 2.9.0"))], "2.60.0")
    assert [p.pointer for p in outcome.failures] == ["RayService/engine: spec.rayClusterConfig.rayVersion"]


def test_checking_for_another_ray_than_installed_fails() -> None:
    outcome = serve.check([manifest()], "2.61.0")
    assert any("but the tenant's release runs 2.61.0" in p.message for p in outcome.failures)
