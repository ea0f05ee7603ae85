"""The interface every cloud implements (render/clouds/gcp.py, aws.py, registered in
render/clouds/__init__.py `CLOUDS`).

Every decision that differs between clouds is a member here, so a cloud missing one is a
type error (mypy checks each registered class against this Protocol) and an import error
(`__init__` refuses a class that leaves a member out), never a fall-through to another
cloud's behaviour. Members take plain data (a tenant's tenant.yaml values, the template
context being built) and return plain data; none does I/O.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from render.context_types import BaseContext, CloudSecrets, CloudStorage, ClusterFacts
from render.problems import Problem
from render.yamlstrict import Document

# tenant.yaml values: read-only, and not TenantSpec, since validation and quota counting pass
# them before the schema has run (or partial: dataplane new-tenant counts a tenant not yet written).
Tenant = Mapping[str, Any]
Context = BaseContext  # the template context being built (render/context.py), its first stage
MI = Decimal(2) ** 20
GI = Decimal(2) ** 30


@dataclass(frozen=True)
class BackupTool:
    """The cloud's CLI that copies a file to and from the backup bucket, as the pod's identity."""

    image: str  # a registry/platform.yaml `images` key
    copy: str  # the command, then source and destination
    env: Callable[[Tenant], list[dict[str, Any]]]  # the CLI's env in the pod


@dataclass(frozen=True)
class SchemaBlocks:
    """The cloud's own JSON-schema block at each place of render/schemas/ that holds one per
    cloud; `dataplane render` writes them there (render/clouds/schemas.py `BLOCKS`)."""

    storage_provisioner: dict[str, Any]  # platform: datastores.storage_provisioners.<cloud>
    storage_class: dict[str, Any]  # platform: datastores.storage_class.<cloud>
    retention_bucket: dict[str, Any]  # platform: offboarding.retention_bucket.<cloud>
    identity_endpoints: dict[str, Any]  # platform: network.identity_endpoints.<cloud>
    daemonset_budget: dict[str, Any]  # platform: nodes.daemonset_budget.<cloud>
    pool_machine: dict[str, Any]  # platform: nodes.pools.<pool>.machine.<cloud>
    pool_labels: dict[str, Any]  # platform: nodes.pools.<pool>.labels.<cloud>
    prices: dict[str, Any]  # prices: clouds.<cloud> (its regions)


class Cloud(Protocol):
    # -- facts: tenant.yaml formats, new-tenant and new-cluster (render/validate/cloud_rules.py)
    name: str  # the tenant.yaml `cloud` value
    account_noun: str  # what tenant.yaml `cloud_account` holds on this cloud
    account: re.Pattern[str]
    account_hint: str
    region: re.Pattern[str]
    region_example: str
    cluster_prefix: str  # clusters are named <prefix>-<region> by convention (new-tenant's default)
    default_account: str | None  # new-tenant's default cloud_account; None: the flag is required
    # Facts `dataplane new-cluster` needs beyond the ones every cloud has, with their example.
    cluster_facts: tuple[tuple[str, str], ...]
    # The account quotas each tenant uses (registry/platform.yaml cloud_accounts, render/quotas.py),
    # with where the cloud states them.
    quotas: tuple[tuple[str, str], ...]
    # The longest tenant name whose cloud identities still fit the cloud's name limits.
    name_max: int
    # What a worker group's `machine.<cloud>` names, in the schema's and docs' words, and an
    # example of a large one.
    machine_words: str
    machine_example: str
    # Its entries in the schemas' per-cloud blocks (registry/platform.yaml's, prices.yaml's).
    schema_blocks: SchemaBlocks

    def cluster_name(self, region: str) -> str: ...

    # -- the data bucket and the engine's identity (base/clouds/<name>/storage.yaml.j2)
    bucket_scheme: str  # of a bucket URL: gs://, s3://
    bucket_kind: str  # the kind of the bucket object it renders (validate --deep tells a namespace's cloud by it)
    bucket_env: str  # the engine env var naming its bucket
    identity_annotation: str  # the ServiceAccount annotation naming the cloud identity it acts as
    # (API group suffix of the controller managing its objects, the annotation and value that
    # keep an object's cloud resource when the object is deleted: a cluster move, render/move/).
    keep_on_delete: tuple[str, str, str]

    def engine_account(self, name: str) -> str:
        """The engine's cloud identity's own name (a service account id, a role name)."""
        ...

    def engine_identity(self, t: Tenant) -> str:
        """The cloud identity the engine's ServiceAccounts act as."""
        ...

    def engine_env(self, t: Tenant) -> dict[str, str]:
        """Env the cloud's SDKs need in the engine's pods beyond the bucket's name."""
        ...

    def serve_service_annotations(self) -> dict[str, str]:
        """An internal load balancer for the tenant's Serve Service."""
        ...

    def storage_context(self, ctx: Context) -> CloudStorage:
        """The template context's keys only this cloud's templates read (the bucket's and the
        engine identity's objects), added to the context as they are."""
        ...

    # -- the tenant's secret store (render/tenant_secrets.py, base/secrets.yaml.j2)
    secret_provider: str  # the SecretStore spec.provider key
    secret_backend: str  # the backend's name, as a user reads it

    def remote_key(self, path: str) -> str:
        """A logical secret path (a/b/c) as the backend names it."""
        ...

    def secrets_identity(self, t: Tenant) -> str:
        """The cloud identity used by the secret store only (never the engine's)."""
        ...

    def secret_store_provider(self, t: Tenant, service_account: str) -> dict[str, Any]:
        """SecretStore spec.provider: the tenant's backend, as `service_account`'s identity."""
        ...

    def secrets_context(self, t: Tenant, own_prefix: str, migration_prefix: str | None, platform: dict[str, Any],
                        cluster: ClusterFacts, service_account: str) -> CloudSecrets:
        """The secrets identity's objects' values (`secrets.<name>` of the context): granted
        keys under `own_prefix`, and read of `migration_prefix` during a migration."""
        ...

    def secret_store_problems(self, tenant: Document, platform: Document) -> list[Problem]:
        """What the platform must record before a tenant's store can be rendered."""
        ...

    def secret_store_rule(self, provider: str, service_account: str) -> str:
        """CEL: the store's provider at `provider` sets exactly the fields rendered here and
        authenticates as ServiceAccount `service_account` (both CEL expressions)."""
        ...

    def secret_store_params(self, t: Tenant) -> dict[str, str]:
        """Entries of the namespace's admission parameter object the store rule below reads."""
        ...

    def secret_store_account_rule(self, params: str) -> dict[str, str] | None:
        """A validation (expression, messageExpression, reason) keeping the store to the
        tenant's own account, read from `params` (the parameter object's data); None when
        the provider names no account (render/admission/secret_policy.py)."""
        ...

    # -- backups (render/backup_storage.py, render/backups.py)
    backup_tool: BackupTool
    backup_kept_after_expiry_days: int  # days an expired backup is still stored (and billed)

    def backup_identity(self, t: Tenant, role: str) -> str:
        """The cloud identity of the backup or restore ServiceAccount."""
        ...

    def backup_lifecycle(self, folder: str, days: int) -> dict[str, Any]:
        """One lifecycle rule: delete the objects under `folder` after `days`."""
        ...

    def backup_objects(self, ctx: Context, rules: list[dict[str, Any]], lock_days: int) -> list[dict[str, Any]]:
        """The backup bucket (retention locked `lock_days`) and the backup and restore identities."""
        ...

    def sync_command(self, src: str, dst: str) -> str:
        """Shell: copy a bucket folder to another (the offboarding copy)."""
        ...

    def list_command(self, url: str) -> str:
        """Shell: the object URLs in one bucket folder, one a line (a move's wait)."""
        ...

    # -- account quotas (render/quotas.py) and the node model (render/capacity.py)
    def quota_usage(self, t: Tenant, platform: dict[str, Any], own_prefix: str, migration_prefix: str | None,
                    backup_identities: int) -> dict[str, int]:
        """What one tenant adds to its cloud account, by quota (`quotas` names): the prefixes
        are `secrets_context`'s, `backup_identities` how many backup identities there are."""
        ...

    def reserved_memory(self, memory: Decimal, machine: dict[str, Any]) -> Decimal:
        """Bytes of a node's memory the cloud's kubelet reserves (eviction threshold apart)."""
        ...


