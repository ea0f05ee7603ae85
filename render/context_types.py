"""The shapes of a tenant's effective configuration (render/merge.py) and of its template
context (render/context.py), declared so mypy checks every key Python reads.

They are TypedDicts: at runtime plain dicts, so the templates and the dumpers see exactly
what they saw before; to mypy a misspelled key or a wrong type is an error. A value only
templates read may stay `dict[str, Any]` (said at its key). tests/unit/test_context_types.py
checks that the keys built are the keys declared here, so the two cannot drift apart.

Adding a context key: one line here (in the stage that computes it) and the line of
render/context.py (or the module it names) that computes it. docs/architecture.md says more.
"""

# No `from __future__ import annotations`: TypedDict reads NotRequired from evaluated
# annotations, and the runtime __required_keys__ the tests compare against must be right.
from typing import Any, NotRequired, TypedDict

Quantity = str | int | float  # a Kubernetes quantity as YAML gives it: "7", 7, "26Gi"
Resources = dict[str, str]  # container resources in canonical form (quantity.pod_resources)
Object = dict[str, Any]  # a Kubernetes object or part of one, printed by a template as it is


# -- the effective configuration (merge.py `Effective.values`), schema-checked before merge


class Database(TypedDict):
    mode: str  # dedicated_instance | shared_instance


class VectorStore(TypedDict):
    endpoint: str


class Restore(TypedDict):
    backup: str
    to_time: NotRequired[str]


class TenantSpec(TypedDict):
    """tenant.yaml's values (render/schemas/tenant.schema.json): its required keys, then the
    optional ones (NotRequired: a tenant.yaml without them is valid). The state records
    (migration, move, lifecycle, ...) have their own modules and stay mappings."""

    name: str
    organization_id: str
    cloud: str
    region: str
    cluster: str
    cloud_account: str
    operator_group: str
    database: Database
    vector_store: VectorStore
    display_name: NotRequired[str]
    routing: NotRequired[str]
    lifecycle: NotRequired[dict[str, Any]]  # render/offboarding.py reads it
    suspended: NotRequired[bool]
    migration: NotRequired[dict[str, Any]]  # render/migration.py reads it
    move: NotRequired[dict[str, Any]]  # render/move/record.py reads it
    forks: NotRequired[list[str]]
    rollout: NotRequired[dict[str, Any]]
    contract: NotRequired[dict[str, Any]]  # render/contract.py reads it
    bucket_region: NotRequired[str]
    restore: NotRequired[Restore]


class Release(TypedDict):
    """release.yaml's values (render/schemas/release.schema.json)."""

    platform_version: str
    image: str
    platform_revision: NotRequired[str]
    fork: NotRequired[dict[str, Any]]
    config_deploy: NotRequired[int]
    fork_builds: NotRequired[list[dict[str, Any]]]


class WorkerGroupSpec(TypedDict):
    """One worker group of the `cluster` section: registry/platform.yaml `worker_groups`, then
    overrides.yaml `cluster`."""

    min_replicas: int
    max_replicas: int
    cpu: Quantity
    memory: Quantity
    gpus: int
    ray_resource: str
    replicas: NotRequired[int]
    machine: NotRequired[dict[str, str]]  # machine type per cloud
    accelerator: NotRequired[str]


class HeadSpec(TypedDict):
    cpu: Quantity
    memory: Quantity


class Spec(TypedDict):
    """Probe and alert timings: registry/platform.yaml `spec`, then overrides.yaml `spec`."""

    liveness_period_s: int
    liveness_failure_threshold: int
    readiness_period_s: int
    readiness_failure_threshold: int
    probe_timeout_s: int
    serve_unhealthy_after_s: int
    beat_stale_after_s: int


class Extractor(TypedDict):
    """One extractor as merged for a tenant (merge.py): the registry entry over
    extractor_defaults, with the tenant's overrides, its id and whether it is enabled."""

    id: str
    name: str
    enabled: bool
    version: str
    description: str
    modalities: list[str]
    runtime: str  # ray_serve | celery
    worker_group: str
    import_path: str
    capabilities: list[str]
    num_cpus: float
    num_gpus: float
    memory: Quantity
    min_replicas: int
    max_replicas: int
    target_ongoing_requests: float
    upscale_delay_s: float
    downscale_delay_s: float
    max_ongoing_requests: int
    max_queued_requests: NotRequired[int]
    aliases: NotRequired[list[str]]


