"""The Celery part of a tenant's template context: its prefixed queues and routes, the
config every Celery pod mounts, the workers, the KEDA-scaled extract worker and the
liveness heartbeat. Pure: effective values in, plain data out (context.py calls it).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from render import layout, quantity, tenant_secrets
from render.context_types import Celery, Extractor, Names

# The worker heartbeat module shipped in celery-config (render/dataplane_heartbeat.py).
HEARTBEAT_MODULE = Path(__file__).with_name("dataplane_heartbeat.py")
HEARTBEAT_STALE_S = 60
# The Celery config (celery-config) as engine pods mount it, and the platform's Celery
# modules (the liveness heartbeat): the engine itself is installed in the image's
# site-packages and needs no PYTHONPATH.
CONFIG_DIR = "/etc/dataplane"
CONFIG_FILE = f"{CONFIG_DIR}/celery.json"
PYTHONPATH = f"{CONFIG_DIR}/python"


# Celery settings every producer into a tenant's queues must use (the engine's pods read
# celery.json; the control plane's gateway reads its routing entry, render/routing.py):
# celery-exporter labels a task with the queue of its `task-sent` event, else `celery`.
PRODUCER_SETTINGS = {"task_send_sent_event": True}
# Beat's heartbeat: an entry of the rendered beat_schedule runs this task (shipped in
# dataplane_heartbeat.py, loaded by the workers with --include; it runs on the default
# queue) every BEAT_HEARTBEAT_S. It sets BEAT_KEY through the broker's connection, so under
# the tenant's key prefix (<tenant>:beat:heartbeat, db 0), to the current epoch seconds:
# the key redis_exporter reads for DataplaneCeleryBeatStale.
BEAT_HEARTBEAT_TASK = "dataplane_heartbeat.beat_heartbeat"
BEAT_HEARTBEAT_ENTRY = "dataplane-beat-heartbeat"
BEAT_HEARTBEAT_S = 60
BEAT_KEY = "beat:heartbeat"


def beat_schedule() -> dict[str, Any]:
    return {BEAT_HEARTBEAT_ENTRY: {"task": BEAT_HEARTBEAT_TASK, "schedule": float(BEAT_HEARTBEAT_S), "args": [BEAT_KEY]}}


def context(name: str, platform: dict[str, Any], names: Names, redis_port: int, extractors: list[Extractor],
            log_level: str) -> Celery:
    """The `celery` key of a tenant's template context."""
    c = platform["celery"]
    queues = list(c["queues"]) + (["extract"] if extractors else [])
    prefixed = [layout.queue_prefix(name) + q for q in queues]
    routes = {pattern: {"queue": layout.queue_prefix(name) + q} for pattern, q in sorted(c["routes"].items()) if q in queues}
    config = {
        "broker_url": f"redis://{names['redis_host']}:{redis_port}/0",
        "result_backend": f"redis://{names['redis_host']}:{redis_port}/1",
        # A task whose worker died unacknowledged comes back after visibility_timeout: longer
        # than the longest task (no task runs twice) and than the shutdown grace period.
        "broker_transport_options": {"global_keyprefix": names["redis_key_prefix"],
                                     "visibility_timeout": _visibility_timeout(c)},
        "task_time_limit": int(c["longest_task_s"]),
        "task_soft_time_limit": max(int(c["longest_task_s"]) - 30, 1),
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
        **PRODUCER_SETTINGS,
        "beat_schedule": beat_schedule(),
        "worker_prefetch_multiplier": 1,
        "task_acks_late": True,
    }
    main_queues = [q for q in prefixed if not q.endswith(".extract")]
    return {"config": config, "config_json": json.dumps(config, indent=2, sort_keys=True) + "\n", "queues": prefixed, "worker_queues": main_queues,
            "extract": _extract(name, names, redis_port, extractors, log_level) if extractors else None,
            "heartbeat": _heartbeat(), "grace_period_s": _grace_period(c), "env": _env(),
            "worker": {**c["worker"], "resources": quantity.pod_resources(c["worker"]["cpu"], c["worker"]["memory"], 0),
                       "args": _worker_args(main_queues, c["worker"]["concurrency"], log_level)},
            "beat": quantity.pod_resources(c["beat"]["cpu"], c["beat"]["memory"], 0), "beat_replicas": 1, "paused": False}


def _extract(name: str, names: Names, redis_port: int, extractors: list[Extractor],
             log_level: str) -> dict[str, Any]:
    """celery-extract and its KEDA ScaledObject: sized by the first Celery extractor."""
    e = extractors[0]
    queue = layout.queue_prefix(name) + "extract"
    return {"queue": queue, "min_replicas": e["min_replicas"], "max_replicas": e["max_replicas"],
            "target": e["target_ongoing_requests"], "cooldown_s": int(e["downscale_delay_s"]),
            "concurrency": e["max_ongoing_requests"], "resources": quantity.pod_resources(e["num_cpus"], e["memory"], 0),
            "ids": [x["id"] for x in extractors], "ids_annotation": ",".join(x["id"] for x in extractors),
            "args": _worker_args([queue], e["max_ongoing_requests"], log_level),
            # KEDA's redis scaler: the queue's list on the tenant's Redis, and its target length.
            "redis_address": f"{names['redis_host']}:{redis_port}",
            "list_name": names["redis_key_prefix"] + queue,
            "list_length": str(int(e["target_ongoing_requests"]))}


def _worker_args(queues: list[str], concurrency: Any, log_level: str) -> list[str]:
    """A Celery worker consuming `queues`; the heartbeat module is what its liveness probe reads."""
    return ["--queues", ",".join(queues), "--concurrency", str(concurrency), "--without-mingle", "--without-gossip",
            "--include", "dataplane_heartbeat", "--loglevel", log_level]


def _env() -> list[dict[str, Any]]:
    """Env of every Celery pod: its config, then its Secrets (the tenant's Redis, MongoDB, vector store)."""
    return [{"name": "CELERY_CONFIG_FILE", "value": CONFIG_FILE},
            {"name": "PYTHONPATH", "value": PYTHONPATH},
            *tenant_secrets.engine_env("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "REDIS_PASSWORD", "REDIS_URL",
                                       "MONGO_URI", "QDRANT_API_KEY")]


def _grace_period(c: dict[str, Any]) -> int:
    """Warm shutdown lets a running task finish: the longest task plus a minute."""
    return int(c["longest_task_s"]) + 60


def _visibility_timeout(c: dict[str, Any]) -> int:
    return max(2 * int(c["longest_task_s"]), _grace_period(c) + 60)


def _heartbeat() -> dict[str, Any]:
    probe = ["sh", "-c", f"test $(( $(date +%s) - $(stat -c %Y /tmp/worker_heartbeat) )) -lt {HEARTBEAT_STALE_S}"]
    return {"module": HEARTBEAT_MODULE.read_text(encoding="utf-8"), "probe": probe,
            "startup_failure_threshold": 60}  # 5 minutes for the first heartbeat