def members() -> list[str]:
    """Every member of the Cloud interface, attributes and methods."""
    own = {k for k in vars(Cloud) if not k.startswith("_")}
    return sorted(own | set(Cloud.__annotations__))


# -- helpers the cloud modules share --------------------------------------------------

def cel(value: Any) -> str:
    """A CEL literal (strings, lists of strings): JSON's syntax is CEL's for these."""
    return json.dumps(value)


def none_of(obj: str, fields: tuple[str, ...], defaults: dict[str, str]) -> str:
    """CEL: `obj` sets none of `fields`, but for a field at its CRD default (`defaults`: the
    API server sets them before admission, so each may be present at its default only)."""
    return " && ".join(f"(!has({obj}.{f}) || {obj}.{f} == {cel(defaults[f])})" if f in defaults
                       else f"!has({obj}.{f})" for f in fields)


def tiered(amount: Decimal, steps: tuple[tuple[Decimal | None, Decimal], ...]) -> Decimal:
    """A reservation charged by tiers: each (size, rate) takes `rate` of the next `size` of
    `amount` (None: the rest)."""
    out, left = Decimal(0), amount
    for size, rate in steps:
        part = left if size is None else min(left, size)
        out += part * rate
        left -= part
        if left <= 0:
            break
    return out


# The schema blocks whose shape is every cloud's (only their words name the cloud).

