"""Stage 4a: turn a tenant's effective configuration into the values templates print.

Everything computed lives here (names, byte counts, quota sums, the Serve config), so
the templates in base/ hold shape only. Pure: plain data in, plain data out. A template
sees this tenant's values and the platform's, never another tenant's.
"""

from __future__ import annotations

from typing import Any, cast

from render import (
    ENGINE_VERSION,
    backup_storage,
    backups,
    celery_context,
    clouds,
    contract,
    entries,
    fastyaml,
    layout,
    migration,
    offboarding,
    pods,
    pools,
    quantity,
    security,
    tenant_secrets,
    versions,
    volumes,
)
from render.context_types import (
    BaseContext,
    ClusterFacts,
    Datastores,
    EffectiveValues,
    Extractor,
    ExtractorSummary,
    Names,
    PodValues,
    Ports,
    Spec,
    TenantContext,
    TenantSpec,
    WorkerGroup,
    WorkerGroupSpec,
)
from render.merge import Effective
from render.monitoring import scrape
from render.move import target as move_target

SERVE_PORT = 8000
DASHBOARD_PORT = 8265
CLIENT_PORT = 10001
GCS_PORT = 6379
METRICS_PORT = 8080
REDIS_PORT = 6379
MONGODB_PORT = 27017
# KubeRay's own head liveness (5 s x 120, 2 s timeout): without GCS fault tolerance a head
# restart restarts the whole cluster, so the head's probe is never tighter than that.
HEAD_LIVENESS_FLOOR = {"liveness_period_s": 5, "probe_timeout_s": 2, "liveness_failure_threshold": 120}
# The Redis volume (volumeClaimTemplates); footprint prices the same figure.
REDIS_STORAGE = "10Gi"
# Seconds a Ray worker node stays idle before the autoscaler removes it (autoscalerOptions).
AUTOSCALER_IDLE_S = 300
# The raylet's health endpoint is served by Ray's dashboard agent (--dashboard-agent-listen-port).
RAY_AGENT_PORT = 52365
# Synthetic Ray resource units one worker pod advertises for its group; a replica takes one.
GROUP_RESOURCE_UNITS = 1000


def tenant_context(eff: Effective, platform: dict[str, Any], releases: Any = None) -> TenantContext:
    """The whole template context of one tenant. `releases`: registry/releases.yaml's data, where
    the release the tenant runs records its Ray version (render/versions.py). A key the
    platform's registry lacks raises entries.Missing, naming it (the pipeline reports it at
    registry/platform.yaml)."""
    # The platform's spec is every tenant's default: a key none sets is the registry's to add.
    values: EffectiveValues = {**eff.values, "spec": entries.track(eff.values["spec"], ("spec",))}
    ctx: TenantContext = entries.plain(_context(Effective(values, eff.provenance), entries.track(platform), releases))
    return ctx


