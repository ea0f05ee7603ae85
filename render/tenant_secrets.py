"""A tenant's own secret store: names, remote keys, IAM grants and Secret templates.

Every string base/secrets.yaml.j2 and the secrets identity's IAM objects print is
computed here (docs/security.md, "Secrets"). Pure: a tenant's values in, plain data out.

Remote keys. AWS Secrets Manager takes paths: a tenant's keys live under
`dataplane/tenants/<name>/`. GCP Secret Manager ids allow only [A-Za-z0-9_-], so '/'
becomes '_': `dataplane_tenants_<name>_`. A tenant name is a DNS-1123 label (no '_'),
so on either cloud the prefix ends in a character no tenant name holds, and no tenant's
prefix starts another's (`acme` vs `acme--prod`). Organization ids are `org_<alnum>`
(one '_', after "org"), so the same holds for the shared platform's organization prefixes.
"""

from __future__ import annotations

import json
from typing import Any

from render import layout, security

# The tenant's store and the ServiceAccount it authenticates as: the same in every
# tenant namespace, so the admission policy can name them (render/admission/secret_policy.py).
STORE = "tenant-secrets"
SERVICE_ACCOUNT = "tenant-secrets"
TENANTS_ROOT = "dataplane/tenants"
# Services whose password is generated in the cluster (Password generator + PushSecret).
# The vector store's per-tenant JWT is issued by a platform step (docs/onboarding.md).
GENERATED = ("mongodb", "redis")
# Sync waves of the secret chain, each after what it needs to be healthy (ArgoCD waits for
# a wave's health before the next): the identity (ServiceAccount, cloud IAM) and the
# password generators, then the store that authenticates as it, then the PushSecrets
# that write the generated passwords through it, then the ExternalSecrets that read them.
WAVES = {"identity": -4, "store": -3, "push": -2, "read": -1}
PASSWORD_PROPERTY = "password"
API_KEY_PROPERTY = "api-key"
# Letters and digits only: the password goes into mongodb:// and redis:// URIs as is.
PASSWORD_SPEC = {"length": 32, "digits": 8, "symbols": 0, "noUpper": False, "allowRepeat": True, "encoding": "raw"}
# ESO template placeholder; templates receive it as a value (|j), so Jinja never parses it.
PASSWORD_VAR = "{{ .password }}"
# In a URL the password is escaped (Go's urlquery), should a rotation ever bring symbols.
PASSWORD_IN_URL = "{{ .password | urlquery }}"
API_KEY_VAR = "{{ .apikey }}"
# The Secrets the ExternalSecrets produce in the tenant namespace, and every key a pod reads
# from them, named as templates ask for it (`secrets.refs.<name>`: a secretKeyRef). The
# ExternalSecrets below build exactly these keys, so a rename here renames both sides.
MONGODB_SECRET = "mongodb-credentials"
REDIS_SECRET = "redis-credentials"
VECTOR_STORE_SECRET = "vector-store-credentials"
MIGRATION_SOURCE_SECRET = "migration-source-credentials"  # base/migration.yaml.j2, while a Job is due
REFS: dict[str, dict[str, str]] = {
    "mongodb_uri": {"name": MONGODB_SECRET, "key": "uri"},
    "mongodb_username": {"name": MONGODB_SECRET, "key": "username"},
    "mongodb_password": {"name": MONGODB_SECRET, "key": "password"},
    "redis_password": {"name": REDIS_SECRET, "key": "password"},
    "redis_url": {"name": REDIS_SECRET, "key": "url"},
    "redis_broker_url": {"name": REDIS_SECRET, "key": "broker-url"},
    "redis_result_backend_url": {"name": REDIS_SECRET, "key": "result-backend-url"},
    "vector_store_api_key": {"name": VECTOR_STORE_SECRET, "key": "api-key"},
    "migration_source_uri": {"name": MIGRATION_SOURCE_SECRET, "key": "uri"},
}


def secret_key_ref(ref: str) -> dict[str, str]:
    """A secretKeyRef to one of REFS (a fresh dict: templates and callers may not share it)."""
    return dict(REFS[ref])


def env_from_secret(var: str, ref: str) -> dict[str, Any]:
    """A container env entry reading one of REFS."""
    return {"name": var, "valueFrom": {"secretKeyRef": secret_key_ref(ref)}}


# Env vars the engine's pods (Ray, Celery) read from the Secrets: one name for each key.
ENGINE_SECRET_ENV = {
    "MONGO_URI": "mongodb_uri",
    "REDIS_URL": "redis_url",
    "REDIS_PASSWORD": "redis_password",
    "QDRANT_API_KEY": "vector_store_api_key",
    "CELERY_BROKER_URL": "redis_broker_url",
    "CELERY_RESULT_BACKEND": "redis_result_backend_url",
}


