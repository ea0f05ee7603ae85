"""The admission policies (render/admission/policies.py), evaluated by a real CEL engine (cel-python,
with the Kubernetes library functions of render/conformance/cel.py) the way the API server
evaluates them: allowed and denied requests for every rule."""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

import pytest
import yaml

from render.admission import params, policies, secret_policy
from render.load import load_repo, read_yaml
from tests.admission_sim import Cluster, Request, admit, admit_bound
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


TENANTS = ("acme", "globex", "initech", "umbrella")
BINDINGS = {b["metadata"]["name"]: b for b in policies.objects(SETTINGS) if b["kind"] == "ValidatingAdmissionPolicyBinding"}
IMAGES_BINDING = BINDINGS["dataplane-tenant-images"]
GUARD = POLICIES["dataplane-params-guard"]
RELEASE = f"{ENGINE}:2026.11.3@sha256:a66ae721e056cec20cdea6607e05cbb6ec6f44d002a6b7c8063fce4dcc73ed2c"
OLD_RELEASE = f"{ENGINE}:2026.10.2@sha256:d848818de00f3064a64b006756a67d6cf9af7301106f7cde4eab6bb9fdaeb01b"
GLOBEX_SHA, GLOBEX_DIGEST = "b" * 40, "sha256:" + "b" * 64  # a fork build globex recorded (public in Git)
GLOBEX_FORK = f"{ENGINE}-tenant-globex:tenant-globex-{GLOBEX_SHA}@{GLOBEX_DIGEST}"


def rendered_pod_images(tenant: str) -> set[str]:
    text = "\n".join(p.read_text() for p in (ROOT / "rendered" / tenant).rglob("*.yaml"))
    return {line.split("image: ", 1)[1].strip() for line in text.splitlines() if "image: " in line}


def cluster() -> Cluster:
    """The example tenants' namespaces and parameter objects as rendered, plus a fork build of
    globex's recorded in its release.yaml (what fork-deploy writes)."""
    out = Cluster(namespaces={"kube-system": {}})
    for name in TENANTS:
        ns = yaml.safe_load((ROOT / f"rendered/{name}/namespace-tenant-{name}.yaml").read_text())
        out.namespaces[f"tenant-{name}"] = ns["metadata"]["labels"]
        cm = yaml.safe_load((ROOT / f"rendered/{name}/configmap-dataplane-admission.yaml").read_text())
        out.configmaps[(f"tenant-{name}", cm["metadata"]["name"])] = cm
    repo = load_repo(ROOT, ["globex"])
    files = repo.tenants["globex"]
    forked = {**files.release.data, "fork_builds": [{"sha": GLOBEX_SHA, "digest": GLOBEX_DIGEST}]}
    files = replace(files, release=replace(files.release, data=forked))
    out.configmaps[("tenant-globex", params.NAME)] = params.configmap(files, repo.inputs_for("globex"))
    return out


CLUSTER = cluster()


def run(image: str, namespace: str = "tenant-acme", **kw: Any) -> tuple[bool, str]:
    return admit_bound(IMAGES, IMAGES_BINDING, Request("CREATE", "pods", namespace=namespace, object=pod(image), **kw),
                       CLUSTER)


# --- (a) images -----------------------------------------------------------------------
@pytest.mark.parametrize("tenant, image", sorted((t, i) for t in TENANTS for i in rendered_pod_images(t)))
def test_every_image_we_render_is_admitted_in_its_own_namespace(tenant: str, image: str) -> None:
    assert run(image, f"tenant-{tenant}") == (True, "allowed")


@pytest.mark.parametrize("image", [RELEASE, OLD_RELEASE, PLATFORM["images"]["redis"],
                                   RELEASE.replace(":2026.11.3@", "@")])  # by digest alone
def test_recorded_digests_are_admitted(image: str) -> None:
    assert run(image) == (True, "allowed")


def test_a_tenant_runs_its_own_recorded_fork_build_only_in_its_own_namespace() -> None:
    assert run(GLOBEX_FORK, "tenant-globex") == (True, "allowed")
    assert not run(GLOBEX_FORK, "tenant-acme")[0]