def _context(eff: Effective, platform: dict[str, Any], releases: Any) -> TenantContext:
    v = eff.values
    t = v["tenant"]
    name = t["name"]
    ns = layout.namespace(name)
    cloud = t["cloud"]
    enabled = [e for e in v["extractors"].values() if e["enabled"]]
    serve = [e for e in enabled if e["runtime"] == "ray_serve"]
    if offboarding.offboarding(t) or move_target.stops_compute(t):  # no replica waits for a worker that never comes
        serve = [{**e, "min_replicas": 0} for e in serve]
    celery_ext = [e for e in enabled if e["runtime"] == "celery"]
    groups = _worker_groups(v["cluster"], platform, cloud)
    names = _names(t, platform, ns)
    env = _engine_env(v["env"], platform, t, names)
    celery = celery_context.context(name, platform, names, REDIS_PORT, celery_ext, env.get("LOG_LEVEL", "INFO"))
    base: BaseContext = {
        "name": name,
        "namespace": ns,
        "tenant": t,
        "release": v["release"],
        "auto_deploy": v["auto_deploy"],
        "cloud": cloud,
        "engine_version": ENGINE_VERSION,
        "platform": platform,
        "versions": platform["versions"],
        # The Ray of the release the tenant runs (its image's), not the next release's.
        "ray_version": versions.of_release(v["release"], releases, platform).ray,
        "images": platform["images"],
        "control_plane": platform["control_plane"],
        "network": platform["network"],
        "cluster": _cluster(t, platform),
        "names": names,
        "ports": ports(),
        "head": quantity.pod_resources(v["head"]["cpu"], v["head"]["memory"], 0),
        # nodeSelector and tolerations of each component's pods (registry nodes.placement).
        "scheduling": pools.every_scheduling(platform, cloud),
        "worker_groups": groups,
        "extractors": [_extractor_summary(e) for e in enabled],
        "serve_config": serve_config(serve, platform, v["env"]),
        "celery": celery,
        "datastores": _datastores(t, platform, cloud),
        "env": env,
        "spec": v["spec"],
        "security": security.security_context(),
        "pod_security_labels": security.pod_security_labels(platform["versions"]["kubernetes"]),
        "ray_env": _ray_env(),
        "ray_probes": _ray_probes(),
        "head_liveness": _head_liveness(v["spec"]),
        "celery_config_dir": celery_context.CONFIG_DIR,
        "autoscaler_idle_s": AUTOSCALER_IDLE_S,
        # The sizes contract.py counts in the quota and footprint.py prices: one constant.
        "autoscaler_sidecar": contract.AUTOSCALER,
        "serve_service_annotations": _serve_service_annotations(cloud, names["serve_host"]),
        # A bucket never moves: after a region move it stays where it was made (render/move/).
        "bucket_region": t.get("bucket_region", t["region"]),
    }
    # The later keys, each computed from the first stage.
    migrating = migration.context(base)
    backup_jobs = backups.context(base, platform)
    if not move_target.backs_up(t):  # a stale or empty copy must not sit among the real backups
        backup_jobs = {**backup_jobs, "cronjobs": []}
    move = move_target.context(base)
    leaving = offboarding.context(base, platform)
    if leaving is not None or move_target.stops_compute(t):
        offboarding.stop_compute(base)
    return {
        **base,
        "migration": migrating,
        "backups": backup_jobs,
        "move": move,
        "offboarding": leaving,
        "monitoring": scrape.monitoring_context(base),
        "secrets": tenant_secrets.context(t, names, base["ports"], platform, migrating is not None, base["cluster"]),
        # What only the cloud's own templates (base/clouds/<cloud>/) read.
        **clouds.get(cloud).storage_context(base),
        "backup_storage": backups.storage_context(base, platform),
        "service_account_annotations": backup_storage.service_account_annotations(base),
    }


def ports() -> Ports:
    """The context's `ports` (routing.routing_context builds its own context with them)."""
    return {"serve": SERVE_PORT, "dashboard": DASHBOARD_PORT, "client": CLIENT_PORT, "gcs": GCS_PORT,
            "metrics": METRICS_PORT, "redis": REDIS_PORT, "mongodb": MONGODB_PORT}


def _names(t: TenantSpec, platform: dict[str, Any], ns: str) -> Names:
    name = t["name"]
    shared = t["database"]["mode"] == "shared_instance"
    mongo_host = platform["datastores"]["mongodb"]["shared_host"] if shared else f"mongodb-0.mongodb.{ns}.svc.cluster.local"
    bucket = layout.bucket_name(platform["control_plane"]["bucket_prefix"], name)
    cloud = clouds.get(t["cloud"])
    return {
        "ray_service": layout.RAY_SERVICE,
        # KubeRay's Serve Service, named here so the template and serve_url agree.
        "serve_service": f"{layout.RAY_SERVICE}-serve-svc",
        # The engine's cloud identity's own name (a service account id, a role name).
        "engine_account": cloud.engine_account(name),
        "database": layout.database_name(name),
        "mongodb_host": mongo_host,
        "redis_host": f"redis.{ns}.svc.cluster.local",
        "redis_key_prefix": layout.redis_key_prefix(name),
        "queue_prefix": layout.queue_prefix(name),
        "vector_prefix": layout.vector_prefix(name),
        "bucket": bucket,
        "bucket_url": f"{cloud.bucket_scheme}{bucket}",
        # Backups: a bucket of their own, where the engine's identity has no grant (render/backup_storage.py).
        "backup_bucket": backup_storage.bucket_name(bucket),
        "backup_bucket_url": backup_storage.url(t["cloud"], bucket),
        "cloud_identity": cloud.engine_identity(t),
        "ray_address": f"ray://{layout.RAY_SERVICE}-head-svc.{ns}.svc.cluster.local:{CLIENT_PORT}",
        "serve_url": f"http://{layout.RAY_SERVICE}-serve-svc.{ns}.svc.cluster.local:{SERVE_PORT}",
        # The tenant's internal Serve load balancer, published by external-dns in the
        # cluster's internal zone: how the gateway on the management cluster reaches it.
        "serve_host": serve_host(t, platform),
        "gateway_serve_url": f"http://{serve_host(t, platform)}:{SERVE_PORT}",
        "secret_prefix": f"{tenant_secrets.TENANTS_ROOT}/{name}",
        # Remote keys of this tenant, as its cloud's secret backend names them.
        "secret_key_prefix": tenant_secrets.tenant_prefix(t["cloud"], name),
        "secret_store": tenant_secrets.STORE,
    }


