"""The admission policies (render/admission/policies.py), evaluated by a real CEL engine (cel-python,
with the Kubernetes library functions of render/conformance/cel.py) the way the API server
evaluates them: allowed and denied requests for every rule."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from render.admission import policies, secret_policy
from render.load import read_yaml
from tests.admission_sim import Request, admit
from tests.support import ROOT

SETTINGS = policies.settings(read_yaml(ROOT, "registry/platform.yaml"))
POLICIES = {p["metadata"]["name"]: p for p in policies.objects(SETTINGS) if p["kind"] == "ValidatingAdmissionPolicy"}
IMAGES, SCALE, LABELS = (POLICIES[f"dataplane-{n}"] for n in ("tenant-images", "operator-scale-only", "trusted-labels"))
PLATFORM = yaml.safe_load((ROOT / "registry/platform.yaml").read_text())
ENGINE = PLATFORM["engine"]["repository"]
ARGOCD = SETTINGS["deploy"]
KUBERAY = SETTINGS["controllers"][0]
RS_CONTROLLER = SETTINGS["builtin"] + "replicaset-controller"
HEAD_SA = "system:serviceaccount:tenant-acme:ray-head"


def pod(*images: str, init: tuple[str, ...] = (), labels: dict[str, str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": f"c{i}", "image": im} for i, im in enumerate(images)]}
    if init:
        spec["initContainers"] = [{"name": f"i{i}", "image": im} for i, im in enumerate(init)]
    return {"metadata": {"name": "p", "labels": labels or {}}, "spec": spec}


def rendered_pod_images() -> set[str]:
    text = "\n".join(p.read_text() for p in (ROOT / "rendered").rglob("*.yaml"))
    return {line.split("image: ", 1)[1].strip() for line in text.splitlines() if "image: " in line}


# --- (a) images -----------------------------------------------------------------------
@pytest.mark.parametrize("image", sorted(rendered_pod_images()))
def test_every_image_we_render_is_admitted(image: str) -> None:
    ns = "tenant-" + next(n for n in ("acme", "globex", "initech", "umbrella")
                          if f"tenant-{n}-" in image or "tenant-" not in image.rsplit(":", 1)[-1])
    assert admit(IMAGES, Request("CREATE", "pods", namespace=ns, object=pod(image))) == (True, "allowed")


@pytest.mark.parametrize("image", [
    f"{ENGINE}:2026.11.3", f"{ENGINE}:2026.9.1@sha256:{'a' * 64}", f"{ENGINE}:tenant-acme-0123abc",
    f"{ENGINE}:tenant-acme-{'f' * 40}", PLATFORM["images"]["redis"],
    "docker.io/library/redis:7.2.0@sha256:" + "b" * 64,  # an older platform release of the same component
])
def test_allowed_images(image: str) -> None:
    assert admit(IMAGES, Request("CREATE", "pods", object=pod(image)))[0]


@pytest.mark.parametrize("image, why", [
    (f"{ENGINE}:tenant-globex-0123abc", "another tenant's fork build"),
    (f"{ENGINE}:tenant-acme-evil-0123abc", "a fork tag of a tenant named acme-evil"),
    (f"{ENGINE}:latest", "not a release"),
    (f"{ENGINE}-evil:2026.11.3", "another repository with the engine's prefix"),
    ("docker.io/library/redis:7.4.5-alpine", "a platform component without digest"),
    ("docker.io/library/redisx@sha256:" + "a" * 64, "a look-alike repository"),
    ("evil.example/redis@sha256:" + "a" * 64, "another registry"),
    ("ghcr.io/dataplane-platform/engineXtenant-acme-0123abc:2026.11.3", "regex dot taken literally"),
])
def test_denied_images(image: str, why: str) -> None:
    allowed, message = admit(IMAGES, Request("CREATE", "pods", object=pod(image)))
    assert not allowed, why
    assert image in message and "tenant-acme-<sha>" in message


def test_init_and_ephemeral_containers_are_checked_and_every_refused_image_is_named() -> None:
    allowed, message = admit(IMAGES, Request("CREATE", "pods", object=pod(f"{ENGINE}:2026.11.3", init=("a:1", "b:2"))))
    assert not allowed and "a:1, b:2" in message  # join(), the Kubernetes strings library
    obj = pod(f"{ENGINE}:2026.11.3")
    obj["spec"]["ephemeralContainers"] = [{"name": "debug", "image": "busybox"}]
    assert not admit(IMAGES, Request("UPDATE", "pods/ephemeralcontainers", object=obj, old=pod(f"{ENGINE}:2026.11.3")))[0]


def test_the_image_rule_applies_to_controllers_and_only_in_tenant_namespaces() -> None:
    assert not admit(IMAGES, Request("CREATE", "pods", username=RS_CONTROLLER, object=pod("evil:1")))[0]
    assert admit(IMAGES, Request("CREATE", "pods", namespace="kube-system", object=pod("evil:1")))[0]


# --- (b) operator may scale only ------------------------------------------------------
def raycluster() -> dict[str, Any]:
    group = {"groupName": "cpu-workers", "replicas": 1, "minReplicas": 1, "maxReplicas": 2, "rayStartParams": {},
             "template": {"spec": {"containers": [{"name": "ray-worker", "image": f"{ENGINE}:2026.11.3"}]}}}
    return {"metadata": {"name": "engine", "labels": {"app.kubernetes.io/component": "ray"}},
            "spec": {"rayVersion": "2.60.0", "headGroupSpec": {"template": {"spec": {}}},
                     "workerGroupSpecs": [group, {**copy.deepcopy(group), "groupName": "gpu-workers"}]}}


def rayservice() -> dict[str, Any]:
    rc = raycluster()
    return {"metadata": rc["metadata"], "spec": {"serveConfigV2": "applications: []", "rayClusterConfig": rc["spec"]}}


def change(obj: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    new = copy.deepcopy(obj)
    node = new
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return new


G = ("spec", "workerGroupSpecs", 0)
SG = ("spec", "rayClusterConfig", "workerGroupSpecs", 1)


def update(kind: str, old: dict[str, Any], new: dict[str, Any], user: str = "alice@example.com") -> tuple[bool, str]:
    return admit(SCALE, Request("UPDATE", kind, group="ray.io", object=new, old=old, username=user))


@pytest.mark.parametrize("field, value", [("replicas", 2), ("minReplicas", 0), ("maxReplicas", 5)])
def test_an_operator_may_scale_a_worker_group(field: str, value: int) -> None:
    assert update("rayclusters", raycluster(), change(raycluster(), G + (field,), value)) == (True, "allowed")
    assert update("rayservices", rayservice(), change(rayservice(), SG + (field,), value)) == (True, "allowed")


@pytest.mark.parametrize("path, value", [
    (G + ("template", "spec", "containers", 0, "image"), "evil:1"),
    (G + ("template", "spec", "nodeSelector"), {"pool": "other"}),
    (G + ("rayStartParams",), {"num-cpus": "64"}),
    (G + ("groupName",), "renamed"),
    (G + ("scaleStrategy",), {"workersToDelete": ["x"]}),
    (("spec", "headGroupSpec"), {"template": {"spec": {"volumes": [{"name": "v", "emptyDir": {}}]}}}),
    (("spec", "enableInTreeAutoscaling"), False),
    (("metadata", "annotations"), {"ray.io/overwrite-container-cmd": "true"}),
    (("metadata", "labels"), {}),
])
def test_an_operator_may_change_nothing_else_of_a_raycluster(path: tuple[Any, ...], value: Any) -> None:
    allowed, message = update("rayclusters", raycluster(), change(raycluster(), path, value))
    assert not allowed and "only worker-group replicas" in message


def test_an_operator_may_not_add_or_remove_a_worker_group() -> None:
    old = raycluster()
    fewer = change(old, ("spec", "workerGroupSpecs"), old["spec"]["workerGroupSpecs"][:1])
    assert not update("rayclusters", old, fewer)[0]
    assert not update("rayclusters", fewer, old)[0]


@pytest.mark.parametrize("path, value", [
    (("spec", "serveConfigV2"), "applications: [{import_path: evil:app}]"),
    (("spec", "upgradeStrategy"), {"type": "None"}),
    (SG + ("template", "spec", "containers", 0, "command"), ["sh"]),
])
def test_an_operator_may_change_nothing_else_of_a_rayservice(path: tuple[Any, ...], value: Any) -> None:
    assert not update("rayservices", rayservice(), change(rayservice(), path, value))[0]


def test_the_autoscaler_may_also_name_workers_to_delete_and_the_platform_anything() -> None:
    new = change(raycluster(), G + ("scaleStrategy",), {"workersToDelete": ["w-1"]})
    assert update("rayclusters", raycluster(), new, HEAD_SA)[0]
    assert not update("rayclusters", raycluster(), change(raycluster(), G + ("template",), {}), HEAD_SA)[0]
    assert not update("rayclusters", raycluster(), new, "system:serviceaccount:tenant-globex:ray-head")[0]
    anything = change(raycluster(), G + ("template",), {})
    for user in (ARGOCD, KUBERAY):
        assert update("rayclusters", raycluster(), anything, user) == (True, "condition not-platform false")


def test_pods_are_created_by_controllers_only_and_may_be_deleted() -> None:
    allowed, message = admit(SCALE, Request("CREATE", "pods", object=pod(f"{ENGINE}:2026.11.3")))
    assert not allowed and "delete a pod to restart it" in message
    for user in (RS_CONTROLLER, KUBERAY):
        assert admit(SCALE, Request("CREATE", "pods", username=user, object=pod("x")))[0]
    assert admit(SCALE, Request("DELETE", "pods", old=pod("x"))) == (True, "not matched")


# --- (c) trusted labels ---------------------------------------------------------------
def labelled(labels: dict[str, str], template: dict[str, str] | None = None) -> dict[str, Any]:
    obj: dict[str, Any] = {"metadata": {"name": "web", "labels": labels}, "spec": {}}
    if template is not None:
        obj["spec"]["template"] = {"metadata": {"labels": template}}
    return obj


@pytest.mark.parametrize("resource, group, old, new", [
    ("pods", "", None, labelled({"app.kubernetes.io/component": "migration"})),
    ("deployments", "apps", None, labelled({}, {"app.kubernetes.io/component": "migration"})),
    ("deployments", "apps", labelled({}, {"app": "x"}), labelled({}, {"app": "x", "dataplane.io/exporter": "redis"})),
    ("services", "", labelled({"dataplane.io/tenant": "acme"}), labelled({"dataplane.io/tenant": "globex"})),
    ("services", "", labelled({"dataplane.io/tenant": "acme"}), labelled({})),
    ("namespaces", "", labelled({"pod-security.kubernetes.io/enforce": "restricted"}),
     labelled({"pod-security.kubernetes.io/enforce": "privileged"})),
])
def test_trusted_labels_are_refused_to_anyone_but_the_deploy_identity(resource: str, group: str, old: Any, new: Any) -> None:
    ns = "" if resource == "namespaces" else "tenant-acme"
    req = Request("UPDATE" if old else "CREATE", resource, group=group, namespace=ns, name="tenant-acme", object=new, old=old)
    allowed, message = admit(LABELS, req)
    assert not allowed and "set by the platform deploy only" in message
    req.username = ARGOCD
    assert admit(LABELS, req)[0]


@pytest.mark.parametrize("old, new", [
    (None, labelled({"app": "debug"})),
    (labelled({"dataplane.io/tenant": "acme", "team": "a"}), labelled({"dataplane.io/tenant": "acme", "team": "b"})),
])
def test_other_labels_and_unchanged_trusted_ones_are_allowed(old: Any, new: Any) -> None:
    assert admit(LABELS, Request("UPDATE" if old else "CREATE", "services", object=new, old=old)) == (True, "allowed")


def test_controllers_copy_labels_from_admitted_templates() -> None:
    obj = labelled({"app.kubernetes.io/component": "migration"})
    assert admit(LABELS, Request("CREATE", "pods", username=SETTINGS["builtin"] + "job-controller", object=obj))[0]


# --- the rendered objects ---------------------------------------------------------------
def test_the_rendered_policies_are_these_and_each_is_bound_to_deny() -> None:
    folder = ROOT / "argocd/admission"
    objs = [yaml.safe_load(p.read_text()) for p in sorted(folder.glob("*.yaml"))]
    policies = {o["metadata"]["name"]: o for o in objs if o["kind"] == "ValidatingAdmissionPolicy"}
    secrets_policy = secret_policy.policy_objects(PLATFORM)[0]  # rendered beside these (tests/test_admission_secrets.py)
    assert policies == {**POLICIES, secrets_policy["metadata"]["name"]: secrets_policy}
    bindings = [o for o in objs if o["kind"] == "ValidatingAdmissionPolicyBinding"]
    assert sorted(b["spec"]["policyName"] for b in bindings) == sorted(policies)
    assert all("Deny" in b["spec"]["validationActions"] for b in bindings)


def test_every_expression_compiles() -> None:
    for policy in POLICIES.values():
        spec = policy["spec"]
        for item in spec["matchConditions"] + spec["variables"] + spec["validations"]:
            from render.conformance.cel import _program
            _program(item["expression"])


def test_a_platform_without_the_admission_section_is_a_problem_not_a_traceback() -> None:
    from render.problems import ProblemsError
    from render.yamlstrict import parse_yaml

    text = (ROOT / "registry/platform.yaml").read_text().split("\nadmission:")[0]
    with pytest.raises(ProblemsError) as e:
        policies.settings(parse_yaml(text, "registry/platform.yaml"))
    [problem] = e.value.problems
    assert problem.file == "registry/platform.yaml" and "admission" in problem.message


def test_the_kuberay_operator_namespace_is_written_once() -> None:
    """Admission trusts the KubeRay operator in the namespace its NetworkPolicy peer names:
    both read network.peers.kuberay_operator.namespace."""
    namespace = PLATFORM["network"]["peers"]["kuberay_operator"]["namespace"]
    assert f"system:serviceaccount:{namespace}:kuberay-operator" == KUBERAY
    policy = (ROOT / "rendered/acme/networkpolicy-allow-kuberay-operator.yaml").read_text()
    assert f"kubernetes.io/metadata.name: {namespace}" in policy


def test_a_controller_naming_an_unknown_peer_is_a_problem() -> None:
    from render.problems import ProblemsError
    from render.yamlstrict import Document

    data = copy.deepcopy(PLATFORM)
    data["admission"]["controllers"] = [{"peer": "kuberay", "service_account": "kuberay-operator"}]
    with pytest.raises(ProblemsError) as e:
        policies.controller_identities(Document("registry/platform.yaml", data))
    [problem] = e.value.problems
    assert problem.pointer == "admission.controllers[0].peer"
    assert "'kuberay' is not a key of network.peers" in problem.message and "kuberay_operator" in problem.hint
