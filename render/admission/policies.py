"""ValidatingAdmissionPolicies (admissionregistration.k8s.io/v1) and their bindings: what the
API server itself refuses in every tenant namespace, whoever sends it (argocd/admission/).

A fleet builder: a function of registry/platform.yaml only. Four policies here (docs/security.md),
and render/admission/secret_policy.py's, which keeps each tenant's secret objects to its own store:
- images: a pod runs only the digests its namespace's ConfigMap dataplane-admission lists
  (render/admission/params.py: platform releases, the tenant's own recorded fork
  builds, the platform's component images), read through the binding's paramRef;
- params guard: that ConfigMap is written by the deploy identity only;
- operator scale only: outside the platform's identities, a RayCluster/RayService may change
  only its worker groups' replicas/minReplicas/maxReplicas, no pod is created by hand and no
  pod's images change (the Ray head's ServiceAccount may patch pods);
- trusted labels: labels other policies select on are set only by the deploy identity.
Every expression is evaluated by a real CEL engine in tests/conformance/test_admission.py.
"""

from __future__ import annotations

import json
from typing import Any

from render import emit, layout, security
from render.admission import params, secret_policy
from render.load import Document, Repo
from render.problems import Problem, ProblemsError

API = "admissionregistration.k8s.io/v1"
PREFIX = "dataplane-"
TENANT_NAMESPACE = "request.namespace.startsWith('tenant-')"
# Fields of a worker group an operator may change (the spec's "scale worker groups"); the
# Ray autoscaler (the head's ServiceAccount) also names the workers to delete.
SCALE_FIELDS = ("replicas", "minReplicas", "maxReplicas")
AUTOSCALER_FIELDS = ("scaleStrategy",)
# Labels other policies and selectors trust: NetworkPolicies (component, e.g. "migration"
# opens the shared MongoDB), Pod Security (namespace), this file's bindings (tenant).
TRUSTED_LABELS = (layout.LABEL_COMPONENT, layout.LABEL_TENANT, layout.LABEL_ORGANIZATION, "dataplane.io/exporter",
                  layout.LABEL_WORKER_GROUP)
TRUSTED_LABEL_PREFIXES = (security.POD_SECURITY_LABEL_PREFIX,)
POD_TEMPLATE_KINDS = ("deployments", "statefulsets", "daemonsets", "replicasets", "jobs", "cronjobs")


def cel(value: Any) -> str:
    """A CEL literal (strings, lists of strings): JSON's syntax is CEL's for these."""
    return json.dumps(value)


def settings(platform: Document) -> dict[str, Any]:
    data = platform.data if isinstance(platform.data, dict) else {}
    adm = data.get("admission")
    if not isinstance(adm, dict):
        raise ProblemsError([Problem(platform.file, 1, 1, "admission", "missing: needed by the admission policies",
                                     f"add the admission section to {layout.PLATFORM_FILE} (see docs/security.md)")])
    return {"deploy": adm["deploy_identity"],
            "controllers": controller_identities(platform), "builtin": adm["builtin_controller_prefix"]}


def controller_identities(platform: Document) -> list[str]:
    """The usernames of `admission.controllers`: each runs in its network peer's namespace
    (`network.peers.<peer>.namespace`, the one place that namespace is written)."""
    data = platform.data if isinstance(platform.data, dict) else {}
    peers = (data.get("network") or {}).get("peers") or {}
    out, problems = [], []
    for i, c in enumerate(data["admission"]["controllers"]):
        peer = peers.get(c["peer"])
        if not isinstance(peer, dict):
            problems.append(platform.problem(("admission", "controllers", i, "peer"),
                                             f"{c['peer']!r} is not a key of network.peers",
                                             f"one of: {', '.join(sorted(peers))}", at_value=True))
            continue
        out.append(f"system:serviceaccount:{peer['namespace']}:{c['service_account']}")
    if problems:
        raise ProblemsError(problems)
    return out


def _meta(name: str) -> dict[str, Any]:
    return {"name": PREFIX + name, "labels": {layout.LABEL_PART_OF: layout.PART_OF, layout.LABEL_MANAGED_BY: layout.MANAGED_BY,
                                              layout.LABEL_COMPONENT: "admission"}}


