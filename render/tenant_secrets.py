"""A tenant's own secret store: names, remote keys, IAM grants and Secret templates.

Every string base/secrets.yaml.j2 prints is computed here, and the secrets identity's IAM
objects by the tenant's cloud (render/clouds/ `secrets_context`; docs/security.md,
"Secrets"). Pure: a tenant's values in, plain data out.

Remote keys are logical paths, `dataplane/tenants/<name>/<service>`, spelt as the tenant's
cloud's backend names them (render/clouds/ `remote_key`: AWS Secrets Manager takes paths;
GCP Secret Manager ids allow only [A-Za-z0-9_-], so '/' becomes '_'). A tenant name is a
DNS-1123 label (no '_'), so on either cloud the prefix ends in a character no tenant name
holds, and no tenant's prefix starts another's (`acme` vs `acme--prod`). Organization ids
are `org_<alnum>` (one '_', after "org"), so the same holds for the shared platform's
organization prefixes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from render import clouds
from render.context_types import CloudSecrets, ClusterFacts, Names, Ports, Secrets, TenantSpec

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
    return clouds.get(cloud).remote_key(path)


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


def cloud_identity(t: TenantSpec) -> str:
    """The cloud identity used for secrets only (never the engine's)."""
    return clouds.get(t["cloud"]).secrets_identity(t)


def generated_services(t: TenantSpec) -> list[str]:
    """Services whose password the cluster generates. A database on the platform's shared
    instance gets its user, and so its password, from the platform (docs/onboarding.md)."""
    dedicated = t["database"]["mode"] == "dedicated_instance"
    return [s for s in GENERATED if s != "mongodb" or dedicated]


def context(t: TenantSpec, names: Names, ports: Ports, platform: dict[str, Any],
            migrating: bool, cluster: ClusterFacts) -> Secrets:
    """`secrets` of the template context."""
    cloud, name = t["cloud"], t["name"]
    return {
        "store": STORE,
        "service_account": SERVICE_ACCOUNT,
        "identity": cloud_identity(t),
        # The ServiceAccount's annotation binding it to that identity.
        "annotations": {clouds.get(cloud).identity_annotation: cloud_identity(t)},
        "provider": clouds.get(cloud).secret_store_provider(t, SERVICE_ACCOUNT),
        "generated": [{"name": f"{service}-password", "remote_key": tenant_key(cloud, name, service),
                       "property": PASSWORD_PROPERTY} for service in generated_services(t)],
        "password_spec": PASSWORD_SPEC,
        "external": _external(t, names, ports),
        "refs": {ref: secret_key_ref(ref) for ref in REFS},
        "identity_wave": str(WAVES["identity"]),
        **cloud_context(t, platform, migrating, cluster),
    }


def cloud_context(t: TenantSpec, platform: dict[str, Any], migrating: bool, cluster: ClusterFacts) -> CloudSecrets:
    """The secrets identity's objects' values, as the tenant's cloud builds them (`secrets.<cloud>`):
    granted the tenant's own keys, and during a migration read of its organization's on the
    shared platform."""
    own, source = secret_prefixes(t, platform, migrating)
    return clouds.get(t["cloud"]).secrets_context(t, own, source, platform, cluster, SERVICE_ACCOUNT)


def secret_prefixes(t: Mapping[str, Any], platform: dict[str, Any], migrating: bool) -> tuple[str, str | None]:
    """The remote key prefixes the secrets identity is granted: the tenant's own, and during a
    migration its organization's on the shared platform (read only); None otherwise."""
    cloud = t["cloud"]
    source = (organization_prefix(cloud, platform["shared_platform"]["secret_prefix"], t["organization_id"])
              if migrating else None)
    return tenant_prefix(cloud, t["name"]), source


def _external(t: TenantSpec, names: Names, ports: Ports) -> list[dict[str, Any]]:
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
