"""The secrets admission policy (render/admission/secret_policy.py), every expression evaluated by
a real CEL engine (cel-python) the way the API server evaluates a ValidatingAdmissionPolicy:
resource rules, matchConditions, variables in order, then every validation; a validation
that is false or errors denies (failurePolicy: Fail). The rendered objects of every example
tenant are admitted; each way of reaching another tenant's credentials is refused."""

from __future__ import annotations

import copy
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from render.admission import params, secret_policy
from render.clouds import aws, gcp
from tests.support import ROOT, need

celpy = need("celpy")
PLATFORM = yaml.safe_load((ROOT / "registry/platform.yaml").read_text())
POLICY, BINDING, STORE_POLICY, STORE_BINDING = secret_policy.policy_objects(PLATFORM)
KINDS = {"ExternalSecret": "externalsecrets", "PushSecret": "pushsecrets", "SecretStore": "secretstores"}
GENERATOR_KINDS = {"Password": "passwords", "GCRAccessToken": "gcraccesstokens", "Webhook": "webhooks",
                   "STSSessionToken": "stssessiontokens", "ECRAuthorizationToken": "ecrauthorizationtokens"}
RESOURCES = {**KINDS, **GENERATOR_KINDS, "Pod": "pods", "ConfigMap": "configmaps"}


class Denied(Exception):
    pass


@lru_cache(maxsize=256)
def _program(expression: str) -> Any:
    env = celpy.Environment()
    return env.program(env.compile(expression))


def _eval(expression: str, env: dict[str, Any]) -> Any:
    activation = {k: celpy.json_to_cel(v) for k, v in env.items()}
    result = _program(expression).evaluate(activation)
    if isinstance(result, celpy.CELEvalError):
        raise result
    return result


def _true(value: Any) -> bool:
    """CEL true: a bool that is true (not a truthy int or string)."""
    return isinstance(value, celpy.celtypes.BoolType) and bool(value)


def namespace(tenant: str, org: str | None = "org_acme1") -> dict[str, Any]:
    labels = {"dataplane.io/tenant": tenant, "kubernetes.io/metadata.name": f"tenant-{tenant}"}
    if org:
        labels["dataplane.io/organization"] = org
    return {"metadata": {"name": f"tenant-{tenant}", "labels": labels}}


def admit(obj: dict[str, Any], ns: str = "tenant-acme", ns_obj: dict[str, Any] | None = None,
          operation: str = "CREATE") -> tuple[bool, str]:
    resource = RESOURCES[obj["kind"]]
    group = obj["apiVersion"].rpartition("/")[0]
    if not any(group in r["apiGroups"] and {resource, "*"} & set(r["resources"]) and operation in r["operations"]
               for r in POLICY["spec"]["matchConstraints"]["resourceRules"]):
        return True, "not matched"
    request = {"operation": operation, "namespace": ns, "name": obj["metadata"]["name"],
               "resource": {"group": group, "version": "v1", "resource": resource},
               "userInfo": {"username": "system:serviceaccount:argocd:argocd-application-controller"}}
    env: dict[str, Any] = {"request": request, "object": obj, "oldObject": None,
                           "namespaceObject": ns_obj if ns_obj is not None else namespace(ns.removeprefix("tenant-"))}
    for cond in POLICY["spec"]["matchConditions"]:
        if not _true(_eval(cond["expression"], env)):
            return True, f"condition {cond['name']} false"
    variables: dict[str, Any] = {}
    for var in POLICY["spec"]["variables"]:
        variables[var["name"]] = _eval(var["expression"], {**env, "variables": variables})
    env["variables"] = variables
    for v in POLICY["spec"]["validations"]:
        try:
            ok = _true(_eval(v["expression"], env))
        except celpy.CELEvalError as e:
            return False, f"error: {e}"
        if not ok:
            return False, str(_eval(v["messageExpression"], env))
    return True, "allowed"


def rendered(tenant: str) -> list[dict[str, Any]]:
    return [o for p in sorted((ROOT / "rendered" / tenant).glob("*.yaml"))
            for o in [yaml.safe_load(p.read_text())] if o["kind"] in KINDS]


def org_of(tenant: str) -> str:
    return yaml.safe_load((ROOT / f"tenants/{tenant}/tenant.yaml").read_text())["organization_id"]


ACME = {o["kind"] + "/" + o["metadata"]["name"]: o for o in rendered("acme")}
INITECH = {o["kind"] + "/" + o["metadata"]["name"]: o for o in rendered("initech")}


