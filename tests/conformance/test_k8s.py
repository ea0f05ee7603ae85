"""The cached strict validator agrees with kubernetes-validate's own `validate()`."""

from __future__ import annotations

import copy

import pytest

from render import layout
from render.conformance.k8s import KubernetesSchemas, supported_version
from render.conformance.manifests import Manifest, collect
from render.load import parse_yaml
from tests.support import ROOT, need

utils = need("kubernetes_validate.utils")


def builtin_objects() -> list[Manifest]:
    manifests, problems = collect(ROOT)
    assert not problems
    schemas = KubernetesSchemas("1.33")
    return [m for m in manifests if schemas.has(m)]


def kv_accepts(obj: dict) -> bool:
    try:
        utils.validate(obj, "1.33", strict=True)
        return True
    except utils.ValidationError:
        return False


def installed(partial: dict) -> dict:
    """A partial object (layout.is_partial) as server-side apply leaves it: merged onto the
    installation's object, here the fields upstream's install manifest requires (containers
    merged by name, as their list-map key says)."""
    name = partial["metadata"]["name"]
    labels = {"app.kubernetes.io/name": name}
    out = copy.deepcopy(partial)
    spec = out.setdefault("spec", {})
    spec.setdefault("selector", {"matchLabels": labels})
    template = spec.setdefault("template", {})
    template.setdefault("metadata", {}).setdefault("labels", labels)
    containers = template.setdefault("spec", {}).setdefault("containers", [{"name": name}])
    for c in containers:
        c.setdefault("image", "quay.io/argoproj/argocd:v3.5.0")
    return out


def test_same_verdict_as_kubernetes_validate_on_every_rendered_builtin_object() -> None:
    schemas = KubernetesSchemas("1.33")
    objects = builtin_objects()
    assert len(objects) > 20
    for m in objects:
        whole = installed(m.obj) if layout.is_partial(m.obj) else m.obj
        assert (schemas.check(m) == []) is kv_accepts(whole) is True, m.file
    assert any(layout.is_partial(m.obj) and not kv_accepts(m.obj) for m in objects), \
        "a partial object alone lacks required fields: that is why it is checked as a patch"


@pytest.mark.parametrize("path, value", [
    (("spec", "replicass"), 1),
    (("spec", "template", "spec", "containers", 0, "imagePullPolicyy"), "Always"),
    (("spec", "replicas"), "two"),
    (("metadata", "labelz"), {}),
])
def test_same_verdict_on_a_broken_deployment(path: tuple, value: object) -> None:
    rel = "rendered/acme/deployment-celery-worker.yaml"
    base = parse_yaml((ROOT / rel).read_text(), rel)
    obj = copy.deepcopy(base.data)
    target = obj
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    m = Manifest(type(base)(rel, obj, base.marks))
    problems = KubernetesSchemas("1.33").check(m)
    assert problems and not kv_accepts(obj)
    assert problems[0].pointer.endswith(str(path[-1]))


def test_the_target_version_must_be_packaged_or_older() -> None:
    assert supported_version("1.33") == "1.33.0"
    assert supported_version("v1.33.4") == "1.33.0"
    with pytest.raises(ValueError):
        supported_version("1.0")


def test_a_kind_missing_from_a_builtin_group_is_a_failure() -> None:
    m = Manifest(parse_yaml("apiVersion: apps/v1\nkind: Deploymnt\nmetadata: {name: x}\n", "x.yaml"))
    schemas = KubernetesSchemas("1.33")
    assert not schemas.has(m) and schemas.is_builtin(m)
    assert "has no Deploymnt in apps/v1" in schemas.check(m)[0].message