def engine_env(*names: str) -> list[dict[str, Any]]:
    """The env entries of ENGINE_SECRET_ENV `names`, in that order."""
    return [env_from_secret(var, ENGINE_SECRET_ENV[var]) for var in names]


def _key(ref: str) -> str:
    return REFS[ref]["key"]


def remote_key(cloud: str, path: str) -> str:
    """A logical path (a/b/c) as the backend names it."""
    return path.replace("/", "_") if cloud == "gcp" else path


def tenant_prefix(cloud: str, name: str) -> str:
    """Every remote key of tenant `name` starts with this, and no other tenant's does."""
    return remote_key(cloud, f"{TENANTS_ROOT}/{name}/")


def organization_prefix(cloud: str, shared_prefix: str, org: str) -> str:
    """The shared platform's credentials of one organization (read during a migration)."""
    return remote_key(cloud, f"{shared_prefix.strip('/')}/organizations/{org}/")


def tenant_key(cloud: str, name: str, service: str) -> str:
    return tenant_prefix(cloud, name) + service


def organization_key(cloud: str, shared_prefix: str, org: str, service: str) -> str:
    return organization_prefix(cloud, shared_prefix, org) + service


def cloud_identity(t: dict[str, Any]) -> str:
    """The cloud identity used for secrets only (never the engine's)."""
    if t["cloud"] == "gcp":
        return f"{gcp_account_id(t['name'])}@{t['cloud_account']}.iam.gserviceaccount.com"
    return f"arn:aws:iam::{t['cloud_account']}:role/{aws_role_name(t['name'])}"


def gcp_account_id(name: str) -> str:
    return f"dps-{name}"


def aws_role_name(name: str) -> str:
    return f"dp-{name}-secrets"


def generated_services(t: dict[str, Any]) -> list[str]:
    """Services whose password the cluster generates. A database on the platform's shared
    instance gets its user, and so its password, from the platform (docs/onboarding.md)."""
    dedicated = t["database"]["mode"] == "dedicated_instance"
    return [s for s in GENERATED if s != "mongodb" or dedicated]


def context(t: dict[str, Any], names: dict[str, str], ports: dict[str, int], platform: dict[str, Any],
            migrating: bool, cluster: dict[str, Any]) -> dict[str, Any]:
    """`secrets` of the template context."""
    cloud, name = t["cloud"], t["name"]
    out: dict[str, Any] = {
        "store": STORE,
        "service_account": SERVICE_ACCOUNT,
        "identity": cloud_identity(t),
        "provider": _provider(t),
        "generated": [{"name": f"{service}-password", "remote_key": tenant_key(cloud, name, service),
                       "property": PASSWORD_PROPERTY} for service in generated_services(t)],
        "password_spec": PASSWORD_SPEC,
        "external": _external(t, names, ports),
        "refs": {ref: secret_key_ref(ref) for ref in REFS},
        "identity_wave": str(WAVES["identity"]),
    }
    if cloud == "gcp":
        out["gcp"] = _gcp(t, platform, migrating)
    else:
        out["aws"] = _aws(t, platform, migrating, cluster)
    return out


def _provider(t: dict[str, Any]) -> dict[str, Any]:
    """SecretStore spec.provider: the tenant's backend, as its secrets identity."""
    sa = {"serviceAccountRef": {"name": SERVICE_ACCOUNT}}
    if t["cloud"] == "gcp":
        return {"gcpsm": {"projectID": t["cloud_account"], "auth": {"workloadIdentity": {
            "clusterLocation": t["region"], "clusterName": t["cluster"], "clusterProjectID": t["cloud_account"], **sa}}}}
    return {"aws": {"service": "SecretsManager", "region": t["region"], "auth": {"jwt": sa}}}


def _external(t: dict[str, Any], names: dict[str, str], ports: dict[str, int]) -> list[dict[str, Any]]:
    """The three ExternalSecrets: Secret name, what it reads, the keys it builds."""
    cloud, name = t["cloud"], t["name"]
    user = names["database"]
    mongo_uri = (f"mongodb://{user}:{PASSWORD_IN_URL}@{names['mongodb_host']}:{ports['mongodb']}/{names['database']}"
                 "?authSource=admin")
    redis_url = f"redis://:{PASSWORD_IN_URL}@{names['redis_host']}:{ports['redis']}/0"
    pw = {"password": {"key": tenant_key(cloud, name, "mongodb"), "property": PASSWORD_PROPERTY}}
    return [
        {"secret": MONGODB_SECRET, "data": pw,
         "template": {_key("mongodb_uri"): mongo_uri, _key("mongodb_username"): user, _key("mongodb_password"): PASSWORD_VAR}},
        {"secret": REDIS_SECRET,
         "data": {"password": {"key": tenant_key(cloud, name, "redis"), "property": PASSWORD_PROPERTY}},
         # Celery reads CELERY_BROKER_URL / CELERY_RESULT_BACKEND from these (the password never
         # passes through a ConfigMap or the pod spec).
         "template": {_key("redis_password"): PASSWORD_VAR, _key("redis_url"): redis_url, _key("redis_broker_url"): redis_url,
                      _key("redis_result_backend_url"): redis_url.removesuffix("/0") + "/1"}},
        {"secret": VECTOR_STORE_SECRET,
         "data": {"apikey": {"key": tenant_key(cloud, name, "vector-store"), "property": API_KEY_PROPERTY}},
         "template": {_key("vector_store_api_key"): API_KEY_VAR}},
    ]