@pytest.mark.parametrize("image, why", [
    (f"{ENGINE}:2026.11.3@{GLOBEX_DIGEST}", "a foreign tenant's fork digest behind an allowed release tag"),
    (f"{ENGINE}:tenant-acme-{'a' * 40}@{GLOBEX_DIGEST}", "the same digest behind acme's own fork tag"),
    (f"{ENGINE}-tenant-acme:tenant-acme-0123abc@sha256:{'c' * 64}", "acme's own package, a digest never recorded"),
    (f"{ENGINE}:tenant-acme-0123abc@sha256:{'d' * 64}", "a fork tag with any digest"),
    (f"{ENGINE}:2026.11.3@sha256:{'a' * 64}", "a release tag with any digest"),
    (f"{ENGINE}:2026.11.3", "a release by tag alone"),
    (f"{ENGINE}:latest", "not pinned at all"),
    (RELEASE.replace(ENGINE, "evil.example/engine"), "a recorded digest from another registry"),
    (RELEASE.replace(ENGINE, ENGINE + "-evil"), "a recorded digest from a look-alike repository"),
    (RELEASE.replace(ENGINE, ENGINE + "/x"), "a recorded digest from a repository beneath the engine's"),
    (PLATFORM["images"]["redis"].replace("redis:", "redis-x:"), "a component's digest from a look-alike repository"),
    ("docker.io/library/redis:7.4.5-alpine", "a platform component without digest"),
    (RELEASE + "x", "trailing characters after the digest"),
])
def test_unrecorded_images_are_denied_whatever_the_tag(image: str, why: str) -> None:
    allowed, message = run(image)
    assert not allowed, why
    assert image in message and params.NAME in message


def test_a_foreign_tenants_fork_digest_is_denied_behind_every_tag() -> None:
    """The digest is recorded in globex's release.yaml, which anyone can read: only tenant-globex admits it,
    and only from globex's own package."""
    for tag in ("2026.11.3", f"tenant-acme-{GLOBEX_SHA}", f"tenant-globex-{GLOBEX_SHA}"):
        for repo in (ENGINE, f"{ENGINE}-tenant-acme", f"{ENGINE}-tenant-globex"):
            assert not run(f"{repo}:{tag}@{GLOBEX_DIGEST}", "tenant-acme")[0], (repo, tag)
    assert not run(f"{ENGINE}:2026.11.3@{GLOBEX_DIGEST}", "tenant-globex")[0]  # not from the release package


def test_init_and_ephemeral_containers_are_checked_and_every_refused_image_is_named() -> None:
    req = Request("CREATE", "pods", object=pod(RELEASE, init=("a:1", "b:2")))
    allowed, message = admit_bound(IMAGES, IMAGES_BINDING, req, CLUSTER)
    assert not allowed and "a:1, b:2" in message  # join(), the Kubernetes strings library
    obj = pod(RELEASE)
    obj["spec"]["ephemeralContainers"] = [{"name": "debug", "image": "busybox"}]
    req = Request("UPDATE", "pods/ephemeralcontainers", object=obj, old=pod(RELEASE))
    assert not admit_bound(IMAGES, IMAGES_BINDING, req, CLUSTER)[0]


def test_the_image_rule_applies_to_controllers_and_only_in_tenant_namespaces() -> None:
    assert not run("evil:1", username=RS_CONTROLLER)[0]
    assert run("evil:1", "kube-system") == (True, "binding not selected")


def test_a_tenant_namespace_without_its_parameter_object_admits_nothing() -> None:
    bare = Cluster(namespaces=CLUSTER.namespaces)
    req = Request("CREATE", "pods", object=pod(RELEASE))
    assert admit_bound(IMAGES, IMAGES_BINDING, req, bare) == (False, "no params found")
    assert IMAGES_BINDING["spec"]["paramRef"] == {"name": params.NAME, "parameterNotFoundAction": "Deny"}