def _rules(groups: list[str], resources: list[str], operations: list[str]) -> dict[str, Any]:
    return {"apiGroups": groups, "apiVersions": ["*"], "operations": operations, "resources": resources}


def _policy(name: str, rules: list[dict[str, Any]], conditions: list[dict[str, str]], variables: list[dict[str, str]],
            validations: list[dict[str, str]]) -> dict[str, Any]:
    return {"apiVersion": API, "kind": "ValidatingAdmissionPolicy", "metadata": _meta(name),
            "spec": {"failurePolicy": "Fail", "matchConstraints": {"resourceRules": rules},
                     "matchConditions": conditions, "variables": variables, "validations": validations}}


def _binding(name: str) -> dict[str, Any]:
    return {"apiVersion": API, "kind": "ValidatingAdmissionPolicyBinding", "metadata": _meta(name),
            "spec": {"policyName": PREFIX + name, "validationActions": ["Deny", "Audit"]}}


def _params_binding(name: str) -> dict[str, Any]:
    """A binding reading its parameters from the request's own namespace (paramRef without a
    namespace), denying when they are missing. Only tenant namespaces (labelled by the deploy
    identity alone, see labels_policy) have them, so only those are selected."""
    binding = _binding(name)
    binding["spec"]["paramRef"] = {"name": params.NAME, "parameterNotFoundAction": "Deny"}
    binding["spec"]["matchResources"] = {"namespaceSelector": {"matchExpressions": [
        {"key": layout.LABEL_TENANT, "operator": "Exists"}]}}
    return binding


def _not_platform(s: dict[str, Any]) -> str:
    """CEL: the requester is none of the platform's identities (deploy, controllers)."""
    trusted = [s["deploy"], *s["controllers"]]
    return f"!(request.userInfo.username in {cel(trusted)}) && !request.userInfo.username.startsWith({cel(s['builtin'])})"


def _field(root: str, path: str) -> str:
    """CEL: the map at root.path, or {} when any step is absent (has() at every step)."""
    steps = path.split(".")
    checks = " && ".join(f"has({root}.{'.'.join(steps[:i + 1])})" for i in range(len(steps)))
    return f"({checks} ? {root}.{path} : {{}})"


# A container image as the images policy admits it: pinned by digest, the digest's hex at its end.
PINNED = "^[^@]+@sha256:[0-9a-f]{64}$"
# What may follow an admitted repository: an optional tag, then the digest.
AFTER_REPOSITORY = "^(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?@sha256:[0-9a-f]{64}$"


def _admitted(image: str) -> str:
    """CEL: `image` is pinned by a digest the namespace's parameter object lists, and names
    one of the repositories listed for that digest (render/admission/params.py)."""
    entry = f"variables.allowed[{cel(params.KEY_PREFIX)} + {image}.substring(size({image}) - 64)]"
    return (f"{image}.matches({cel(PINNED)})"
            f" && ({cel(params.KEY_PREFIX)} + {image}.substring(size({image}) - 64)) in variables.allowed"
            f" && {entry}.split(' ').exists(r, r != '' && {image}.startsWith(r)"
            f" && {image}.substring(size(r)).matches({cel(AFTER_REPOSITORY)}))")


def images_policy(s: dict[str, Any]) -> dict[str, Any]:
    """Exactly the digests the namespace's ConfigMap dataplane-admission lists (its
    binding's paramRef): platform releases, the tenant's own recorded fork builds and the
    platform's component images. A tag decides nothing."""
    variables = [
        {"name": "containers", "expression": "object.spec.containers"
         " + (has(object.spec.initContainers) ? object.spec.initContainers : [])"
         " + (has(object.spec.ephemeralContainers) ? object.spec.ephemeralContainers : [])"},
        {"name": "allowed", "expression": "has(params.data) ? params.data : {}"},
        {"name": "refused", "expression": f"variables.containers.filter(c, !({_admitted('c.image')})).map(c, c.image)"},
    ]
    validations = [{
        "expression": "size(variables.refused) == 0",
        "messageExpression": "'image(s) ' + variables.refused.join(', ') + ' refused in ' + request.namespace + "
                             f"': a tenant runs only the digests its ConfigMap {params.NAME} lists (platform "
                             "releases, its own recorded fork builds, the platform components), whatever the tag'",
        "reason": "Forbidden",
    }]
    rules = [_rules([""], ["pods", "pods/ephemeralcontainers"], ["CREATE", "UPDATE"])]
    policy = _policy("tenant-images", rules, [{"name": "tenant-namespace", "expression": TENANT_NAMESPACE}],
                     variables, validations)
    policy["spec"] = {"paramKind": {"apiVersion": "v1", "kind": "ConfigMap"}, **policy["spec"]}
    return policy