def gcp_condition(project_number: str, prefix: str, title: str) -> dict[str, str]:
    """IAM condition: secrets (and their versions) whose id starts with `prefix`."""
    return {"title": title, "description": f"Secret Manager secrets {prefix}* only",
            "expression": f'resource.name.startsWith("projects/{project_number}/secrets/{prefix}")'}


def _gcp(t: dict[str, Any], platform: dict[str, Any], migrating: bool) -> dict[str, Any]:
    number = _project_number(t, platform)
    return {"account_id": gcp_account_id(t["name"]), "project_number": number,
            "workload_member": security.gke_workload_member(t["cloud_account"], layout.namespace(t["name"]), SERVICE_ACCOUNT),
            "grants": gcp_project_grants(t, platform, migrating)}


def _project_number(t: dict[str, Any], platform: dict[str, Any]) -> str:
    return str(platform["secret_stores"]["gcp_project_numbers"].get(t["cloud_account"], ""))


def gcp_project_grants(t: dict[str, Any], platform: dict[str, Any], migrating: bool) -> list[dict[str, Any]]:
    """The secret store identity's conditional grants on the tenant's project: each one a
    member of the project's IAM policy (render/quotas.py counts them)."""
    number = _project_number(t, platform)
    own = gcp_condition(number, tenant_prefix("gcp", t["name"]), "tenant-own-secrets")
    grants = [{"name": f"secrets-{role.split('.')[-1].lower()}", "role": role, "condition": own} for role in
              ("roles/secretmanager.secretAccessor", "roles/secretmanager.secretVersionAdder", "roles/secretmanager.viewer")]
    # secrets.create is checked on the parent project, never on a secret's name: the only
    # grant whose condition is the project itself, and the role's other project-level
    # permissions (list, locations) read no secret value.
    grants.append({"name": "secrets-create", "role": "roles/secretmanager.admin", "condition": {
        "title": "create-only", "description": "project-level permissions only (create, list)",
        "expression": 'resource.type == "cloudresourcemanager.googleapis.com/Project"'}})
    if migrating:
        prefix = organization_prefix("gcp", platform["shared_platform"]["secret_prefix"], t["organization_id"])
        grants.append({"name": "secrets-migration-source", "role": "roles/secretmanager.secretAccessor",
                       "condition": gcp_condition(number, prefix, "migration-source")})
    return grants


def aws_policy(t: dict[str, Any], platform: dict[str, Any], migrating: bool) -> str:
    """Inline policy of the secrets role: the tenant's own path; during a migration, read
    of its organization's path on the shared platform."""
    arn = f"arn:aws:secretsmanager:{t['region']}:{t['cloud_account']}:secret:"
    statements = [{"Sid": "TenantOwnSecrets", "Effect": "Allow",
                   "Action": ["secretsmanager:CreateSecret", "secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue",
                              "secretsmanager:PutSecretValue", "secretsmanager:TagResource"],
                   "Resource": arn + tenant_prefix("aws", t["name"]) + "*"}]
    if migrating:
        prefix = organization_prefix("aws", platform["shared_platform"]["secret_prefix"], t["organization_id"])
        statements.append({"Sid": "MigrationSource", "Effect": "Allow",
                           "Action": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"],
                           "Resource": arn + prefix + "*"})
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, sort_keys=True)


def _aws(t: dict[str, Any], platform: dict[str, Any], migrating: bool, cluster: dict[str, Any]) -> dict[str, Any]:
    return {"role": aws_role_name(t["name"]), "policy": aws_policy(t, platform, migrating),
            "trust_policy": irsa_trust_policy(t, cluster, SERVICE_ACCOUNT)}


def irsa_trust_policy(t: dict[str, Any], cluster: dict[str, Any], service_account: str) -> str:
    """Only ServiceAccount `service_account` of this tenant's namespace may assume the role (EKS IRSA)."""
    return security.irsa_trust_policy(t["cloud_account"], str(cluster.get("oidc_issuer", "")),
                                      layout.namespace(t["name"]), [service_account])
