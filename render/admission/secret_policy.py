"""ValidatingAdmissionPolicy (admissionregistration.k8s.io/v1) confining a tenant's secret
objects to its own store and its own remote keys, whoever sends them (docs/security.md,
"Secrets").

In a namespace tenant-<name>, an ExternalSecret, PushSecret or SecretStore is refused when
it references a ClusterSecretStore or a store other than `tenant-secrets`, a remote key
outside the tenant's prefix (an ExternalSecret may also read its organization's path on
the shared platform, which a migration copies from), a store authenticating as anything
but the `tenant-secrets` ServiceAccount, or a bulk form (find, dataTo, sourceRef) whose
keys cannot be checked here. No pod may run as the `tenant-secrets` ServiceAccount, whose
cloud identity is the store's. The tenant and organization come from the namespace's labels
(set by the deploy identity only); the namespace must be tenant-<that tenant>.

A function of registry/platform.yaml only: `policy_objects(platform)` returns the policy
and its binding as plain data. Every expression is evaluated by a real CEL engine in
tests/test_admission_secrets.py.
"""

from __future__ import annotations

import json
from typing import Any

from render import layout, tenant_secrets

API = "admissionregistration.k8s.io/v1"
NAME = "dataplane-tenant-secrets"
TENANT_NAMESPACE = "request.namespace.startsWith('tenant-')"
NS_LABELS = "(has(namespaceObject.metadata.labels) ? namespaceObject.metadata.labels : {})"
_MARK = "NAME"  # stands for the tenant (or organization) inside a prefix template


def cel(value: Any) -> str:
    """A CEL literal (strings, lists of strings): JSON's syntax is CEL's for these."""
    return json.dumps(value)


def _prefixes(template: Any, var: str) -> str:
    """CEL list of the prefix on every cloud, `var` put where the name goes."""
    parts = [template(cloud, _MARK).split(_MARK) for cloud in ("aws", "gcp")]
    return "[" + ", ".join(f"{cel(before)} + {var} + {cel(after)}" for before, after in parts) + "]"


def _variables(platform: dict[str, Any]) -> list[dict[str, str]]:
    shared = platform["shared_platform"]["secret_prefix"]
    own = _prefixes(tenant_secrets.tenant_prefix, "variables.tenant")
    org = _prefixes(lambda cloud, o: tenant_secrets.organization_prefix(cloud, shared, o), "variables.organization")
    return [
        {"name": "labels", "expression": NS_LABELS},
        {"name": "tenant", "expression": _label(layout.LABEL_TENANT)},
        {"name": "organization", "expression": _label(layout.LABEL_ORGANIZATION)},
        {"name": "own", "expression": own},
        {"name": "readable", "expression": f"variables.own + (variables.organization == '' ? [] : {org})"},
    ]


def _label(key: str) -> str:
    return f"{cel(key)} in variables.labels ? variables.labels[{cel(key)}] : ''"


def _own_store(ref: str) -> str:
    """CEL: `ref` names the tenant's namespaced store (kind SecretStore, its default)."""
    return (f"((!has({ref}.kind) || {ref}.kind == 'SecretStore') && has({ref}.name)"
            f" && {ref}.name == {cel(tenant_secrets.STORE)})")


def _under(key: str, prefixes: str) -> str:
    return f"{prefixes}.exists(p, {key}.startsWith(p))"