def test_the_ray_heads_account_cannot_swap_a_pods_image() -> None:
    """It may patch pods (the autoscaler's Role): a foreign digest is refused by the images policy, any other
    image change by the scale policy; a label patch stays possible."""
    old = pod(RELEASE)
    for image in (f"{ENGINE}:2026.11.3@{GLOBEX_DIGEST}", GLOBEX_FORK):
        req = Request("UPDATE", "pods", username=HEAD_SA, object=pod(image), old=old)
        assert not admit_bound(IMAGES, IMAGES_BINDING, req, CLUSTER)[0]
    swap = Request("UPDATE", "pods", username=HEAD_SA, object=pod(OLD_RELEASE), old=old)
    assert admit_bound(IMAGES, IMAGES_BINDING, swap, CLUSTER)[0]  # a recorded digest...
    allowed, message = admit(SCALE, swap)
    assert not allowed and "change through Git only" in message  # ...still not swapped in by hand
    relabel = Request("UPDATE", "pods", username=HEAD_SA, object=pod(RELEASE, labels={"x": "y"}), old=old)
    assert admit(SCALE, relabel) == (True, "allowed")
    assert admit(SCALE, Request("UPDATE", "pods", username=KUBERAY, object=pod(OLD_RELEASE), old=old))[0]


# --- the parameter object -------------------------------------------------------------
def configmap_request(op: str, user: str, name: str = params.NAME) -> Request:
    cm = {"metadata": {"name": name}, "data": {"sha256." + "e" * 64: "evil.example/x"}}
    return Request(op, "configmaps", username=user, name=name, object=None if op == "DELETE" else cm,
                   old=None if op == "CREATE" else cm)


@pytest.mark.parametrize("user", ["alice@example.com", HEAD_SA, KUBERAY, "system:serviceaccount:tenant-acme:celery"])
@pytest.mark.parametrize("op", ["CREATE", "UPDATE", "DELETE"])
def test_no_tenant_identity_edits_the_parameter_object(user: str, op: str) -> None:
    allowed, message = admit(GUARD, configmap_request(op, user))
    assert not allowed and "written by the platform deploy only" in message


def test_the_deploy_writes_it_and_the_namespace_controller_deletes_it() -> None:
    assert admit(GUARD, configmap_request("UPDATE", ARGOCD)) == (True, "allowed")
    assert admit(GUARD, configmap_request("DELETE", SETTINGS["builtin"] + "namespace-controller")) == (True, "allowed")
    assert admit(GUARD, configmap_request("UPDATE", "alice@example.com", "celery-config")) == (
        True, "condition params-object false")


def test_no_tenant_role_may_write_configmaps() -> None:
    """RBAC agrees with the guard: no Role of a tenant namespace grants a write on ConfigMaps."""
    writes = {"create", "update", "patch", "delete", "deletecollection", "*"}
    roles = [yaml.safe_load(p.read_text()) for p in (ROOT / "rendered").glob("*/role-*.yaml")]
    roles = [r for r in roles if r["apiVersion"].startswith("rbac.authorization.k8s.io/")]
    assert len(roles) == 2 * len(TENANTS)  # the operator's and the Ray autoscaler's
    for role in roles:
        path = role["metadata"]["namespace"] + "/" + role["metadata"]["name"]
        for rule in role["rules"]:
            if {"configmaps", "*"} & set(rule["resources"]):
                assert not writes & set(rule["verbs"]), (path, rule)


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
    # The images binding selects tenant namespaces by this label: removing it would unbind the policy.
    ("namespaces", "", labelled({"dataplane.io/tenant": "acme"}), labelled({})),
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
    secrets = {p["metadata"]["name"]: p for p in secret_policy.policy_objects(PLATFORM)  # tests/conformance/test_admission_secrets.py
               if p["kind"] == "ValidatingAdmissionPolicy"}
    assert policies == {**POLICIES, **secrets}
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


def test_a_namespace_admits_the_releases_up_to_the_one_its_tenant_runs() -> None:
    """initech runs 2026.10.2: a newer release gets in only with the move to it (the same sync, the parameter
    object first), so recording a release changes no held tenant's output."""
    assert run(OLD_RELEASE, "tenant-initech") == (True, "allowed")
    assert not run(RELEASE, "tenant-initech")[0]
    assert run(f"{ENGINE}:2026.9.1@sha256:19cd4c238715793264fc9fcbd847e942009460623ed27dad5ca467fe59905753",
               "tenant-initech") == (True, "allowed")


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
