"""Proof the checks can fail: one deliberately broken object per validator, each caught
by that validator alone, with a message that says what is wrong and where."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from render.conformance import deep
from tests.support import ROOT, crds_dir, need_deep_engines

need_deep_engines()

FIXTURES = ROOT / "tests" / "fixtures" / "broken"

# fixture -> (validator, file:line, pointer, words the message must contain)
CASES = {
    "core-unknown-field.yaml": ("kubernetes", 24, "Deployment/web: spec.template.spec.containers[0].resource",
                                "unknown field"),
    "rayservice-unknown-worker-field.yaml": ("custom resources", 36,
                                             "RayService/engine: spec.rayClusterConfig.workerGroupSpecs[0].idleTimeoutSecond",
                                             "unknown field"),
    "serve-min-over-max.yaml": ("ray serve", 19,
                                "RayService/engine: spec.serveConfigV2.applications[0].deployments[0].autoscaling_config",
                                "max_replicas (2) must be greater than or equal to min_replicas (5)"),
    "celery-foreign-route.yaml": ("celery", 12, "ConfigMap/celery-config: data.celery.json.task_routes.engine.tasks.ingest.*",
                                  "globex.ingest"),
    "yamllint-violation.yaml": ("yamllint", 8, "", "trailing spaces"),
}


def repo_with(tmp_path: Path, fixture: str) -> Path:
    """A repository holding the registry, the lint config and one rendered file: the fixture."""
    (tmp_path / "registry").mkdir()
    shutil.copy(ROOT / "registry" / "platform.yaml", tmp_path / "registry" / "platform.yaml")
    shutil.copy(ROOT / ".yamllint.yaml", tmp_path / ".yamllint.yaml")
    (tmp_path / "rendered" / "acme").mkdir(parents=True)
    shutil.copy(FIXTURES / fixture, tmp_path / "rendered" / "acme" / fixture)
    return tmp_path


@pytest.mark.parametrize("fixture", sorted(CASES))
def test_each_broken_fixture_is_caught_by_its_validator_only(tmp_path: Path, fixture: str) -> None:
    validator, line, pointer, words = CASES[fixture]
    outcomes = deep.run(repo_with(tmp_path, fixture), crds=crds_dir())
    failing = [o for o in outcomes if o.failed]
    assert [o.name.split(" ")[0] for o in failing] == [validator.split(" ")[0]], [o.line() for o in failing]
    problems = failing[0].failures
    assert any(p.file == f"rendered/acme/{fixture}" and p.line == line and p.pointer == pointer and words in p.message
               for p in problems), "\n".join(p.format() for p in problems)


def test_the_celery_route_is_refused_by_celery_itself_and_by_the_prefix_rule(tmp_path: Path) -> None:
    outcomes = deep.run(repo_with(tmp_path, "celery-foreign-route.yaml"), crds=crds_dir())
    messages = [p.message for o in outcomes for p in o.failures]
    assert any(m.startswith("Celery's router refuses 'engine.tasks.ingest.probe'") for m in messages), messages
    assert any("a queue outside acme's (prefix 'acme.')" in m for m in messages), messages


def test_every_fixture_is_otherwise_a_valid_object(tmp_path: Path) -> None:
    """Each fixture breaks exactly one thing: the examples it was cut from pass."""
    outcomes = deep.run(ROOT, crds=crds_dir())
    assert not [o.line() for o in outcomes if o.failed]