class EffectiveValues(TypedDict):
    """A tenant's effective configuration (merge.py `merge_tenant`)."""

    tenant: TenantSpec
    release: Release
    auto_deploy: bool
    disabled: list[str]  # extractor ids or names overrides.yaml turns off
    cluster: dict[str, WorkerGroupSpec]  # by worker group name (layout.WORKER_GROUPS)
    head: HeadSpec
    env: dict[str, Any]  # the engine's env before the isolation-bearing keys; values are printed with str()
    spec: Spec
    extractors: dict[str, Extractor]  # by id


# -- the template context (context.py), in the order it is built


class Names(TypedDict):
    """The tenant's derived names (context._names)."""

    ray_service: str
    serve_service: str
    engine_account: str
    database: str
    mongodb_host: str
    redis_host: str
    redis_key_prefix: str
    queue_prefix: str
    vector_prefix: str
    bucket: str
    bucket_url: str
    backup_bucket: str
    backup_bucket_url: str
    cloud_identity: str
    ray_address: str
    serve_url: str
    serve_host: str
    gateway_serve_url: str
    secret_prefix: str
    secret_key_prefix: str
    secret_store: str


class Ports(TypedDict):
    serve: int
    dashboard: int
    client: int
    gcs: int
    metrics: int
    redis: int
    mongodb: int


class ClusterFacts(TypedDict):
    """registry/platform.yaml `clusters.<tenant's cluster>` (context._cluster): its required
    keys, defaulted for a cluster the platform does not declare (validation refuses one)."""

    apiserver_cidrs: list[str]
    vector_store_cidrs: list[str]
    serve_domain: str
    cloud: NotRequired[str]
    region: NotRequired[str]
    oidc_issuer: NotRequired[str]
    kuberay: NotRequired[str]


class WorkerGroup(TypedDict):
    """A worker group as the RayService template prints it (context._worker_groups)."""

    name: str
    min_replicas: int
    max_replicas: int
    replicas: int
    resources: Resources
    ray_resources: dict[str, str]
    scheduling: dict[str, Any]  # nodeSelector and tolerations: templates alone read it
    machine: str


class ExtractorSummary(TypedDict):
    id: str
    name: str
    version: str
    runtime: str
    worker_group: str
    min_replicas: int
    max_replicas: int


class Celery(TypedDict):
    """render/celery_context.py `context`."""

    config: dict[str, Any]  # the worker's config file, templates alone read it
    config_json: str
    queues: list[str]
    worker_queues: list[str]
    extract: dict[str, Any] | None  # the extract worker; templates alone read it
    heartbeat: dict[str, Any]  # templates alone read it
    grace_period_s: int
    env: list[dict[str, Any]]
    worker: dict[str, Any]  # the platform's celery.worker with resources and args; templates alone read it
    beat: Resources
    beat_replicas: int
    paused: bool


class Datastores(TypedDict):
    """context._datastores."""

    mongodb_dedicated: bool
    mongodb: Resources
    mongodb_storage: str
    mongodb_volume: dict[str, Any]  # render/volumes.py `volume`
    mongodb_shared_namespace: str
    redis: Resources
    redis_maxmemory: int
    redis_storage: str
    redis_volume: dict[str, Any]
    grown_volumes: list[dict[str, Any]]
    claim_retention: dict[str, str]
    claim_sync_options: str
    storage_class: str


class Security(TypedDict):
    """render/security.py `security_context`."""

    pod: dict[str, dict[str, Any]]  # pod securityContext by image: templates alone read it
    container: dict[str, Any]
    service_accounts: dict[str, str]  # by component
    component_labels: dict[str, str]
    bucket_users: list[str]  # the ServiceAccounts that use the tenant's bucket


class BaseContext(TypedDict):
    """What context._context computes from the effective values and the platform alone: the
    first stage, which the modules computing the later keys (TenantContext) read."""

    name: str
    namespace: str
    tenant: TenantSpec
    release: Release
    auto_deploy: bool
    cloud: str
    engine_version: str
    # registry/platform.yaml's data (schema-checked); its sections are read where they are
    # used and the templates read them as they are.
    platform: dict[str, Any]
    versions: dict[str, str]
    ray_version: str
    images: dict[str, str]
    control_plane: dict[str, Any]
    network: dict[str, Any]  # templates alone read it
    cluster: ClusterFacts
    names: Names
    ports: Ports
    head: Resources
    scheduling: dict[str, dict[str, Any]]  # by component; nodeSelector and tolerations
    worker_groups: list[WorkerGroup]
    extractors: list[ExtractorSummary]
    serve_config: str
    celery: Celery
    datastores: Datastores
    env: dict[str, str]
    spec: Spec
    security: Security
    pod_security_labels: dict[str, str]
    ray_env: list[dict[str, Any]]
    ray_probes: dict[str, list[str]]
    head_liveness: dict[str, int]
    celery_config_dir: str
    autoscaler_idle_s: int
    autoscaler_sidecar: Resources
    serve_service_annotations: dict[str, str]
    # The bucket's region, set before the late keys: the cloud's storage objects read it.
    bucket_region: str


