"""Google Cloud: GKE, a GCS data bucket, Workload Identity, Secret Manager.

The cloud's objects are Config Connector kinds (namespaced mode): base/clouds/gcp/ renders
the data bucket and the engine's and the secret store's identities from `storage_context`
and `secrets_context`; the backup bucket is built here (`backup_objects`). Pure.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from render import layout, security
from render.clouds.base import (
    GI,
    BackupTool,
    Context,
    SchemaBlocks,
    Tenant,
    cel,
    daemonset_budget,
    node_labels,
    none_of,
    provisioner_block,
    region_prices,
    tiered,
    token_endpoints,
)
from render.context_types import CloudSecrets, CloudStorage, ClusterFacts
from render.problems import Problem
from render.yamlstrict import Document

# GKE memory reservation (cloud.google.com/kubernetes-engine/docs/concepts/plan-node-sizes):
# 25% of the first 4 GiB, 20% of the next 4, 10% of the next 8, 6% of the next 112, 2% above 128.
MEMORY_STEPS = ((4 * GI, Decimal("0.25")), (4 * GI, Decimal("0.20")), (8 * GI, Decimal("0.10")),
                (112 * GI, Decimal("0.06")), (None, Decimal("0.02")))
# GCS soft delete: a deleted backup can be recovered this long (and is billed meanwhile).
SOFT_DELETE_DAYS = 7
DAY_S = 86400
# Predefined roles (cloud.google.com/storage/docs/access-control/iam-roles, read 2026-12-07)
# and the permissions each contains, listed so the tests can prove none deletes or
# overwrites. objectCreator cannot replace an object: replacing needs storage.objects.delete.
GCS_ROLES: dict[str, tuple[str, ...]] = {
    "roles/storage.objectCreator": (
        "orgpolicy.policy.get", "resourcemanager.projects.get", "resourcemanager.projects.list",
        "storage.managedFolders.create", "storage.multipartUploads.abort", "storage.multipartUploads.create",
        "storage.multipartUploads.listParts", "storage.objects.create"),
    "roles/storage.objectViewer": (
        "resourcemanager.projects.get", "resourcemanager.projects.list", "storage.managedFolders.get",
        "storage.managedFolders.list", "storage.objects.get", "storage.objects.list"),
}
GRANTS = {"backup": "roles/storage.objectCreator", "restore": "roles/storage.objectViewer"}
# The SecretStore's gcpsm fields the platform renders, and the CRD's others, refused one by
# one by the admission policy (tests/conformance/test_admission_secrets.py derives them from the CRD).
STORE_FIELDS = ("projectID", "auth")
STORE_IDENTITY_FIELDS = ("clusterLocation", "clusterName", "clusterProjectID", "serviceAccountRef")
STORE_OTHER_FIELDS = ("location", "secretVersionSelectionPolicy")
STORE_OTHER_AUTH = ("secretRef", "workloadIdentityFederation")
STORE_DEFAULTS = {"secretVersionSelectionPolicy": "LatestOrFail"}
# The namespace's parameter naming the project its store may name (render/admission/params.py).
PROJECT_PARAM = "secret-store.gcp-project"
SECRET_ROLES = ("roles/secretmanager.secretAccessor", "roles/secretmanager.secretVersionAdder",
                "roles/secretmanager.viewer")
CONFIG_CONNECTOR = "cnrm.cloud.google.com"


def workload_member(project: str, namespace: str, account: str) -> str:
    """The IAM member a GKE ServiceAccount is under Workload Identity."""
    return f"serviceAccount:{project}.svc.id.goog[{namespace}/{account}]"


def _account_email(account_id: str, project: str) -> str:
    return f"{account_id}@{project}.iam.gserviceaccount.com"


def _secrets_account(name: str) -> str:
    return f"dps-{name}"


def _backup_account(name: str, role: str) -> str:
    return f"dp{role[0]}-{name}"  # dpb-<name>, dpr-<name>: beside the engine's dp-<name> and secrets' dps-<name>


def secret_condition(project_number: str, prefix: str, title: str) -> dict[str, str]:
    """IAM condition: secrets (and their versions) whose id starts with `prefix`."""
    return {"title": title, "description": f"Secret Manager secrets {prefix}* only",
            "expression": f'resource.name.startsWith("projects/{project_number}/secrets/{prefix}")'}


def _project_number(t: Tenant, platform: dict[str, Any]) -> str:
    return str(platform["secret_stores"]["gcp_project_numbers"].get(t["cloud_account"], ""))


class GCP:
    name = "gcp"
    account_noun = "GCP project id"
    # Project ids: 6 to 30 characters, lower-case letters, digits and '-', starting with
    # a letter and not ending with '-' (cloud.google.com/resource-manager/docs/creating-managing-projects).
    account = re.compile(r"[a-z][a-z0-9-]{4,28}[a-z0-9]")
    account_hint = ("a GCP project id: 6 to 30 lower-case letters, digits and '-', starting with a letter, "
                    "e.g. dp-tenants-prod")
    region = re.compile(r"[a-z]+-[a-z]+[0-9]+")
    region_example = "us-central1"
    cluster_prefix = "dp-gke"
    default_account: str | None = "dp-tenants"
    cluster_facts: tuple[tuple[str, str], ...] = ()
    quotas: tuple[tuple[str, str], ...] = (
        # "All members (including Google groups) in all bindings within a policy: 1,500" (a limit).
        ("iam_policy_members", "cloud.google.com/iam/quotas, Limits: policies and bindings"),
        # "Number of service accounts: 100" per project by default (a quota: raise it by request).
        ("service_accounts", "cloud.google.com/iam/quotas, Quotas: service accounts"),
    )
    # Service account ids are 6 to 30 characters (cloud.google.com/iam/docs/service-accounts-create);
    # the tenant's are dp-, dps-, dpb- and dpr-<name>: 4 + 26.
    name_max = 26
    machine_words = "GCE machine type, e.g. n2-standard-8."
    machine_example = "n2-standard-16"
    schema_blocks = SchemaBlocks(
        storage_provisioner=provisioner_block("GKE"),
        storage_class={"description": "GKE storage class.", "type": "string"},
        retention_bucket={"description": "A gs:// URL.", "type": "string", "pattern": "^gs://[a-z0-9._-]+/?$"},
        identity_endpoints=token_endpoints("gcp"),
        daemonset_budget=daemonset_budget("gcp"),
        pool_machine={"type": "string", "description": "GCE machine type."},
        pool_labels=node_labels(),
        prices=region_prices("GCP"),
    )

    bucket_scheme = "gs://"
    bucket_kind = "StorageBucket"
    bucket_env = "GCS_BUCKET"
    identity_annotation = "iam.gke.io/gcp-service-account"
    keep_on_delete = (f".{CONFIG_CONNECTOR}", f"{CONFIG_CONNECTOR}/deletion-policy", "abandon")
    secret_provider = "gcpsm"
    secret_backend = "GCP Secret Manager"
    # GKE Workload Identity through the metadata server; gcloud keeps its state under /tmp.
    # No parallel composite upload: it deletes its temporary parts, and the backup identity
    # may not delete (it uses a resumable upload instead).
    backup_tool = BackupTool("gcloud_cli", "gcloud storage cp --quiet",
                             lambda t: [{"name": "CLOUDSDK_CONFIG", "value": "/tmp/gcloud"},
                                        {"name": "CLOUDSDK_STORAGE_PARALLEL_COMPOSITE_UPLOAD_ENABLED", "value": "False"}])
    backup_kept_after_expiry_days = SOFT_DELETE_DAYS

    def cluster_name(self, region: str) -> str:
        return f"{self.cluster_prefix}-{region}"

    # -- the data bucket and the engine's identity

    def engine_account(self, name: str) -> str:
        return f"dp-{name}"

    def engine_identity(self, t: Tenant) -> str:
        return _account_email(self.engine_account(t["name"]), t["cloud_account"])

    def engine_env(self, t: Tenant) -> dict[str, str]:
        return {}

    def serve_service_annotations(self) -> dict[str, str]:
        return {"networking.gke.io/load-balancer-type": "Internal"}

    def storage_context(self, ctx: Context) -> CloudStorage:
        # Workload Identity: only the ServiceAccounts of the components that use the bucket.
        project, ns = ctx["tenant"]["cloud_account"], ctx["namespace"]
        return {"bucket_workload_members": [{"account": a, "member": workload_member(project, ns, a)}
                                            for a in ctx["security"]["bucket_users"]]}

    # -- the secret store

    def remote_key(self, path: str) -> str:
        # Secret Manager ids allow only [A-Za-z0-9_-].
        return path.replace("/", "_")

    def secrets_identity(self, t: Tenant) -> str:
        return _account_email(_secrets_account(t["name"]), t["cloud_account"])

    def secret_store_provider(self, t: Tenant, service_account: str) -> dict[str, Any]:
        return {"gcpsm": {"projectID": t["cloud_account"], "auth": {"workloadIdentity": {
            "clusterLocation": t["region"], "clusterName": t["cluster"], "clusterProjectID": t["cloud_account"],
            "serviceAccountRef": {"name": service_account}}}}}

    def secrets_context(self, t: Tenant, own_prefix: str, migration_prefix: str | None, platform: dict[str, Any],
                        cluster: ClusterFacts, service_account: str) -> CloudSecrets:
        return {"gcp": {"account_id": _secrets_account(t["name"]), "project_number": _project_number(t, platform),
                        "workload_member": workload_member(t["cloud_account"], layout.namespace(t["name"]), service_account),
                        "grants": self.secret_grants(t, own_prefix, migration_prefix, platform)}}

    def secret_grants(self, t: Tenant, own_prefix: str, migration_prefix: str | None,
                      platform: dict[str, Any]) -> list[dict[str, Any]]:
        """The secret store identity's conditional grants on the tenant's project: each one a
        member of the project's IAM policy (`quota_usage` counts them)."""
        number = _project_number(t, platform)
        own = secret_condition(number, own_prefix, "tenant-own-secrets")
        grants = [{"name": f"secrets-{role.split('.')[-1].lower()}", "role": role, "condition": own} for role in SECRET_ROLES]
        # secrets.create is checked on the parent project, never on a secret's name: the only
        # grant whose condition is the project itself, and the role's other project-level
        # permissions (list, locations) read no secret value.
        grants.append({"name": "secrets-create", "role": "roles/secretmanager.admin", "condition": {
            "title": "create-only", "description": "project-level permissions only (create, list)",
            "expression": 'resource.type == "cloudresourcemanager.googleapis.com/Project"'}})
        if migration_prefix is not None:
            grants.append({"name": "secrets-migration-source", "role": "roles/secretmanager.secretAccessor",
                           "condition": secret_condition(number, migration_prefix, "migration-source")})
        return grants

    def secret_store_problems(self, tenant: Document, platform: Document) -> list[Problem]:
        """The project has a number in the platform: the secrets identity's IAM conditions
        name secrets by project number."""
        t = tenant.data if isinstance(tenant.data, dict) else {}
        if not isinstance(t.get("cloud_account"), str):
            return []
        p = platform.data if isinstance(platform.data, dict) else {}
        numbers = (p.get("secret_stores") or {}).get("gcp_project_numbers") or {}
        if t["cloud_account"] in numbers:
            return []
        return [tenant.problem(("cloud_account",), f"GCP project {t['cloud_account']!r} has no project number in "
                               f"{layout.PLATFORM_FILE} secret_stores.gcp_project_numbers",
                               "the platform team adds the project's number (gcloud projects describe PROJECT "
                               "--format='value(projectNumber)') before a tenant moves in", at_value=True)]

    def secret_store_rule(self, provider: str, service_account: str) -> str:
        wi = f"{provider}.auth.workloadIdentity"
        return (f"{none_of(provider, STORE_OTHER_FIELDS, STORE_DEFAULTS)} && {none_of(provider + '.auth', STORE_OTHER_AUTH, {})}"
                f" && has({wi}) && {wi}.serviceAccountRef.name == {service_account}"
                f" && !has({wi}.serviceAccountRef.namespace)")

    def secret_store_params(self, t: Tenant) -> dict[str, str]:
        return {PROJECT_PARAM: str(t.get("cloud_account", ""))}

    def secret_store_account_rule(self, params: str) -> dict[str, str] | None:
        """The store names its tenant's own project, for the secrets and the workload identity pool alike."""
        wi = "object.spec.provider.gcpsm.auth.workloadIdentity"
        project = f"{params}[{cel(PROJECT_PARAM)}]"
        return {
            "expression": f"{cel(PROJECT_PARAM)} in {params} && object.spec.provider.gcpsm.projectID == {project}"
                          f" && (!has({wi}) || !has({wi}.clusterProjectID) || {wi}.clusterProjectID == {project})",
            "messageExpression": "'the SecretStore in ' + request.namespace + ' names the GCP project of its tenant, ' + "
                                 f"({cel(PROJECT_PARAM)} in {params} ? {project} : '(none recorded)')",
            "reason": "Forbidden"}

    # -- backups

    def backup_identity(self, t: Tenant, role: str) -> str:
        return _account_email(_backup_account(t["name"], role), t["cloud_account"])

    def backup_lifecycle(self, folder: str, days: int) -> dict[str, Any]:
        return {"action": {"type": "Delete"}, "condition": {"age": days, "matchesPrefix": [folder]}}

    def backup_objects(self, ctx: Context, rules: list[dict[str, Any]], lock_days: int) -> list[dict[str, Any]]:
        t, name, ns = ctx["tenant"], ctx["name"], ctx["namespace"]
        backups, data = ctx["names"]["backup_bucket"], ctx["names"]["bucket"]
        project = {f"{CONFIG_CONNECTOR}/project-id": t["cloud_account"]}
        bucket_ref = {"apiVersion": f"storage.{CONFIG_CONNECTOR}/v1beta1", "kind": "StorageBucket"}
        out: list[dict[str, Any]] = [{
            "apiVersion": f"storage.{CONFIG_CONNECTOR}/v1beta1", "kind": "StorageBucket",
            "metadata": {"name": backups, "annotations": {**project, f"{CONFIG_CONNECTOR}/deletion-policy": "abandon"}},
            # No versioning: GCS refuses it beside a retention policy, which keeps the one version.
            "spec": {"location": ctx["bucket_region"], "storageClass": "STANDARD", "uniformBucketLevelAccess": True,
                     "publicAccessPrevention": "enforced",
                     "retentionPolicy": {"retentionPeriod": lock_days * DAY_S, "isLocked": True},
                     "softDeletePolicy": {"retentionDurationSeconds": SOFT_DELETE_DAYS * DAY_S},
                     "lifecycleRule": rules},
        }]
        for role, grant in GRANTS.items():
            account = _backup_account(name, role)
            out.append({"apiVersion": f"iam.{CONFIG_CONNECTOR}/v1beta1", "kind": "IAMServiceAccount",
                        "metadata": {"name": account, "annotations": dict(project)},
                        "spec": {"displayName": f"{role.capitalize()}s of {name}: {grant.rsplit('.', 1)[1]} on its backups"}})
            member = f"serviceAccount:{self.backup_identity(t, role)}"
            for target in [backups] + ([data] if role == "restore" else []):
                what = "backups" if target == backups else "data"
                out.append({"apiVersion": f"iam.{CONFIG_CONNECTOR}/v1beta1", "kind": "IAMPolicyMember",
                            "metadata": {"name": f"{role}-{what}-{grant.rsplit('.', 1)[1].lower()}"},
                            "spec": {"member": member, "role": grant, "resourceRef": {**bucket_ref, "name": target}}})
            out.append({"apiVersion": f"iam.{CONFIG_CONNECTOR}/v1beta1", "kind": "IAMPolicyMember",
                        "metadata": {"name": f"{role}-workload-identity-user"},
                        "spec": {"member": workload_member(t["cloud_account"], ns, security.SERVICE_ACCOUNTS[role]),
                                 "role": "roles/iam.workloadIdentityUser",
                                 "resourceRef": {"apiVersion": f"iam.{CONFIG_CONNECTOR}/v1beta1", "kind": "IAMServiceAccount",
                                                 "name": account}}})
        return out

    def sync_command(self, src: str, dst: str) -> str:
        return f'gcloud storage rsync --recursive --quiet "{src}" "{dst}"'

    def list_command(self, url: str) -> str:
        return f'gcloud storage ls "{url}" 2>/dev/null'

    # -- quotas and nodes

    def quota_usage(self, t: Tenant, platform: dict[str, Any], own_prefix: str, migration_prefix: str | None,
                    backup_identities: int) -> dict[str, int]:
        return {
            # Project-level IAMPolicyMembers: the secret store's conditional grants.
            "iam_policy_members": len(self.secret_grants(t, own_prefix, migration_prefix, platform)),
            # IAMServiceAccounts: the engine's (dp-<name>), the secret store's (dps-<name>), and
            # the backup and restore identities (dpb-, dpr-<name>).
            "service_accounts": 2 + backup_identities,
        }

    def reserved_memory(self, memory: Decimal, machine: dict[str, Any]) -> Decimal:
        return tiered(memory, MEMORY_STEPS)
