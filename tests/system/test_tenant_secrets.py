"""A tenant's own secret store (render/tenant_secrets.py, base/secrets.yaml.j2): the rendered
settings that keep a running database's password stable, and the prefixes and grants that
keep one tenant's credentials out of every other tenant's reach.

The external-secrets behaviour these settings rely on was read in its source
(external-secrets/external-secrets, pkg/controllers/pushsecret/pushsecret_controller.go and
pkg/controllers/externalsecret/externalsecret_controller.go, release 2.9.0); see
docs/security.md, "Secrets"."""

from __future__ import annotations

import json

import pytest
import yaml

from render import tenant_secrets
from tests.hyp import given, st
from tests.support import ROOT

TENANTS = sorted(p.name for p in (ROOT / "tenants").iterdir() if p.is_dir())


def objects(tenant: str) -> list[dict]:
    return [yaml.safe_load(p.read_text()) for p in sorted((ROOT / "rendered" / tenant).glob("*.yaml"))]


def of_kind(tenant: str, kind: str) -> list[dict]:
    return [o for o in objects(tenant) if o["kind"] == kind]


def tenant_file(tenant: str) -> dict:
    return yaml.safe_load((ROOT / f"tenants/{tenant}/tenant.yaml").read_text())


@pytest.mark.parametrize("tenant", TENANTS)
def test_a_pushed_password_is_never_replaced(tenant: str) -> None:
    """The PushSecret generates a new value every time it reconciles (resolveSecretFromGenerator
    runs Generate on each push). What keeps a running database's password:
    - updatePolicy IfNotExists: pushSecretEntry asks the provider SecretExists first and
      pushes nothing when the remote key exists, so a reconcile, a new PushSecret or a
      re-created namespace writes only a key that is missing;
    - refreshInterval 0s: shouldRefresh is false once synced, until the object changes
      (its generation, labels or annotations: an engine upgrade changes the
      engine-version annotation, so pushes do happen, and IfNotExists is what saves us);
    - deletionPolicy None: deleting the PushSecret (or the namespace) leaves the remote key,
      so a re-created namespace reads the password its database's volume still holds;
    - one data entry per remote key: SecretExists looks at the key, not the property, so a
      second entry into the same key would never be written."""
    pushes = of_kind(tenant, "PushSecret")
    assert pushes, "a tenant's Redis password is always generated"
    for p in pushes:
        spec = p["spec"]
        assert spec["updatePolicy"] == "IfNotExists"
        assert spec["refreshInterval"] in ("0s", "0")
        assert spec["deletionPolicy"] == "None"
        assert spec["selector"]["generatorRef"]["kind"] == "Password"
        keys = [d["match"]["remoteRef"]["remoteKey"] for d in spec["data"]]
        assert len(keys) == len(set(keys)) == 1
        assert [r["kind"] for r in spec["secretStoreRefs"]] == ["SecretStore"]
    generators = {g["metadata"]["name"]: g for g in of_kind(tenant, "Password")}
    assert {p["spec"]["selector"]["generatorRef"]["name"] for p in pushes} == set(generators)


@pytest.mark.parametrize("tenant", TENANTS)
def test_external_secrets_only_read_the_store(tenant: str) -> None:
    """An ExternalSecret with a generator source (dataFrom.sourceRef.generatorRef) would
    generate on every refresh: rotation by accident. Ours read the store, which changes only
    by a deliberate rotation, so the hourly Periodic refresh re-reads the same value; and
    deletionPolicy Retain keeps the Secret if the remote key is ever unreadable."""
    for es in of_kind(tenant, "ExternalSecret"):
        spec = es["spec"]
        assert spec["refreshPolicy"] == "Periodic" and spec["refreshInterval"] == "1h"
        assert spec["secretStoreRef"] == {"kind": "SecretStore", "name": tenant_secrets.STORE}
        assert "dataFrom" not in spec and all("sourceRef" not in d for d in spec["data"])
        # The migration's source credentials leave with the migration (docs/migration.md).
        migration = es["metadata"]["labels"]["app.kubernetes.io/component"] == "migration"
        assert spec["target"]["deletionPolicy"] == ("Delete" if migration else "Retain")