class Migration(TypedDict):
    """render/migration.py `context`."""

    state: str
    attempt: int
    jobs: list[dict[str, Any]]
    source_namespace: str
    source_secret_key: str
    resources: dict[str, Any]
    deadline_s: int


class Backups(TypedDict):
    """render/backups.py `context`."""

    cronjobs: list[dict[str, Any]]
    restore: Object | None  # the restore Job's spec
    resources: dict[str, Any]


class SharedEgress(TypedDict):
    namespace: str
    port: int
    jobs: list[str]


class Move(TypedDict):
    """render/move/target.py `context`."""

    jobs: list[dict[str, Any]]
    attempt: int
    move_id: str
    resources: list[dict[str, str]]
    shared_egress: SharedEgress | None


class Offboarding(TypedDict):
    """render/offboarding.py `context`."""

    jobs: list[dict[str, Any]]
    grace_until: str


class Monitoring(TypedDict):
    """render/monitoring/scrape.py `monitoring_context`: templates alone read it."""

    exporters: list[str]
    exporter_ports: list[int]
    ports: dict[str, int]
    scrape_interval: str
    ray_sample_limit: int
    exporter_sample_limit: int
    exporter_resources: dict[str, Any]
    redis_addr: str
    redis_check_keys: str
    celery_exporter_args: list[str]
    mongodb_exporter_args: list[str]
    rule_groups: list[dict[str, Any]]
    ray_head_env: list[dict[str, Any]]


class CloudSecrets(TypedDict):
    """The secrets identity's values, under the key of the cloud that builds them
    (render/clouds/*.py `secrets_context`): one cloud's key is set, never the other's."""

    gcp: NotRequired[dict[str, Any]]
    aws: NotRequired[dict[str, Any]]


class Secrets(CloudSecrets):
    """render/tenant_secrets.py `context`: templates alone read it."""

    store: str
    service_account: str
    identity: str
    annotations: dict[str, str]
    provider: dict[str, Any]
    generated: list[dict[str, Any]]
    password_spec: dict[str, Any]
    external: list[dict[str, Any]]
    refs: dict[str, Any]
    identity_wave: str


class CloudStorage(TypedDict):
    """The context keys only a cloud's own templates (base/clouds/<cloud>/) read, from
    render/clouds/*.py `storage_context`: AWS sets the first four, GCP the last, so none is
    required."""

    ack_adoption: NotRequired[dict[str, str]]
    irsa_trust_policy: NotRequired[str]
    bucket_policy: NotRequired[str]
    bucket_location_constraint: NotRequired[str | None]
    bucket_workload_members: NotRequired[list[dict[str, str]]]


class BackupStorage(TypedDict):
    """render/backup_storage.py `context`."""

    objects: list[dict[str, Any]]
    lifecycle: list[dict[str, Any]]


class TenantContext(BaseContext, CloudStorage):
    """The whole template context of one tenant (context.tenant_context): the first stage,
    the values computed from it, and its cloud's storage keys."""

    migration: Migration | None  # None: no migration Job is due
    backups: Backups
    move: Move | None  # None: no move copy on this side
    offboarding: Offboarding | None  # None: the tenant is not offboarding
    monitoring: Monitoring
    secrets: Secrets
    backup_storage: BackupStorage
    service_account_annotations: dict[str, dict[str, str]]  # by ServiceAccount


class RoutingContext(TypedDict):
    """The part of the context the routing entry reads (render/routing.py `routing_context`):
    its keys are TenantContext's, so the whole context is one too."""

    name: str
    namespace: str
    tenant: TenantSpec
    platform: dict[str, Any]
    control_plane: dict[str, Any]
    names: Names
    ports: Ports


class PodValues(TypedDict):
    """context.from_pods: what the templates rendered last (render/build.py) read about the
    pods every other template rendered; added to the context for them only."""

    quota: dict[str, str]
    container_max: dict[str, str]
    scrape_targets: list[dict[str, Any]]
