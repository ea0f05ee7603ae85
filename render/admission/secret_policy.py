"""ValidatingAdmissionPolicy (admissionregistration.k8s.io/v1) confining a tenant's secret
objects to its own store and its own remote keys, whoever sends them (docs/security.md,
"Secrets").

In a namespace tenant-<name>, an ExternalSecret, PushSecret or SecretStore is refused when
it references a ClusterSecretStore or a store other than `tenant-secrets`, a remote key
outside the tenant's prefix (an ExternalSecret may also read its organization's path on
the shared platform, which a migration copies from), a store authenticating as anything
but the `tenant-secrets` ServiceAccount (or setting any provider field the platform does
not render: a key prefix, a role, session tags), or a bulk form (find, dataTo, sourceRef)
whose keys cannot be checked here. An ExternalSecret templates Opaque Secrets only (never a
`kubernetes.io/service-account-token` one), the only generators are the kinds the platform
renders (`tenant_kinds`: Password), and a PushSecret pushes from those only. No pod may run
as the `tenant-secrets` ServiceAccount, whose cloud identity is the store's. A second policy,
with the namespace's parameter object (render/admission/params.py), keeps a store to its
tenant's own account where the provider names one (GCP's project). What each cloud's
provider may set is the cloud's (render/clouds/ `secret_store_*`: the API server evaluates
the rule on the store typed by its CRD's schema, so the schema's other provider fields are
named and refused one by one; tests/conformance/test_admission_secrets.py derives those lists from the
vendored CRD). The tenant and organization come from the namespace's labels (set by the
deploy identity only); the namespace must be tenant-<that tenant>.

A function of registry/platform.yaml only: `policy_objects(platform)` returns the policies
and their bindings as plain data. Every expression is evaluated by a real CEL engine in
tests/conformance/test_admission_secrets.py.
"""

from __future__ import annotations

from typing import Any

from render import clouds, layout, tenant_secrets
from render.admission import params
from render.clouds.base import cel

API = "admissionregistration.k8s.io/v1"
NAME = "dataplane-tenant-secrets"
STORE_NAME = "dataplane-tenant-secret-store"
TENANT_NAMESPACE = "request.namespace.startsWith('tenant-')"
NS_LABELS = "(has(namespaceObject.metadata.labels) ? namespaceObject.metadata.labels : {})"
GENERATORS = "generators.external-secrets.io"
_MARK = "NAME"  # stands for the tenant (or organization) inside a prefix template


def _prefixes(template: Any, var: str) -> str:
    """CEL list of the prefix on every cloud, `var` put where the name goes."""
    parts = [template(cloud, _MARK).split(_MARK) for cloud in clouds.names()]
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