@pytest.mark.parametrize("tenant", TENANTS)
def test_generated_passwords_fit_in_uris(tenant: str) -> None:
    for g in of_kind(tenant, "Password"):
        spec = g["spec"]
        assert spec["symbols"] == 0 and spec["encoding"] == "raw" and spec["length"] >= 24


@pytest.mark.parametrize("tenant", TENANTS)
def test_the_templates_carry_eso_placeholders_and_the_secret_keys_stay(tenant: str) -> None:
    es = {o["metadata"]["name"]: o["spec"] for o in of_kind(tenant, "ExternalSecret")}
    assert set(es["mongodb-credentials"]["target"]["template"]["data"]) == {"uri", "username", "password"}
    # broker-url and result-backend-url: Celery's, built from the same password.
    assert set(es["redis-credentials"]["target"]["template"]["data"]) == {"password", "url", "broker-url",
                                                                          "result-backend-url"}
    assert set(es["vector-store-credentials"]["target"]["template"]["data"]) == {"api-key"}
    redis = es["redis-credentials"]["target"]["template"]["data"]
    assert redis["url"] == f"redis://:{{{{ .password | urlquery }}}}@redis.tenant-{tenant}.svc.cluster.local:6379/0"


def test_the_store_generates_mongodb_only_for_a_dedicated_instance() -> None:
    for tenant in TENANTS:
        dedicated = tenant_file(tenant)["database"]["mode"] == "dedicated_instance"
        names = {p["metadata"]["name"] for p in of_kind(tenant, "PushSecret")}
        assert names == ({"mongodb-password", "redis-password"} if dedicated else {"redis-password"})


@given(st.from_regex(r"[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?", fullmatch=True),
       st.from_regex(r"[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?", fullmatch=True), st.sampled_from(["gcp", "aws"]))
def test_no_tenant_prefix_starts_another(a: str, b: str, cloud: str) -> None:
    if a != b:
        assert not tenant_secrets.tenant_prefix(cloud, b).startswith(tenant_secrets.tenant_prefix(cloud, a))


@given(st.from_regex(r"org_[A-Za-z0-9]{1,12}", fullmatch=True), st.from_regex(r"org_[A-Za-z0-9]{1,12}", fullmatch=True))
def test_no_organization_prefix_starts_another(a: str, b: str) -> None:
    if a != b:
        assert not tenant_secrets.organization_prefix("gcp", "dataplane/shared", b).startswith(
            tenant_secrets.organization_prefix("gcp", "dataplane/shared", a))


def test_gcp_ids_are_valid_secret_manager_ids() -> None:
    for tenant in ("acme", "globex", "umbrella"):
        for p in of_kind(tenant, "PushSecret"):
            key = p["spec"]["data"][0]["match"]["remoteRef"]["remoteKey"]
            assert key.replace("_", "").replace("-", "").isalnum() and len(key) <= 255


def test_gcp_grants_name_only_the_tenants_prefix() -> None:
    platform = yaml.safe_load((ROOT / "registry/platform.yaml").read_text())
    numbers = platform["secret_stores"]["gcp_project_numbers"]
    t = tenant_file("acme")
    members = {m["metadata"]["name"]: m["spec"] for m in of_kind("acme", "IAMPolicyMember")}
    own = f'resource.name.startsWith("projects/{numbers[t["cloud_account"]]}/secrets/dataplane_tenants_acme_")'
    for name in ("secrets-secretaccessor", "secrets-secretversionadder", "secrets-viewer"):
        assert members[name]["condition"]["expression"] == own
        assert members[name]["member"] == f"serviceAccount:dps-acme@{t['cloud_account']}.iam.gserviceaccount.com"
    assert members["secrets-create"]["condition"]["expression"] == 'resource.type == "cloudresourcemanager.googleapis.com/Project"'
    assert members["secrets-workload-identity-user"]["member"].endswith("[tenant-acme/tenant-secrets]")
    assert "secrets-migration-source" not in members  # acme is not migrating