def params_guard_policy(s: dict[str, Any]) -> dict[str, Any]:
    """The images policy's parameter object is written by the deploy identity only (and
    deleted with its namespace by the built-in controllers): no tenant identity edits what
    its namespace may run, whatever RBAC says."""
    rules = [_rules([""], ["configmaps"], ["CREATE", "UPDATE", "DELETE"])]
    conditions = [{"name": "tenant-namespace", "expression": TENANT_NAMESPACE},
                  {"name": "params-object", "expression": f"request.name == {cel(params.NAME)}"}]
    validations = [{
        "expression": f"request.userInfo.username == {cel(s['deploy'])}"
                      f" || request.userInfo.username.startsWith({cel(s['builtin'])})",
        "messageExpression": f"'ConfigMap {params.NAME} in ' + request.namespace + ' is written by the platform "
                             "deploy only (' + request.userInfo.username + ' may not); it changes with the tenant release in Git'",
        "reason": "Forbidden"}]
    return _policy("params-guard", rules, conditions, [], validations)


def _unchanged_except(new: str, old: str, allowed: str) -> str:
    """CEL: maps `new` and `old` hold the same keys and values, except the keys in `allowed`."""
    return (f"{new}.all(k, k in {allowed} || (k in {old} && {new}[k] == {old}[k]))"
            f" && {old}.all(k, k in {allowed} || k in {new})")


def scale_policy(s: dict[str, Any]) -> dict[str, Any]:
    head_sa = "'system:serviceaccount:' + request.namespace + ':ray-head'"
    variables = [
        {"name": "isService", "expression": "request.resource.resource == 'rayservices'"},
        {"name": "cluster", "expression": "variables.isService ? object.spec.rayClusterConfig : object.spec"},
        {"name": "oldCluster", "expression": "variables.isService ? oldObject.spec.rayClusterConfig : oldObject.spec"},
        {"name": "groups", "expression": "has(variables.cluster.workerGroupSpecs) ? variables.cluster.workerGroupSpecs : []"},
        {"name": "oldGroups", "expression": "has(variables.oldCluster.workerGroupSpecs) ? variables.oldCluster.workerGroupSpecs : []"},
        {"name": "scaleFields", "expression": f"{cel(list(SCALE_FIELDS))} + (request.userInfo.username == {head_sa}"
                                              f" ? {cel(list(AUTOSCALER_FIELDS))} : [])"},
    ]
    same_group = ("variables.oldGroups.exists(o, o.groupName == g.groupName && "
                  + _unchanged_except("g", "o", "variables.scaleFields") + ")")
    scale_message = ("'only worker-group replicas, minReplicas and maxReplicas may change here (' + "
                     "request.userInfo.username + '); any other change goes through Git'")
    pod_images = "(has({0}.spec.initContainers) ? {0}.spec.initContainers : []).map(c, c.image)" \
                 " + {0}.spec.containers.map(c, c.image)"
    validations = [
        {"expression": "request.resource.resource != 'pods' || request.operation != 'CREATE'", "reason": "Forbidden",
         "messageExpression": "'pods in ' + request.namespace + ' are created by their controllers only; "
                              "delete a pod to restart it'"},
        # The Ray head's ServiceAccount may patch pods (the autoscaler): never their images.
        {"expression": "request.resource.resource != 'pods' || request.operation != 'UPDATE' || "
                       + pod_images.format("object") + " == " + pod_images.format("oldObject"),
         "messageExpression": "'the images of a pod in ' + request.namespace + ' change through Git only ('"
                              " + request.userInfo.username + ' may not)'", "reason": "Forbidden"},
        {"expression": "request.resource.resource == 'pods' || (!variables.isService || "
                       + _unchanged_except("object.spec", "oldObject.spec", "['rayClusterConfig']") + ")",
         "messageExpression": scale_message, "reason": "Forbidden"},
        {"expression": "request.resource.resource == 'pods' || ("
                       + _unchanged_except("variables.cluster", "variables.oldCluster", "['workerGroupSpecs']")
                       + " && size(variables.groups) == size(variables.oldGroups) && variables.groups.all(g, "
                       + same_group + "))",
         "messageExpression": scale_message, "reason": "Forbidden"},
        {"expression": "request.resource.resource == 'pods' || (" + _field("object", "metadata.labels") + " == "
                       + _field("oldObject", "metadata.labels") + " && " + _field("object", "metadata.annotations")
                       + " == " + _field("oldObject", "metadata.annotations") + ")",
         "messageExpression": scale_message, "reason": "Forbidden"},
    ]
    rules = [_rules(["ray.io"], ["rayclusters", "rayservices"], ["UPDATE"]), _rules([""], ["pods"], ["CREATE", "UPDATE"])]
    conditions = [{"name": "tenant-namespace", "expression": TENANT_NAMESPACE},
                  {"name": "not-platform", "expression": _not_platform(s)}]
    return _policy("operator-scale-only", rules, conditions, variables, validations)