def test_policy_and_binding_are_plain_data_naming_each_other() -> None:
    assert POLICY["kind"] == "ValidatingAdmissionPolicy" and BINDING["kind"] == "ValidatingAdmissionPolicyBinding"
    assert BINDING["spec"]["policyName"] == POLICY["metadata"]["name"]
    assert BINDING["spec"]["validationActions"] == ["Deny", "Audit"]
    assert POLICY["spec"]["failurePolicy"] == "Fail"
    yaml.safe_dump([POLICY, BINDING])  # plain data: serialisable as is


@pytest.mark.parametrize("tenant", sorted(p.name for p in (ROOT / "tenants").iterdir() if p.is_dir()))
def test_every_rendered_secret_object_is_admitted(tenant: str) -> None:
    """What we render passes, migration source included (umbrella migrates)."""
    objects = rendered(tenant)
    assert {o["kind"] for o in objects} >= {"ExternalSecret", "SecretStore"}
    for obj in objects:
        ns_obj = namespace(tenant, org_of(tenant))
        assert admit(obj, f"tenant-{tenant}", ns_obj) == (True, "allowed"), obj["metadata"]["name"]


def test_outside_tenant_namespaces_nothing_is_checked() -> None:
    bad = copy.deepcopy(ACME["ExternalSecret/mongodb-credentials"])
    bad["spec"]["secretStoreRef"] = {"kind": "ClusterSecretStore", "name": "platform-secrets"}
    assert admit(bad, "control-plane", namespace("x")) == (True, "condition tenant-namespace false")


def _es(**changes: Any) -> dict[str, Any]:
    obj = copy.deepcopy(ACME["ExternalSecret/mongodb-credentials"])
    obj["spec"].update(changes)
    return obj


@pytest.mark.parametrize("obj, why", [
    (_es(secretStoreRef={"kind": "ClusterSecretStore", "name": "platform-secrets"}), "the platform's cluster store"),
    (_es(secretStoreRef={"kind": "ClusterSecretStore", "name": "tenant-secrets"}), "a cluster store with our name"),
    (_es(secretStoreRef={"kind": "SecretStore", "name": "other-store"}), "another store"),
    (_es(data=[{"secretKey": "p", "remoteRef": {"key": "dataplane_tenants_globex_mongodb", "property": "password"}}]),
     "another tenant's key (GCP)"),
    (_es(data=[{"secretKey": "p", "remoteRef": {"key": "dataplane/tenants/globex/mongodb"}}]), "another tenant's path (AWS)"),
    (_es(data=[{"secretKey": "p", "remoteRef": {"key": "dataplane_tenants_acme--prod_mongodb"}}]),
     "a tenant whose name starts with ours"),
    (_es(data=[{"secretKey": "p", "remoteRef": {"key": "dataplane/tenants/acme"}}]), "our prefix without its terminator"),
    (_es(data=[{"secretKey": "p", "remoteRef": {"key": "dataplane_shared_organizations_org_other_mongodb"}}]),
     "another organization's shared-platform path"),
    (_es(data=[{"secretKey": "p", "remoteRef": {"key": "dataplane_shared_organizations_org_acme12_mongodb"}}]),
     "an organization whose id starts with ours"),
    (_es(data=[{"secretKey": "p", "remoteRef": {"key": "dataplane_tenants_acme_mongodb"},
                "sourceRef": {"storeRef": {"kind": "ClusterSecretStore", "name": "platform-secrets"}}}]),
     "a per-key ClusterSecretStore"),
    (_es(dataFrom=[{"find": {"name": {"regexp": ".*"}}}]), "find reads keys no one checked"),
    (_es(dataFrom=[{"extract": {"key": "dataplane_tenants_globex_redis"}}]), "extract of another tenant's key"),
    (_es(dataFrom=[{"sourceRef": {"generatorRef": {"kind": "Password", "name": "x"}}}]),
     "a generator in an ExternalSecret regenerates on every refresh"),
])
def test_denied_external_secrets(obj: dict[str, Any], why: str) -> None:
    allowed, message = admit(obj)
    assert not allowed, why
    assert "tenant-secrets" in message and "dataplane_tenants_acme_" in message


def test_missing_store_reference_is_denied() -> None:
    obj = _es()
    del obj["spec"]["secretStoreRef"]
    assert not admit(obj)[0]


