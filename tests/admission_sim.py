"""A ValidatingAdmissionPolicy evaluated the way the API server does (k8s.io/apiserver
validatingadmissionpolicy), with a real CEL engine (render.conformance.cel): resource
rules, then matchConditions, then variables (in order, each seeing the earlier ones), then
every validation; a validation that is false or errors denies (failurePolicy: Fail)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from tests.support import need

cel = need("render.conformance.cel")  # cel-python
CelError, evaluate = cel.CelError, cel.evaluate


@dataclass
class Request:
    operation: str
    resource: str  # plural, e.g. "pods"
    group: str = ""
    namespace: str = "tenant-acme"
    username: str = "alice@example.com"
    groups: list[str] = field(default_factory=lambda: ["acme-operators"])
    name: str = "x"
    object: dict[str, Any] | None = None
    old: dict[str, Any] | None = None

    def cel(self) -> dict[str, Any]:
        return {"operation": self.operation, "namespace": self.namespace, "name": self.name,
                "resource": {"group": self.group, "version": "v1", "resource": self.resource},
                "userInfo": {"username": self.username, "groups": self.groups}}


def matches(policy: dict[str, Any], req: Request) -> bool:
    for rule in policy["spec"]["matchConstraints"]["resourceRules"]:
        if req.group in rule["apiGroups"] and {req.resource, "*"} & set(rule["resources"]) and req.operation in rule["operations"]:
            return True
    return False


def admit(policy: dict[str, Any], req: Request, params: dict[str, Any] | None = None) -> tuple[bool, str]:
    """(allowed, message): the policy's verdict on one request (`params`: its parameter object)."""
    if not matches(policy, req):
        return True, "not matched"
    env: dict[str, Any] = {"request": req.cel(), "object": req.object, "oldObject": req.old, "params": params}
    for cond in policy["spec"].get("matchConditions", []):
        if evaluate(cond["expression"], env) is not True:
            return True, f"condition {cond['name']} false"
    variables: dict[str, Any] = {}
    for var in policy["spec"].get("variables", []):
        # Lazily evaluated by the API server: an error matters only where it is used.
        with contextlib.suppress(CelError):
            variables[var["name"]] = evaluate(var["expression"], {**env, "variables": variables})
    env["variables"] = variables
    for v in policy["spec"]["validations"]:
        try:
            ok = evaluate(v["expression"], env) is True
        except CelError as e:
            return False, f"error: {e}"
        if not ok:
            return False, evaluate(v["messageExpression"], env) if "messageExpression" in v else v.get("message", "")
    return True, "allowed"


@dataclass
class Cluster:
    """What a binding reads besides the request: namespaces' labels and ConfigMaps."""

    namespaces: dict[str, dict[str, str]] = field(default_factory=dict)  # name -> labels
    configmaps: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (namespace, name) -> object


def _selected(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A LabelSelector (matchLabels, matchExpressions with In/NotIn/Exists/DoesNotExist)."""
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    ops = {"In": lambda e: labels.get(e["key"]) in e["values"], "NotIn": lambda e: labels.get(e["key"]) not in e["values"],
           "Exists": lambda e: e["key"] in labels, "DoesNotExist": lambda e: e["key"] not in labels}
    return all(ops[e["operator"]](e) for e in selector.get("matchExpressions", []))


def admit_bound(policy: dict[str, Any], binding: dict[str, Any], req: Request, cluster: Cluster) -> tuple[bool, str]:
    """The verdict of `policy` through `binding` (k8s.io/apiserver validating dispatcher): the
    binding's namespaceSelector, then its paramRef (looked up in the request's namespace when
    it names none; a missing one denies with parameterNotFoundAction: Deny), then the policy."""
    if not matches(policy, req):
        return True, "not matched"
    selector = binding["spec"].get("matchResources", {}).get("namespaceSelector")
    if selector is not None and not _selected(selector, cluster.namespaces.get(req.namespace, {})):
        return True, "binding not selected"
    if "paramKind" not in policy["spec"]:
        return admit(policy, req)
    ref = binding["spec"].get("paramRef")
    if ref is None:
        return False, "binding without paramRef for a policy with paramKind"
    params = cluster.configmaps.get((ref.get("namespace") or req.namespace, ref["name"]))
    if params is None:
        return (False, "no params found") if ref.get("parameterNotFoundAction") == "Deny" else (True, "no params")
    return admit(policy, req, params)