def from_pods(ctx: TenantContext, pod_list: list[pods.Pod]) -> PodValues:
    """The values templates print about the tenant's pods (base/quota.yaml.j2,
    base/monitoring-scrape.yaml.j2), from the pods every other template rendered
    (render/build.py renders those templates last)."""
    return {"quota": contract.quota(ctx["tenant"], pod_list, ctx["platform"]),
            "container_max": contract.container_max(pod_list),
            "scrape_targets": scrape.scrape_targets(pod_list)}


def serve_host(t: TenantSpec, platform: dict[str, Any]) -> str:
    domain = platform.get("clusters", {}).get(t["cluster"], {}).get("serve_domain", "invalid")
    return f"serve-{t['name']}.{domain}"


def _worker_groups(cluster: dict[str, WorkerGroupSpec], platform: dict[str, Any], cloud: str) -> list[WorkerGroup]:
    out: list[WorkerGroup] = []
    for group in layout.WORKER_GROUPS:
        g = cluster[group]
        gpus = g.get("gpus", 0)
        replicas = min(max(g.get("replicas", g["min_replicas"]), g["min_replicas"]), g["max_replicas"])
        out.append({
            "name": group,
            "min_replicas": g["min_replicas"],
            "max_replicas": g["max_replicas"],
            "replicas": replicas,
            "resources": quantity.pod_resources(g["cpu"], g["memory"], gpus),
            "ray_resources": {g["ray_resource"]: str(GROUP_RESOURCE_UNITS)},
            "scheduling": pools.scheduling(platform, cloud, group),
            "machine": g.get("machine", {}).get(cloud, ""),
        })
    return out


def _extractor_summary(e: Extractor) -> ExtractorSummary:
    return {"id": e["id"], "name": e["name"], "version": e["version"], "runtime": e["runtime"],
            "worker_group": e["worker_group"], "min_replicas": e["min_replicas"], "max_replicas": e["max_replicas"]}


def serve_config(serve: list[Extractor], platform: dict[str, Any], env: dict[str, Any]) -> str:
    """serveConfigV2: one application (and deployment) per enabled Ray Serve extractor."""
    groups = platform["worker_groups"]
    apps = []
    for e in serve:
        actor: dict[str, Any] = {
            "num_cpus": e["num_cpus"],
            "num_gpus": e["num_gpus"],
            "memory": int(quantity.parse(e["memory"])),
            "resources": {groups[e["worker_group"]]["ray_resource"]: 1},
        }
        apps.append({
            "name": e["id"],
            "import_path": e["import_path"],
            "route_prefix": f"/extractors/{e['id']}",
            "deployments": [{
                "name": e["id"],
                "max_ongoing_requests": e["max_ongoing_requests"],
                **({"max_queued_requests": e["max_queued_requests"]} if "max_queued_requests" in e else {}),
                "autoscaling_config": {
                    "min_replicas": e["min_replicas"],
                    "initial_replicas": e["min_replicas"],
                    "max_replicas": e["max_replicas"],
                    "target_ongoing_requests": e["target_ongoing_requests"],
                    "upscale_delay_s": e["upscale_delay_s"],
                    "downscale_delay_s": e["downscale_delay_s"],
                },
                "ray_actor_options": actor,
            }],
        })
    config = {
        "proxy_location": "EveryNode",
        "http_options": {"host": "0.0.0.0", "port": SERVE_PORT},
        "logging_config": {"encoding": "JSON", "log_level": str(env.get("LOG_LEVEL", "INFO")).upper()},
        "applications": apps,
    }
    return fastyaml.dump(config, sort_keys=False, default_flow_style=False, width=4096)


def _ray_env() -> list[dict[str, Any]]:
    """Env of the Ray head and workers: the Secrets, and the Celery config a task sent from Ray
    uses to reach this tenant's prefixed queues on its own Redis."""
    return [*tenant_secrets.engine_env("MONGO_URI", "REDIS_URL", "QDRANT_API_KEY"),
            {"name": "CELERY_CONFIG_FILE", "value": celery_context.CONFIG_FILE},
            *tenant_secrets.engine_env("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND")]


def _ray_probes() -> dict[str, list[str]]:
    """Exec probes of the Ray pods (KubeRay's own checks): the raylet, and the GCS on the head
    or this node's Serve proxy on a worker, so the Serve Service routes only to live proxies."""
    raylet = f"wget -T 2 -q -O- http://localhost:{RAY_AGENT_PORT}/api/local_raylet_healthz | grep success"
    gcs = f"wget -T 2 -q -O- http://localhost:{DASHBOARD_PORT}/api/gcs_healthz | grep success"
    proxy = f"wget -T 2 -q -O- http://localhost:{SERVE_PORT}/-/healthz | grep success"
    return {"head": ["bash", "-c", f"{raylet} && {gcs}"], "worker_ready": ["bash", "-c", f"{raylet} && {proxy}"],
            "worker_live": ["bash", "-c", raylet]}