def test_a_migrating_tenant_reads_exactly_its_organizations_path() -> None:
    """umbrella is in a migration state with Jobs: its secrets identity may read its
    organization's shared-platform credentials, and its source ExternalSecret reads them."""
    t = tenant_file("umbrella")
    members = {m["metadata"]["name"]: m["spec"] for m in of_kind("umbrella", "IAMPolicyMember")}
    grant = members["secrets-migration-source"]
    assert grant["role"] == "roles/secretmanager.secretAccessor"
    assert grant["condition"]["expression"].endswith(f'/secrets/dataplane_shared_organizations_{t["organization_id"]}_")')
    source = next(o for o in of_kind("umbrella", "ExternalSecret") if o["metadata"]["name"] == "migration-source-credentials")
    assert source["spec"]["secretStoreRef"] == {"kind": "SecretStore", "name": "tenant-secrets"}
    assert source["spec"]["data"][0]["remoteRef"]["key"] == f"dataplane_shared_organizations_{t['organization_id']}_mongodb"


def test_aws_role_is_assumed_by_the_secrets_service_account_and_reaches_its_path_only() -> None:
    t = tenant_file("initech")
    role = next(r for r in of_kind("initech", "Role") if r["metadata"]["name"] == "dp-initech-secrets")
    assert role["apiVersion"].startswith("iam.services.k8s.aws")
    trust = json.loads(role["spec"]["assumeRolePolicyDocument"])["Statement"][0]["Condition"]["StringEquals"]
    assert "system:serviceaccount:tenant-initech:tenant-secrets" in trust.values()
    policy = json.loads(role["spec"]["inlinePolicies"]["secrets-access"])
    assert [s["Resource"] for s in policy["Statement"]] == [
        f"arn:aws:secretsmanager:{t['region']}:{t['cloud_account']}:secret:dataplane/tenants/initech/*"]
    assert not any("*" in a for s in policy["Statement"] for a in s["Action"])


@pytest.mark.parametrize("tenant", TENANTS)
def test_the_secrets_service_account_is_not_the_engines(tenant: str) -> None:
    accounts = {a["metadata"]["name"]: a for a in of_kind(tenant, "ServiceAccount")}
    sa = accounts[tenant_secrets.SERVICE_ACCOUNT]
    assert sa["automountServiceAccountToken"] is False
    keys = ("iam.gke.io/gcp-service-account", "eks.amazonaws.com/role-arn")
    identity = next(v for k, v in sa["metadata"]["annotations"].items() if k in keys)
    engine = next(v for k, v in accounts["ray-worker"]["metadata"]["annotations"].items() if k in keys)  # the bucket's
    assert identity != engine and ("secrets" in identity or "dps-" in identity)
    for kind in ("Deployment", "StatefulSet", "RayService", "Job"):
        assert tenant_secrets.SERVICE_ACCOUNT not in yaml.safe_dump(of_kind(tenant, kind)), f"a {kind} runs as it"


def test_a_gcp_project_without_a_number_is_a_problem_at_its_key(tmp_path) -> None:
    """IAM conditions need the project number: validate names the tenant's key and the fix."""
    from render.validate import validate_repo
    from tests.support import RELEASE_YAML, memory_repo, tenant_yaml

    text = tenant_yaml("wayne").replace("cloud_account: dp-tenants\n", "cloud_account: dp-unknown-project\n")
    repo = memory_repo({"wayne": (text, "{}\n", RELEASE_YAML), "acme": (tenant_yaml("acme"), "{}\n", RELEASE_YAML)})
    problems = validate_repo(repo)
    assert [(p.file, p.pointer) for p in problems] == [("tenants/wayne/tenant.yaml", "cloud_account")]
    assert "secret_stores.gcp_project_numbers" in problems[0].message and "projectNumber" in problems[0].hint


@pytest.mark.parametrize("cloud, region, mode", [("gcp", "us-east4", "dedicated_instance"),
                                                 ("aws", "eu-west-1", "dedicated_instance")])