def test_the_organization_path_is_readable_only_with_the_namespace_label() -> None:
    obj = _es(data=[{"secretKey": "uri", "remoteRef": {"key": "dataplane_shared_organizations_org_acme1_mongodb"}}])
    assert admit(obj, ns_obj=namespace("acme", "org_acme1")) == (True, "allowed")
    assert not admit(obj, ns_obj=namespace("acme", None))[0]
    assert not admit(obj, ns_obj=namespace("acme", "org_acme2"))[0]


@pytest.mark.parametrize("ns_obj", [namespace("globex"), {"metadata": {"name": "tenant-acme"}}])
def test_a_namespace_not_labelled_as_its_tenant_admits_nothing(ns_obj: dict[str, Any]) -> None:
    allowed, message = admit(ACME["ExternalSecret/mongodb-credentials"], "tenant-acme", ns_obj)
    assert not allowed and "not labelled" in message


def _ps(**changes: Any) -> dict[str, Any]:
    obj = copy.deepcopy(ACME["PushSecret/mongodb-password"])
    obj["spec"].update(changes)
    return obj


@pytest.mark.parametrize("obj, why", [
    (_ps(secretStoreRefs=[{"kind": "ClusterSecretStore", "name": "platform-secrets"}]), "the platform's cluster store"),
    (_ps(secretStoreRefs=[{"kind": "SecretStore", "name": "tenant-secrets"}, {"name": "other"}]), "a second store"),
    (_ps(secretStoreRefs=[{"labelSelector": {"matchLabels": {"a": "b"}}}]), "stores chosen by label"),
    (_ps(secretStoreRefs=[]), "no store at all"),
    (_ps(data=[{"match": {"secretKey": "password", "remoteRef": {"remoteKey": "dataplane_tenants_globex_mongodb"}}}]),
     "overwriting another tenant's password"),
    (_ps(data=[{"match": {"secretKey": "password",
                          "remoteRef": {"remoteKey": "dataplane_shared_organizations_org_acme1_mongodb"}}}]),
     "writing the shared platform's credentials (read-only, and only during a migration)"),
    (_ps(dataTo=[{"storeRef": {"name": "tenant-secrets"}}]), "bulk push names keys after the source"),
])
def test_denied_push_secrets(obj: dict[str, Any], why: str) -> None:
    allowed, message = admit(obj)
    assert not allowed, why
    assert "PushSecret" in message


def _store(provider: dict[str, Any], name: str = "tenant-secrets") -> dict[str, Any]:
    obj = copy.deepcopy(ACME["SecretStore/tenant-secrets"])
    obj["metadata"]["name"] = name
    obj["spec"]["provider"] = provider
    return obj


GCP_OK = copy.deepcopy(ACME["SecretStore/tenant-secrets"]["spec"]["provider"])
AWS_OK = copy.deepcopy(INITECH["SecretStore/tenant-secrets"]["spec"]["provider"])


def test_both_clouds_stores_are_admitted() -> None:
    assert admit(_store(GCP_OK)) == (True, "allowed")
    assert admit(_store(AWS_OK)) == (True, "allowed")


def test_stores_are_admitted_as_the_api_server_defaults_them() -> None:
    """The API server fills the CRD's defaults before admission (seen on the real cluster:
    tests/cluster/test_cluster.py); a defaulted store is the same store."""
    assert admit(_store(_with(GCP_OK, "gcpsm.secretVersionSelectionPolicy", "LatestOrFail"))) == (True, "allowed")
    assert admit(_store(_with(AWS_OK, "aws.sessionTagsPolicy", "None"))) == (True, "allowed")