def _head_liveness(spec: Spec) -> dict[str, int]:
    """The head's liveness probe: the platform's spec, never tighter than KubeRay's own."""
    floor = HEAD_LIVENESS_FLOOR
    return {"liveness_period_s": max(spec["liveness_period_s"], floor["liveness_period_s"]),
            "probe_timeout_s": max(spec["probe_timeout_s"], floor["probe_timeout_s"]),
            "liveness_failure_threshold": max(spec["liveness_failure_threshold"], floor["liveness_failure_threshold"])}


def _datastores(t: TenantSpec, platform: dict[str, Any], cloud: str) -> Datastores:
    d = platform["datastores"]
    redis_mem = quantity.parse(d["redis"]["memory"])
    dedicated = t["database"]["mode"] == "dedicated_instance"
    mongodb_volume = volumes.volume("mongodb", d["mongodb"]["storage"], d["mongodb"].get("claim_template_storage"))
    redis_volume = volumes.volume("redis", REDIS_STORAGE, None)
    return {
        "mongodb_dedicated": dedicated,
        "mongodb": quantity.pod_resources(d["mongodb"]["cpu"], d["mongodb"]["memory"], 0),
        "mongodb_storage": d["mongodb"]["storage"],
        "mongodb_volume": mongodb_volume,
        "mongodb_shared_namespace": d["mongodb"]["shared_namespace"],
        "redis": quantity.pod_resources(d["redis"]["cpu"], d["redis"]["memory"], 0),
        "redis_maxmemory": int(redis_mem * d["redis"]["maxmemory_percent"] / 100),
        "redis_storage": REDIS_STORAGE,
        "redis_volume": redis_volume,
        "grown_volumes": [v for v in ([mongodb_volume] if dedicated else []) + [redis_volume] if v["claim"]],
        "claim_retention": volumes.RETENTION,
        "claim_sync_options": volumes.CLAIM_SYNC_OPTIONS,
        "storage_class": d["storage_class"][cloud],
    }


def _engine_env(env: dict[str, Any], platform: dict[str, Any], t: TenantSpec, names: Names) -> dict[str, str]:
    """Platform env + tenant env, then the isolation-bearing keys, which always win.

    Secret-bearing keys (MONGO_URI, REDIS_URL, QDRANT_API_KEY) come from Secrets in the
    pod spec, not from here.
    """
    out = {k: str(v) for k, v in env.items() if k not in platform["protected_env"]}
    cloud = clouds.get(t["cloud"])
    out.update({
        "TENANT_ID": t["name"],
        "ORGANIZATION_ID": t["organization_id"],
        "MONGODB_API_DB": names["database"],
        "QDRANT_URL": t["vector_store"]["endpoint"],
        "VECTOR_COLLECTION_PREFIX": names["vector_prefix"],
        cloud.bucket_env: names["bucket"],
        "CELERY_QUEUE_PREFIX": names["queue_prefix"],
        "REDIS_KEY_PREFIX": names["redis_key_prefix"],
        "RAY_ADDRESS": names["ray_address"],
        "ENGINE_API_URL": names["serve_url"],
    })
    out.update(cloud.engine_env(t))
    return dict(sorted(out.items()))


def _serve_service_annotations(cloud: str, host: str) -> dict[str, str]:
    """An internal load balancer on the tenant's cloud, named in the cluster's internal DNS zone."""
    lb = clouds.get(cloud).serve_service_annotations()
    return dict(sorted({**lb, "external-dns.alpha.kubernetes.io/hostname": host}.items()))


def _cluster(t: TenantSpec, platform: dict[str, Any]) -> ClusterFacts:
    """The facts of the tenant's cluster (registry/platform.yaml `clusters`); validation
    has already refused a tenant placed on an undeclared cluster."""
    empty = {"apiserver_cidrs": [], "vector_store_cidrs": [], "serve_domain": "invalid"}
    # The platform's data is schema-checked, not typed: its cluster entry becomes ClusterFacts here.
    return cast(ClusterFacts, {**empty, **platform.get("clusters", {}).get(t["cluster"], {})})


def tenant_names(t: TenantSpec, platform: dict[str, Any]) -> Names:
    """A tenant's derived names (the context's `names`) without building the whole context."""
    return _names(t, platform, layout.namespace(t["name"]))
