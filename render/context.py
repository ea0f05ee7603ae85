"""Stage 4a: turn a tenant's effective configuration into the values templates print.

Everything computed lives here (names, byte counts, quota sums, the Serve config), so
the templates in base/ hold shape only. Pure: plain data in, plain data out. A template
sees this tenant's values and the platform's, never another tenant's.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from render import ENGINE_VERSION, fastyaml, layout, migration, monitoring, quantity, tenant_secrets
from render.merge import Effective

SERVE_PORT = 8000
DASHBOARD_PORT = 8265
CLIENT_PORT = 10001
GCS_PORT = 6379
METRICS_PORT = 8080
REDIS_PORT = 6379
MONGODB_PORT = 27017
# Synthetic Ray resource units one worker pod advertises for its group; a replica takes one.
GROUP_RESOURCE_UNITS = 1000


def tenant_context(eff: Effective, platform: dict[str, Any]) -> dict[str, Any]:
    """The whole template context of one tenant."""
    v = eff.values
    t = v["tenant"]
    name = t["name"]
    ns = layout.namespace(name)
    cloud = t["cloud"]
    enabled = [e for e in v["extractors"].values() if e["enabled"]]
    serve = [e for e in enabled if e["runtime"] == "ray_serve"]
    celery_ext = [e for e in enabled if e["runtime"] == "celery"]
    groups = _worker_groups(v["cluster"], platform, cloud)
    names = _names(t, platform, ns)
    celery = _celery(name, platform, names, celery_ext)
    ctx = {
        "name": name,
        "namespace": ns,
        "tenant": t,
        "release": v["release"],
        "auto_deploy": v["auto_deploy"],
        "cloud": cloud,
        "engine_version": ENGINE_VERSION,
        "platform": platform,
        "versions": platform["versions"],
        "images": platform["images"],
        "control_plane": platform["control_plane"],
        "network": platform["network"],
        "names": names,
        "ports": {"serve": SERVE_PORT, "dashboard": DASHBOARD_PORT, "client": CLIENT_PORT, "gcs": GCS_PORT,
                  "metrics": METRICS_PORT, "redis": REDIS_PORT, "mongodb": MONGODB_PORT},
        "head": _pod_resources(v["head"]["cpu"], v["head"]["memory"], 0),
        "worker_groups": groups,
        "extractors": [_extractor_summary(e) for e in enabled],
        "serve_config": serve_config(serve, platform, v["env"]),
        "celery": celery,
        "datastores": _datastores(t, platform, cloud),
        "env": _engine_env(v["env"], platform, t, names),
        "spec": v["spec"],
    }
    ctx["quota"] = _quota(ctx)
    ctx["container_max"] = _container_max(ctx)
    ctx["migration"] = migration.context(ctx)
    ctx["monitoring"] = monitoring.monitoring_context(ctx)
    ctx["secrets"] = tenant_secrets.context(t, names, ctx["ports"], platform, ctx["migration"] is not None)
    if cloud == "aws":
        ctx["irsa_trust_policy"] = _irsa_trust_policy(t, ns, names["service_account"])
        ctx["bucket_policy"] = _bucket_policy(names["bucket"])
    return ctx


def _names(t: dict[str, Any], platform: dict[str, Any], ns: str) -> dict[str, str]:
    name = t["name"]
    shared = t["database"]["mode"] == "shared_instance"
    mongo_host = platform["datastores"]["mongodb"]["shared_host"] if shared else f"mongodb-0.mongodb.{ns}.svc.cluster.local"
    bucket = layout.bucket_name(platform["control_plane"]["bucket_prefix"], name)
    return {
        "ray_service": "engine",
        "service_account": "engine",
        "database": layout.database_name(name),
        "mongodb_host": mongo_host,
        "redis_host": f"redis.{ns}.svc.cluster.local",
        "redis_key_prefix": layout.redis_key_prefix(name),
        "queue_prefix": layout.queue_prefix(name),
        "vector_prefix": layout.vector_prefix(name),
        "bucket": bucket,
        "bucket_url": f"gs://{bucket}" if t["cloud"] == "gcp" else f"s3://{bucket}",
        "cloud_identity": _cloud_identity(t),
        "ray_address": f"ray://engine-head-svc.{ns}.svc.cluster.local:{CLIENT_PORT}",
        "serve_url": f"http://engine-serve-svc.{ns}.svc.cluster.local:{SERVE_PORT}",
        "secret_prefix": f"{tenant_secrets.TENANTS_ROOT}/{name}",
        # Remote keys of this tenant, as its cloud's secret backend names them.
        "secret_key_prefix": tenant_secrets.tenant_prefix(t["cloud"], name),
        "secret_store": tenant_secrets.STORE,
    }


def _cloud_identity(t: dict[str, Any]) -> str:
    """The cloud identity the engine ServiceAccount impersonates (one per tenant)."""
    if t["cloud"] == "gcp":
        return f"dp-{t['name']}@{t['cloud_account']}.iam.gserviceaccount.com"
    return f"arn:aws:iam::{t['cloud_account']}:role/dp-{t['name']}-engine"


def _pod_resources(cpu: Any, memory: Any, gpus: Any) -> dict[str, Any]:
    out = {"cpu": quantity.cpu(quantity.parse(cpu)), "memory": quantity.memory(quantity.parse(memory))}
    if gpus:
        out["nvidia.com/gpu"] = str(int(gpus))
    return out


def _worker_groups(cluster: dict[str, Any], platform: dict[str, Any], cloud: str) -> list[dict[str, Any]]:
    gpu_nodes = platform["gpu_nodes"]
    out = []
    for group in layout.WORKER_GROUPS:
        g = cluster[group]
        gpus = g.get("gpus", 0)
        replicas = min(max(g.get("replicas", g["min_replicas"]), g["min_replicas"]), g["max_replicas"])
        out.append({
            "name": group,
            "min_replicas": g["min_replicas"],
            "max_replicas": g["max_replicas"],
            "replicas": replicas,
            "resources": _pod_resources(g["cpu"], g["memory"], gpus),
            "ray_resources": {g["ray_resource"]: str(GROUP_RESOURCE_UNITS)},
            "node_selector": gpu_nodes[cloud]["node_selector"] if gpus else {},
            "tolerations": [gpu_nodes["toleration"]] if gpus else [],
            "machine": g.get("machine", {}).get(cloud, ""),
        })
    return out


def _extractor_summary(e: dict[str, Any]) -> dict[str, Any]:
    return {k: e[k] for k in ("id", "name", "version", "runtime", "worker_group", "min_replicas", "max_replicas")}


def serve_config(serve: list[dict[str, Any]], platform: dict[str, Any], env: dict[str, Any]) -> str:
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


def _celery(name: str, platform: dict[str, Any], names: dict[str, str], extractors: list[dict[str, Any]]) -> dict[str, Any]:
    c = platform["celery"]
    queues = list(c["queues"]) + (["extract"] if extractors else [])
    prefixed = [layout.queue_prefix(name) + q for q in queues]
    routes = {pattern: {"queue": layout.queue_prefix(name) + q} for pattern, q in sorted(c["routes"].items()) if q in queues}
    config = {
        "broker_url": f"redis://{names['redis_host']}:{REDIS_PORT}/0",
        "result_backend": f"redis://{names['redis_host']}:{REDIS_PORT}/1",
        "broker_transport_options": {"global_keyprefix": names["redis_key_prefix"]},
        "result_backend_transport_options": {"global_keyprefix": names["redis_key_prefix"]},
        # Celery's own mapping form (name -> options): a list of bare names is not a valid
        # task_queues value, Celery needs Queue objects or this mapping.
        "task_queues": {q: {"exchange": q, "routing_key": q} for q in prefixed},
        "task_default_queue": layout.queue_prefix(name) + "default",
        "task_routes": routes,
        "task_create_missing_queues": False,
        "worker_enable_remote_control": False,
        # Task events feed the tenant's Celery exporter (task rates on its dashboards); they
        # travel on the tenant's own Redis, so they never reach another tenant.
        "worker_send_task_events": True,
        "task_send_sent_event": True,
        "worker_prefetch_multiplier": 1,
        "task_acks_late": True,
    }
    main_queues = [q for q in prefixed if not q.endswith(".extract")]
    extract = None
    if extractors:
        e = extractors[0]
        extract = {"queue": layout.queue_prefix(name) + "extract", "min_replicas": e["min_replicas"],
                   "max_replicas": e["max_replicas"], "target": e["target_ongoing_requests"],
                   "cooldown_s": e["downscale_delay_s"], "concurrency": e["max_ongoing_requests"],
                   "resources": _pod_resources(e["num_cpus"], e["memory"], 0), "ids": [x["id"] for x in extractors]}
    return {"config": config, "config_json": json.dumps(config, indent=2, sort_keys=True) + "\n", "queues": prefixed, "worker_queues": main_queues, "extract": extract,
            "worker": {**c["worker"], "resources": _pod_resources(c["worker"]["cpu"], c["worker"]["memory"], 0)},
            "beat": _pod_resources(c["beat"]["cpu"], c["beat"]["memory"], 0)}


def _datastores(t: dict[str, Any], platform: dict[str, Any], cloud: str) -> dict[str, Any]:
    d = platform["datastores"]
    redis_mem = quantity.parse(d["redis"]["memory"])
    return {
        "mongodb_dedicated": t["database"]["mode"] == "dedicated_instance",
        "mongodb": {**_pod_resources(d["mongodb"]["cpu"], d["mongodb"]["memory"], 0), "storage": d["mongodb"]["storage"]},
        "mongodb_shared_namespace": d["mongodb"]["shared_namespace"],
        "redis": _pod_resources(d["redis"]["cpu"], d["redis"]["memory"], 0),
        "redis_maxmemory": int(redis_mem * d["redis"]["maxmemory_percent"] / 100),
        "storage_class": d["storage_class"][cloud],
    }


def _engine_env(env: dict[str, Any], platform: dict[str, Any], t: dict[str, Any], names: dict[str, str]) -> dict[str, str]:
    """Platform env + tenant env, then the isolation-bearing keys, which always win.

    Secret-bearing keys (MONGO_URI, REDIS_URL, QDRANT_API_KEY) come from Secrets in the
    pod spec, not from here.
    """
    out = {k: str(v) for k, v in env.items() if k not in platform["protected_env"]}
    bucket_key = "GCS_BUCKET" if t["cloud"] == "gcp" else "S3_BUCKET"
    out.update({
        "TENANT_ID": t["name"],
        "ORGANIZATION_ID": t["organization_id"],
        "MONGODB_API_DB": names["database"],
        "QDRANT_URL": t["vector_store"]["endpoint"],
        "VECTOR_COLLECTION_PREFIX": names["vector_prefix"],
        bucket_key: names["bucket"],
        "CELERY_QUEUE_PREFIX": names["queue_prefix"],
        "REDIS_KEY_PREFIX": names["redis_key_prefix"],
        "RAY_ADDRESS": names["ray_address"],
        "ENGINE_API_URL": names["serve_url"],
    })
    if t["cloud"] == "aws":
        out["AWS_REGION"] = t["region"]
    return dict(sorted(out.items()))


def _quota(ctx: dict[str, Any]) -> dict[str, str]:
    """Requests ceiling of the namespace: every pod at its maximum count, plus 10% headroom."""
    cpu, mem, gpu, pods = Decimal(0), Decimal(0), 0, 0

    def add(res: dict[str, Any], count: int) -> None:
        nonlocal cpu, mem, gpu, pods
        cpu += quantity.parse(res["cpu"]) * count
        mem += quantity.parse(res["memory"]) * count
        gpu += int(res.get("nvidia.com/gpu", 0)) * count
        pods += count

    add(ctx["head"], 1)
    for g in ctx["worker_groups"]:
        add(g["resources"], g["max_replicas"])
    add(ctx["datastores"]["redis"], 1)
    if ctx["datastores"]["mongodb_dedicated"]:
        add(ctx["datastores"]["mongodb"], 1)
    add(ctx["celery"]["worker"]["resources"], ctx["celery"]["worker"]["replicas"])
    add(ctx["celery"]["beat"], 1)
    if ctx["celery"]["extract"]:
        add(ctx["celery"]["extract"]["resources"], ctx["celery"]["extract"]["max_replicas"])
    headroom = Decimal("1.1")
    return {
        "cpu": quantity.cpu((cpu * headroom).to_integral_value(rounding="ROUND_CEILING")),
        "memory": quantity.memory((mem * headroom / quantity.GI).to_integral_value(rounding="ROUND_CEILING") * quantity.GI),
        "gpu": str(gpu),
        "pods": str(pods + 10),  # room for migration Jobs and rolling updates
    }


def _container_max(ctx: dict[str, Any]) -> dict[str, str]:
    """LimitRange max: the largest container the tenant runs (a worker pod, usually)."""
    pods = [ctx["head"], ctx["datastores"]["redis"], ctx["datastores"]["mongodb"]] + [g["resources"] for g in ctx["worker_groups"]]
    return {"cpu": quantity.cpu(max(quantity.parse(p["cpu"]) for p in pods)),
            "memory": quantity.memory(max(quantity.parse(p["memory"]) for p in pods))}


def _irsa_trust_policy(t: dict[str, Any], ns: str, service_account: str) -> str:
    """Only this tenant's engine ServiceAccount may assume its role (EKS IRSA)."""
    return tenant_secrets.irsa_trust_policy(t, service_account)


def _bucket_policy(bucket: str) -> str:
    doc = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation"], "Resource": f"arn:aws:s3:::{bucket}"},
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], "Resource": f"arn:aws:s3:::{bucket}/*"},
    ]}
    return json.dumps(doc, sort_keys=True)


def tenant_names(t: dict[str, Any], platform: dict[str, Any]) -> dict[str, str]:
    """A tenant's derived names (the context's `names`) without building the whole context."""
    return _names(t, platform, layout.namespace(t["name"]))
