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
        if req.group in rule["apiGroups"] and req.resource in rule["resources"] and req.operation in rule["operations"]:
            return True
    return False


def admit(policy: dict[str, Any], req: Request) -> tuple[bool, str]:
    """(allowed, message): the policy's verdict on one request."""
    if not matches(policy, req):
        return True, "not matched"
    env: dict[str, Any] = {"request": req.cel(), "object": req.object, "oldObject": req.old}
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