def _validations() -> list[dict[str, str]]:
    store, sa = cel(tenant_secrets.STORE), cel(tenant_secrets.SERVICE_ACCOUNT)
    spec = "object.spec"
    res = "request.resource.resource"
    gcp, aws = f"{spec}.provider.gcpsm", f"{spec}.provider.aws"
    gcp_ok = (f"has({gcp}.auth.workloadIdentity) && !has({gcp}.auth.secretRef) && !has({gcp}.auth.workloadIdentityFederation)"
              f" && {gcp}.auth.workloadIdentity.serviceAccountRef.name == {sa}"
              f" && !has({gcp}.auth.workloadIdentity.serviceAccountRef.namespace)")
    aws_ok = (f"has({aws}.auth.jwt) && !has({aws}.auth.secretRef) && {aws}.auth.jwt.serviceAccountRef.name == {sa}"
              f" && !has({aws}.auth.jwt.serviceAccountRef.namespace) && !has({aws}.role) && !has({aws}.additionalRoles)")
    es_keys = (f"(!has({spec}.data) || {spec}.data.all(d, !has(d.sourceRef) && {_under('d.remoteRef.key', 'variables.readable')}))"
               f" && (!has({spec}.dataFrom) || {spec}.dataFrom.all(d, !has(d.find) && !has(d.sourceRef) && has(d.extract)"
               f" && {_under('d.extract.key', 'variables.readable')}))")
    ps_keys = (f"!has({spec}.dataTo) && (!has({spec}.data) || {spec}.data.all(d,"
               f" {_under('d.match.remoteRef.remoteKey', 'variables.own')}))")
    where = "' in ' + request.namespace"
    pods = f"{res} == 'pods'"
    return [
        {"expression": f"{pods} || (variables.tenant != '' && request.namespace == 'tenant-' + variables.tenant)",
         "messageExpression": "'namespace ' + request.namespace + ' is not labelled as tenant-<"
                              + layout.LABEL_TENANT + ">: no secret object may be written in it'",
         "reason": "Forbidden"},
        {"expression": f"{res} != 'secretstores' || (has(object.spec) && object.metadata.name == {store}"
                       f" && (has({gcp}) ? ({gcp_ok}) : has({aws}) ? ({aws_ok}) : false))",
         "messageExpression": f"'the only SecretStore' + {where} + ' is ' + {cel(tenant_secrets.STORE)} + ', on GCP "
                              f"Secret Manager or AWS Secrets Manager, authenticating as ServiceAccount ' + {sa}",
         "reason": "Forbidden"},
        {"expression": f"{res} != 'externalsecrets' || (has(object.spec) && has({spec}.secretStoreRef) && {_own_store(spec + '.secretStoreRef')}"
                       f" && {es_keys})",
         "messageExpression": f"'an ExternalSecret' + {where} + ' reads through SecretStore ' + {store}"
                              " + ' only (no ClusterSecretStore, sourceRef or find), keys under ' + variables.own[0] + ' or '"
                              " + variables.own[1] + ' (or its organization path on the shared platform)'",
         "reason": "Forbidden"},
        {"expression": f"{res} != 'pushsecrets' || (has(object.spec) && has({spec}.secretStoreRefs) && size({spec}.secretStoreRefs) > 0"
                       f" && {spec}.secretStoreRefs.all(r, {_own_store('r')} && !has(r.labelSelector)) && {ps_keys})",
         "messageExpression": f"'a PushSecret' + {where} + ' writes through SecretStore ' + {store}"
                              " + ' only (no ClusterSecretStore, labelSelector or dataTo), keys under ' + variables.own[0] + ' or '"
                              " + variables.own[1]",
         "reason": "Forbidden"},
        # The secrets identity is for external-secrets' token requests, never a pod's.
        {"expression": f"!({pods}) || ((!has(object.spec.serviceAccountName) || object.spec.serviceAccountName != {sa})"
                       f" && (!has(object.spec.serviceAccount) || object.spec.serviceAccount != {sa}))",
         "messageExpression": f"'no pod' + {where} + ' runs as ServiceAccount ' + {sa} + ': its cloud identity is the "
                              "secret store of the tenant, for external-secrets only'",
         "reason": "Forbidden"},
    ]


def policy(platform: dict[str, Any]) -> dict[str, Any]:
    rules = [{"apiGroups": ["external-secrets.io"], "apiVersions": ["*"], "operations": ["CREATE", "UPDATE"],
              "resources": ["externalsecrets", "pushsecrets", "secretstores"]},
             {"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["pods"]}]
    return {"apiVersion": API, "kind": "ValidatingAdmissionPolicy", "metadata": _meta(),
            "spec": {"failurePolicy": "Fail", "matchConstraints": {"resourceRules": rules},
                     "matchConditions": [{"name": "tenant-namespace", "expression": TENANT_NAMESPACE}],
                     "variables": _variables(platform), "validations": _validations()}}


def _meta() -> dict[str, Any]:
    return {"name": NAME, "labels": {layout.LABEL_PART_OF: layout.PART_OF, layout.LABEL_MANAGED_BY: layout.MANAGED_BY,
                                     layout.LABEL_COMPONENT: "admission"}}


def policy_objects(platform: dict[str, Any]) -> list[dict[str, Any]]:
    """The policy and its binding; `platform` is registry/platform.yaml's data."""
    binding = {"apiVersion": API, "kind": "ValidatingAdmissionPolicyBinding", "metadata": _meta(),
               "spec": {"policyName": NAME, "validationActions": ["Deny", "Audit"]}}
    return [policy(platform), binding]