def _with(provider: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(provider)
    node = out
    *parents, last = path.split(".")
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value
    return out


@pytest.mark.parametrize("obj, why", [
    (_store(GCP_OK, name="second-store"), "a second store"),
    (_store(_with(GCP_OK, "gcpsm.auth.workloadIdentity.serviceAccountRef.name", "engine")), "the engine's identity"),
    (_store(_with(GCP_OK, "gcpsm.auth.workloadIdentity.serviceAccountRef.namespace", "tenant-globex")),
     "another namespace's ServiceAccount"),
    (_store(_with(GCP_OK, "gcpsm.auth.secretRef", {"secretAccessKeySecretRef": {"name": "k", "key": "k"}})),
     "a static key"),
    (_store(_with(AWS_OK, "aws.role", "arn:aws:iam::123456789012:role/dp-globex-secrets")), "assuming another role"),
    (_store(_with(AWS_OK, "aws.additionalRoles", ["arn:aws:iam::1:role/x"])), "chained roles"),
    (_store(_with(AWS_OK, "aws.auth.jwt.serviceAccountRef.name", "engine")), "the engine's identity (AWS)"),
    (_store({"kubernetes": {"remoteNamespace": "tenant-globex", "server": {}, "auth": {}}}),
     "a provider reading another namespace's Secrets"),
    (_store(_with(AWS_OK, "aws.prefix", "dataplane/tenants/globex/")), "another tenant's key prefix"),
    (_store(_with(AWS_OK, "aws.prefix", "dataplane/tenants/acme/")), "a prefix at all: keys already carry the tenant's"),
    (_store(_with(AWS_OK, "aws.sessionTags", [{"key": "tenant", "value": "globex"}])), "session tags another tenant's ABAC"),
    (_store(_with(AWS_OK, "aws.externalID", "x")), "an external id for a role"),
    (_store(_with(AWS_OK, "aws.service", "ParameterStore")), "another AWS service"),
    (_store(_with(GCP_OK, "gcpsm.location", "europe-west4")), "a provider field the platform does not render"),
    (_store(_with(AWS_OK, "aws.sessionTagsPolicy", "Simple")), "session tags, by policy rather than by list"),
    (_store(_with(GCP_OK, "gcpsm.auth.workloadIdentityFederation", {"audience": "x"})), "another way to authenticate"),
])
def test_denied_secret_stores(obj: dict[str, Any], why: str) -> None:
    allowed, message = admit(obj)
    assert not allowed, why
    assert "the only SecretStore" in message


def pod(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c", "image": "x"}], **spec}}


@pytest.mark.parametrize("spec", [{"serviceAccountName": "tenant-secrets"}, {"serviceAccount": "tenant-secrets"}])
def test_no_pod_runs_as_the_secrets_service_account(spec: dict[str, Any]) -> None:
    allowed, message = admit(pod(**spec))
    assert not allowed and "no pod in tenant-acme runs as ServiceAccount tenant-secrets" in message


@pytest.mark.parametrize("spec", [{}, {"serviceAccountName": "engine"}])
def test_other_pods_pass_even_in_an_unlabelled_namespace(spec: dict[str, Any]) -> None:
    assert admit(pod(**spec), ns_obj={"metadata": {"name": "tenant-acme"}}) == (True, "allowed")


def test_other_kinds_are_not_matched() -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
    assert admit(cm) == (True, "not matched")
    assert admit(pod(serviceAccountName="tenant-secrets"), operation="UPDATE") == (True, "not matched")


def test_every_validation_can_deny() -> None:
    """Each validation is the one refusing at least one case above (none is dead code)."""
    cases = [(_es(), namespace("globex")), (_store(GCP_OK, name="x"), None),
             (_es(target={"name": "t", "template": {"type": "kubernetes.io/service-account-token"}}), None),
             (generator("Webhook"), None),
             (_es(secretStoreRef={"kind": "ClusterSecretStore", "name": "platform-secrets"}), None),
             (_ps(secretStoreRefs=[]), None), (pod(serviceAccountName="tenant-secrets"), None)]
    first_failing = []
    for obj, ns_obj in cases:
        allowed, message = admit(obj, ns_obj=ns_obj)
        assert not allowed
        first_failing.append(message)
    assert len(set(first_failing)) == len(POLICY["spec"]["validations"])


def test_rendered_examples_exist() -> None:
    assert Path(ROOT / "rendered/acme/secretstore-tenant-secrets.yaml").is_file()


# --- the holes: a ServiceAccount token Secret, foreign generators, another project -------------
@pytest.mark.parametrize("kind", ["kubernetes.io/service-account-token", "kubernetes.io/dockerconfigjson"])
def test_an_external_secret_templates_opaque_secrets_only(kind: str) -> None:
    """A service-account-token Secret annotated with a ServiceAccount's name is filled with that account's
    token by the token controller: the ExternalSecret would mint credentials nobody reviewed."""
    target = {"name": "mongodb-credentials", "template": {"type": kind, "metadata": {
        "annotations": {"kubernetes.io/service-account.name": "ray-head"}}}}
    allowed, message = admit(_es(target=target))
    assert not allowed and "templates Opaque Secrets only" in message
    assert admit(_es(target={**target, "template": {"type": "Opaque"}})) == (True, "allowed")


def generator(kind: str) -> dict[str, Any]:
    return {"apiVersion": "generators.external-secrets.io/v1alpha1", "kind": kind, "metadata": {"name": "g"},
            "spec": {}}


@pytest.mark.parametrize("kind", sorted(set(GENERATOR_KINDS) - {"Password"}))
def test_only_the_generators_the_platform_renders_are_admitted(kind: str) -> None:
    allowed, message = admit(generator(kind))
    assert not allowed and "the only generators in tenant-acme are Password" in message


def test_the_rendered_password_generators_are_admitted() -> None:
    for obj in (yaml.safe_load(p.read_text()) for p in (ROOT / "rendered/acme").glob("password-*.yaml")):
        assert admit(obj) == (True, "allowed")


@pytest.mark.parametrize("ref", [
    {"apiVersion": "generators.external-secrets.io/v1alpha1", "kind": "GCRAccessToken", "name": "x"},
    {"apiVersion": "generators.external-secrets.io/v1alpha1", "kind": "ClusterGenerator", "name": "x"},
    {"apiVersion": "evil.example/v1", "kind": "Password", "name": "x"},
])
def test_a_push_secret_pushes_from_the_platforms_generators_only(ref: dict[str, str]) -> None:
    allowed, message = admit(_ps(selector={"generatorRef": ref}))
    assert not allowed and "generator but Password" in message


def store_admit(obj: dict[str, Any], project: str | None) -> tuple[bool, str]:
    """The store policy through its binding, the namespace's parameter object naming `project`."""
    from tests.admission_sim import Cluster, Request, admit_bound

    data = {gcp.PROJECT_PARAM: project} if project else {}
    cluster = Cluster(namespaces={"tenant-acme": namespace("acme")["metadata"]["labels"]},
                      configmaps={("tenant-acme", params.NAME): {"data": data}})
    return admit_bound(STORE_POLICY, STORE_BINDING, Request("CREATE", "secretstores", group="external-secrets.io",
                                                            object=obj), cluster)


def test_a_gcp_store_names_its_tenants_own_project() -> None:
    rendered = yaml.safe_load((ROOT / "rendered/acme/configmap-dataplane-admission.yaml").read_text())
    own = rendered["data"][gcp.PROJECT_PARAM]
    assert own == yaml.safe_load((ROOT / "tenants/acme/tenant.yaml").read_text())["cloud_account"]
    assert store_admit(_store(GCP_OK), own) == (True, "allowed")
    assert store_admit(_store(AWS_OK), None) == (True, "condition gcp false")
    for path in ("gcpsm.projectID", "gcpsm.auth.workloadIdentity.clusterProjectID"):
        allowed, message = store_admit(_store(_with(GCP_OK, path, "dp-tenants-eu")), own)
        assert not allowed and f"names the GCP project of its tenant, {own}" in message, path
    assert not store_admit(_store(GCP_OK), None)[0]  # a parameter object without a project admits no store


def test_the_store_fields_refused_one_by_one_are_the_crd_fields_the_platform_does_not_render() -> None:
    """The policy names every provider field the platform does not render, one by one; a field
    upstream adds must be named too."""
    from render import crds

    path = crds.locate() / "external-secrets" / "external-secrets.io_secretstores.yaml"
    crd = next(d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d)
    version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1")
    provider = version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["provider"]["properties"]
    gcp_store, aws_store = provider["gcpsm"]["properties"], provider["aws"]["properties"]
    assert set(gcp_store) - set(gcp.STORE_FIELDS) == set(gcp.STORE_OTHER_FIELDS)
    assert set(gcp_store["auth"]["properties"]) - {"workloadIdentity"} == set(gcp.STORE_OTHER_AUTH)
    assert set(gcp_store["auth"]["properties"]["workloadIdentity"]["properties"]) <= set(gcp.STORE_IDENTITY_FIELDS)
    assert set(aws_store) - set(aws.STORE_FIELDS) == set(aws.STORE_OTHER_FIELDS)
    assert set(aws_store["auth"]["properties"]) - {"jwt"} == set(aws.STORE_OTHER_AUTH)
    # The API server defaults these before admission: the policy admits each at its default only.
    for module, props in ((gcp, gcp_store), (aws, aws_store)):
        assert {k: v["default"] for k, v in props.items() if "default" in v} == module.STORE_DEFAULTS