def generators(platform: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(kinds, resources) of the generators the platform renders: registry/platform.yaml
    `tenant_kinds` in the generators group (Password)."""
    kinds = sorted(str(k).rpartition("/")[2] for k in platform.get("tenant_kinds") or []
                   if str(k).rpartition("/")[0] == GENERATORS)
    return kinds, [k.lower() + "s" for k in kinds]


def _validations(platform: dict[str, Any]) -> list[dict[str, str]]:
    store, sa = cel(tenant_secrets.STORE), cel(tenant_secrets.SERVICE_ACCOUNT)
    generator_kinds, generator_resources = generators(platform)
    spec = "object.spec"
    res = "request.resource.resource"
    # Exactly the fields the platform renders (each cloud's secret_store_provider): no key prefix,
    # role, session tags or other lever naming anything but the tenant's own identity. Each
    # registered cloud's provider in turn; any other provider is refused.
    provider_ok = "false"
    for cloud in reversed(clouds.CLOUDS.values()):
        provider = f"{spec}.provider.{cloud.secret_provider}"
        provider_ok = f"has({provider}) ? ({cloud.secret_store_rule(provider, sa)}) : {provider_ok}"
    backends = " or ".join(c.secret_backend for c in clouds.CLOUDS.values())
    own_keys = " + ' or ' + ".join(f"variables.own[{i}]" for i in range(len(clouds.CLOUDS)))
    # A kubernetes.io/service-account-token Secret is filled with a token of any ServiceAccount
    # its annotation names: the platform templates Opaque Secrets only.
    es_type = (f"(!has({spec}.target) || !has({spec}.target.template) || !has({spec}.target.template.type)"
               f" || {spec}.target.template.type == 'Opaque')")
    es_keys = (f"(!has({spec}.data) || {spec}.data.all(d, !has(d.sourceRef) && {_under('d.remoteRef.key', 'variables.readable')}))"
               f" && (!has({spec}.dataFrom) || {spec}.dataFrom.all(d, !has(d.find) && !has(d.sourceRef) && has(d.extract)"
               f" && {_under('d.extract.key', 'variables.readable')}))")
    ps_keys = (f"!has({spec}.dataTo) && (!has({spec}.data) || {spec}.data.all(d,"
               f" {_under('d.match.remoteRef.remoteKey', 'variables.own')}))")
    gen = f"{spec}.selector.generatorRef"
    ps_source = (f"(!has({spec}.selector) || !has({gen}) || ({gen}.kind in {cel(list(generator_kinds))}"
                 f" && {gen}.apiVersion.startsWith({cel(GENERATORS + '/')})))")
    where = "' in ' + request.namespace"
    pods = f"{res} == 'pods'"
    return [
        {"expression": f"{pods} || (variables.tenant != '' && request.namespace == 'tenant-' + variables.tenant)",
         "messageExpression": "'namespace ' + request.namespace + ' is not labelled as tenant-<"
                              + layout.LABEL_TENANT + ">: no secret object may be written in it'",
         "reason": "Forbidden"},
        {"expression": f"{res} != 'secretstores' || (has(object.spec) && object.metadata.name == {store}"
                       f" && ({provider_ok}))",
         "messageExpression": f"'the only SecretStore' + {where} + ' is ' + {cel(tenant_secrets.STORE)} + ', on "
                              f"{backends}, authenticating as ServiceAccount ' + {sa}",
         "reason": "Forbidden"},
        {"expression": f"{res} != 'externalsecrets' || {es_type}",
         "messageExpression": f"'an ExternalSecret' + {where} + ' templates Opaque Secrets only (a "
                              "kubernetes.io/service-account-token Secret would carry a ServiceAccount token)'",
         "reason": "Forbidden"},
        {"expression": f"request.resource.group != {cel(GENERATORS)} || {res} in {cel(sorted(generator_resources))}",
         "messageExpression": f"'the only generators' + {where} + ' are ' + {cel(', '.join(sorted(generator_kinds)))}"
                              " + ' (what the platform renders)'",
         "reason": "Forbidden"},
        {"expression": f"{res} != 'externalsecrets' || (has(object.spec) && has({spec}.secretStoreRef) && {_own_store(spec + '.secretStoreRef')}"
                       f" && {es_keys})",
         "messageExpression": f"'an ExternalSecret' + {where} + ' reads through SecretStore ' + {store}"
                              f" + ' only (no ClusterSecretStore, sourceRef or find), keys under ' + {own_keys}"
                              " + ' (or its organization path on the shared platform)'",
         "reason": "Forbidden"},
        {"expression": f"{res} != 'pushsecrets' || (has(object.spec) && has({spec}.secretStoreRefs) && size({spec}.secretStoreRefs) > 0"
                       f" && {spec}.secretStoreRefs.all(r, {_own_store('r')} && !has(r.labelSelector)) && {ps_keys}"
                       f" && {ps_source})",
         "messageExpression": f"'a PushSecret' + {where} + ' writes through SecretStore ' + {store}"
                              " + ' only (no ClusterSecretStore, labelSelector, dataTo or generator but "
                              + ", ".join(sorted(generator_kinds)) + f"), keys under ' + {own_keys}",
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
             {"apiGroups": [GENERATORS], "apiVersions": ["*"], "operations": ["CREATE", "UPDATE"], "resources": ["*"]},
             {"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["pods"]}]
    return {"apiVersion": API, "kind": "ValidatingAdmissionPolicy", "metadata": _meta(),
            "spec": {"failurePolicy": "Fail", "matchConstraints": {"resourceRules": rules},
                     "matchConditions": [{"name": "tenant-namespace", "expression": TENANT_NAMESPACE}],
                     "variables": _variables(platform), "validations": _validations(platform)}}


def _meta(name: str = NAME) -> dict[str, Any]:
    return {"name": name, "labels": {layout.LABEL_PART_OF: layout.PART_OF, layout.LABEL_MANAGED_BY: layout.MANAGED_BY,
                                     layout.LABEL_COMPONENT: "admission"}}


def _account_rules() -> dict[str, dict[str, str]]:
    """provider -> the validation keeping its store to the tenant's own account, for each
    cloud whose provider names one (render/clouds/ `secret_store_account_rule`)."""
    rules = {c.secret_provider: c.secret_store_account_rule("variables.params") for c in clouds.CLOUDS.values()}
    return {p: r for p, r in rules.items() if r is not None}


def store_policy() -> dict[str, Any]:
    """A store names its tenant's own account (the namespace's parameter object,
    render/admission/params.py), on each cloud whose provider names one."""
    rules = _account_rules()
    has = {p: f"has(object.spec.provider.{p})" for p in rules}
    # One provider: the match condition selects it; more: each rule holds for its own provider.
    validations = [r if len(rules) == 1 else {**r, "expression": f"!{has[p]} || ({r['expression']})"}
                   for p, r in rules.items()]
    resource_rules = [{"apiGroups": ["external-secrets.io"], "apiVersions": ["*"], "operations": ["CREATE", "UPDATE"],
                       "resources": ["secretstores"]}]
    conditions = [{"name": "tenant-namespace", "expression": TENANT_NAMESPACE},
                  {"name": "-".join(c.name for c in clouds.CLOUDS.values() if c.secret_provider in rules),
                   "expression": "has(object.spec.provider) && (" + " || ".join(has.values()) + ")"
                   if len(rules) > 1 else f"has(object.spec.provider) && {next(iter(has.values()))}"}]
    return {"apiVersion": API, "kind": "ValidatingAdmissionPolicy", "metadata": _meta(STORE_NAME),
            "spec": {"failurePolicy": "Fail", "paramKind": {"apiVersion": "v1", "kind": "ConfigMap"},
                     "matchConstraints": {"resourceRules": resource_rules}, "matchConditions": conditions,
                     "variables": [{"name": "params", "expression": "has(params.data) ? params.data : {}"}],
                     "validations": validations}}


def policy_objects(platform: dict[str, Any]) -> list[dict[str, Any]]:
    """The policies and their bindings; `platform` is registry/platform.yaml's data."""
    binding = {"apiVersion": API, "kind": "ValidatingAdmissionPolicyBinding", "metadata": _meta(),
               "spec": {"policyName": NAME, "validationActions": ["Deny", "Audit"]}}
    # Parameters from the request's own namespace; only tenant namespaces (labelled by the
    # deploy identity alone) have them.
    store_binding = {"apiVersion": API, "kind": "ValidatingAdmissionPolicyBinding", "metadata": _meta(STORE_NAME),
                     "spec": {"policyName": STORE_NAME, "validationActions": ["Deny", "Audit"],
                              "paramRef": {"name": params.NAME, "parameterNotFoundAction": "Deny"},
                              "matchResources": {"namespaceSelector": {"matchExpressions": [
                                  {"key": layout.LABEL_TENANT, "operator": "Exists"}]}}}}
    return [policy(platform), binding] + ([store_policy(), store_binding] if _account_rules() else [])