def labels_policy(s: dict[str, Any]) -> dict[str, Any]:
    trusted = f"(k in {cel(list(TRUSTED_LABELS))} || " + " || ".join(f"k.startsWith({cel(p)})" for p in TRUSTED_LABEL_PREFIXES) + ")"

    def kept(new: str, old: str) -> str:
        return (f"{new}.filter(k, {trusted}).all(k, k in {old} && {old}[k] == {new}[k])"
                f" && {old}.filter(k, {trusted}).all(k, k in {new})")

    variables = [
        {"name": "labels", "expression": _field("object", "metadata.labels")},
        {"name": "oldLabels", "expression": "oldObject == null ? {} : " + _field("oldObject", "metadata.labels")},
        {"name": "podLabels", "expression": _field("object", "spec.template.metadata.labels")},
        {"name": "oldPodLabels", "expression": "oldObject == null ? {} : " + _field("oldObject", "spec.template.metadata.labels")},
    ]
    message = ("'labels ' + " + cel(", ".join(TRUSTED_LABELS + tuple(p + "*" for p in TRUSTED_LABEL_PREFIXES)))
               + " + ' are set by the platform deploy only (' + request.userInfo.username + ' may not); change them in Git'")
    validations = [{"expression": kept("variables.labels", "variables.oldLabels") + " && "
                    + kept("variables.podLabels", "variables.oldPodLabels"), "messageExpression": message,
                    "reason": "Forbidden"}]
    namespaced = TENANT_NAMESPACE + " || (request.resource.resource == 'namespaces' && request.name.startsWith('tenant-'))"
    rules = [_rules([""], ["namespaces", "pods", "services"], ["CREATE", "UPDATE"]),
             _rules(["apps", "batch"], list(POD_TEMPLATE_KINDS), ["CREATE", "UPDATE"]),
             _rules(["ray.io"], ["rayclusters", "rayservices"], ["CREATE", "UPDATE"])]
    conditions = [{"name": "tenant-namespace", "expression": namespaced},
                  # Controllers copy labels from objects the deploy identity wrote.
                  {"name": "not-platform", "expression": _not_platform(s)}]
    return _policy("trusted-labels", rules, conditions, variables, validations)


def objects(s: dict[str, Any]) -> list[dict[str, Any]]:
    policies = [images_policy(s), params_guard_policy(s), scale_policy(s), labels_policy(s)]
    bindings = [(_params_binding if "paramKind" in p["spec"] else _binding)(p["metadata"]["name"][len(PREFIX):])
                for p in policies]
    return policies + bindings


def build(repo: Repo) -> emit.Outputs:
    """Fleet builder: argocd/admission/ (a function of registry/platform.yaml only): these
    policies and the one that keeps each tenant's secret objects to its own store and path."""
    out = objects(settings(repo.current.platform)) + secret_policy.policy_objects(repo.current.platform.data)
    scope = layout.ADMISSION_DIR
    return {scope: {f"{scope}/{layout.object_file(o['kind'], o['metadata']['name'])}": emit.dump(o) for o in out}}