def provisioner_block(words: str) -> dict[str, Any]:
    return {"description": f"{words}: the class's CSI driver and parameters.", "type": "object",
            "additionalProperties": False,
            "properties": {"provisioner": {"description": "CSI driver, e.g. pd.csi.storage.gke.io.", "type": "string",
                                           "minLength": 1},
                           "parameters": {"description": "The driver's parameters (disk type, encryption).",
                                          "type": "object",
                                          "additionalProperties": {"description": "A parameter's value.",
                                                                   "type": "string"}}},
            "required": ["provisioner"]}


def token_endpoints(name: str) -> dict[str, Any]:
    endpoint = {"type": "object", "additionalProperties": False, "required": ["cidr", "port"],
                "properties": {"cidr": {"description": "A CIDR, e.g. 10.0.0.0/8.", "type": "string",
                                        "pattern": "^[0-9.]+/[0-9]+$"},
                               "port": {"type": "integer", "minimum": 1, "maximum": 65535,
                                        "description": "Its TCP port."}},
                "description": "One endpoint."}
    return {"type": "array", "items": endpoint, "description": f"{name}: token endpoints (address and port)."}


def daemonset_budget(name: str) -> dict[str, Any]:
    quantity = {"description": "A Kubernetes quantity.", "type": ["string", "integer"]}
    return {"type": "object", "additionalProperties": False, "required": ["cpu", "memory"],
            "properties": {"cpu": quantity, "memory": dict(quantity)}, "description": f"On {name} nodes."}


def node_labels() -> dict[str, Any]:
    return {"type": "object", "description": "Node labels: name -> value.",
            "additionalProperties": {"type": "string", "description": "A node label value."}}


def region_prices(words: str) -> dict[str, Any]:
    def usd(per: str) -> dict[str, Any]:
        return {"type": "number", "minimum": 0, "description": f"USD per {per}."}

    units = {"vcpu_hour": usd("vCPU-hour"), "gib_hour": usd("GiB-hour of memory"),
             "l4_gpu_hour": usd("NVIDIA L4 GPU-hour"), "storage_gib_month": usd("GiB-month of persistent disk"),
             "bucket_gib_month": usd("GiB-month of object storage in the tenant's bucket (standard class)"),
             "egress_gib": usd("GiB of network egress to the internet (first pricing tier)")}
    return {"type": "object", "description": f"{words} regions.",
            "additionalProperties": {"type": "object", "additionalProperties": False, "required": list(units),
                                     "properties": units}}