def test_new_tenant_needs_no_secret_made_by_hand_but_its_vector_store_token(tmp_path, cloud: str, region: str,
                                                                            mode: str) -> None:
    """`new-tenant` + render: every key the tenant's ExternalSecrets read is written by one
    of its own PushSecrets, except the vector-store token the platform issues."""
    from tests.support import copy_repo, dataplane, rendered_objects

    root = copy_repo(tmp_path)
    args = ["--cloud-account", "123456789012"] if cloud == "aws" else []
    assert dataplane(root, "new-tenant", "wayne", "--cloud", cloud, "--region", region, "--organization-id",
                     "org_9a7e0001", *args) == 0
    assert dataplane(root, "render", "wayne") == 0
    objs = rendered_objects(root, "wayne")
    pushed = {d["match"]["remoteRef"]["remoteKey"] for o in objs if o["kind"] == "PushSecret" for d in o["spec"]["data"]}
    read = {d["remoteRef"]["key"] for o in objs if o["kind"] == "ExternalSecret" for d in o["spec"]["data"]}
    assert read - pushed == {tenant_secrets.tenant_key(cloud, "wayne", "vector-store")}
    assert {o["kind"] for o in objs} >= {"SecretStore", "Password", "PushSecret", "ServiceAccount"}
    if cloud == "aws":  # outside us-east-1 (initech's), each bucket (data, backups) names its region
        buckets = [o for o in objs if o["kind"] == "Bucket"]
        assert sorted(b["spec"]["name"] for b in buckets) == ["dp-data-wayne", "dp-data-wayne-backups"]
        assert all(b["spec"]["createBucketConfiguration"] == {"locationConstraint": region} for b in buckets)


def _secret_key_refs(obj) -> list[dict]:
    """Every secretKeyRef anywhere in a rendered object."""
    if isinstance(obj, dict):
        return ([obj["secretKeyRef"]] if "secretKeyRef" in obj else []) + [r for v in obj.values() for r in _secret_key_refs(v)]
    return [r for v in obj for r in _secret_key_refs(v)] if isinstance(obj, list) else []


@pytest.mark.parametrize("tenant", TENANTS)
def test_every_secret_key_a_pod_reads_is_defined_once_and_built_by_its_external_secret(tenant: str) -> None:
    """Pods read only the refs of tenant_secrets.REFS, and every ExternalSecret builds exactly
    the keys REFS names for its Secret: renaming a Secret or a key in REFS renames both sides."""
    refs = [r for o in objects(tenant) for r in _secret_key_refs(o)]
    assert refs, "the engine's pods read their credentials from Secrets"
    known = list(tenant_secrets.REFS.values())
    assert [r for r in refs if r not in known] == []
    for es in of_kind(tenant, "ExternalSecret"):
        name = es["spec"]["target"]["name"]
        template = es["spec"]["target"].get("template")
        built = set(template["data"]) if template else {d["secretKey"] for d in es["spec"]["data"]}
        assert built == {r["key"] for r in known if r["name"] == name}, name


def test_the_engine_env_reads_the_same_key_under_one_name_in_every_pod() -> None:
    """MONGO_URI, REDIS_URL, ... mean the same Secret key in the Ray and the Celery pods."""
    seen: dict[str, dict] = {}
    for tenant in TENANTS:
        for o in objects(tenant):
            for e in _env_entries(o):
                ref = e.get("valueFrom", {}).get("secretKeyRef")
                if ref and e["name"] in tenant_secrets.ENGINE_SECRET_ENV:
                    assert seen.setdefault(e["name"], ref) == ref, e["name"]
    assert set(seen) == set(tenant_secrets.ENGINE_SECRET_ENV)


def _env_entries(obj) -> list[dict]:
    if isinstance(obj, dict):
        own = obj["env"] if isinstance(obj.get("env"), list) else []
        return own + [e for v in obj.values() for e in _env_entries(v)]
    return [e for v in obj for e in _env_entries(v)] if isinstance(obj, list) else []
