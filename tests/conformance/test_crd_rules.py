"""`validate --deep` evaluates the upstream CRDs' x-kubernetes-validations CEL rules."""

from __future__ import annotations

import copy

import pytest
import yaml

from render.conformance import crd_rules
from render.conformance.crds import CrdSchemas
from render.conformance.manifests import Manifest
from render.yamlstrict import parse_yaml
from tests.support import ROOT, crds_dir, need

need("celpy")  # the CEL engine of the CRDs' rules

pytestmark = pytest.mark.crds


def schemas() -> CrdSchemas:
    return CrdSchemas.from_folder(crds_dir())


def manifest(obj: dict, file: str = "rendered/acme/rayservice-engine.yaml") -> Manifest:
    return Manifest(parse_yaml(yaml.safe_dump(obj, sort_keys=False), file))


def rayservice() -> dict:
    return yaml.safe_load((ROOT / "rendered/acme/rayservice-engine.yaml").read_text())


def test_a_rule_is_found_where_its_schema_node_has_a_value() -> None:
    crd = schemas().crd("ray.io", "RayService")
    obj = rayservice()
    assert list(crd_rules.rules_at(crd.schemas["v1"], obj)) == []  # nothing we render sets managedBy
    obj["spec"]["rayClusterConfig"]["managedBy"] = "ray.io/kuberay-operator"
    found = list(crd_rules.rules_at(crd.schemas["v1"], obj))
    assert found and all(path == ("spec", "rayClusterConfig", "managedBy") for path, _, _ in found)


@pytest.mark.parametrize("value, ok", [("ray.io/kuberay-operator", True), ("evil.example/controller", False)])
def test_the_rule_is_evaluated_by_cel(value: str, ok: bool) -> None:
    crds = schemas()
    obj = rayservice()
    obj["spec"]["rayClusterConfig"]["managedBy"] = value
    m = manifest(obj)
    problems = crds.check(m)
    assert (problems == []) is ok, problems
    if not ok:
        assert "managedBy field value must be either" in problems[0].message
        assert problems[0].pointer.endswith("spec.rayClusterConfig.managedBy")


def test_transition_rules_are_left_to_updates() -> None:
    crd = schemas().crd("ray.io", "RayService")
    obj = copy.deepcopy(rayservice())
    obj["spec"]["rayClusterConfig"]["managedBy"] = "ray.io/kuberay-operator"
    rules = [r["rule"] for _, _, r in crd_rules.rules_at(crd.schemas["v1"], obj)]
    assert any("oldSelf" in r for r in rules)  # `self == oldSelf` (immutable) is skipped on create
    assert crd_rules.check(manifest(obj), crd.schemas["v1"], crd.file) == []
