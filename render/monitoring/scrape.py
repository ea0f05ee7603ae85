"""Template context of a tenant's data-plane monitoring: exporters, scrape targets and the
alert rules evaluated there (base/monitoring-*.yaml.j2 print it). The dashboards and the
gateway alerts are the management cluster's (render/monitoring/control_plane.py).

The scrape targets are read from the tenant's pod list (render/pods.py): every pod that
serves a port named `metrics` gets a PodMonitor, so a component added with a metrics port
is scraped without naming it here (and `validate --deep` checks Prometheus reaches it).

Pure: reads only the tenant's own context (names, queues, images, spec) and pods.
"""

from __future__ import annotations

from typing import Any

from render import backups, celery_context, cron, layout
from render.context_types import BaseContext, Monitoring
from render.monitoring import alerts, dashboards, data_alerts, grafana, promql
from render.pods import HEAD_GROUP, Pod, Port

REDIS_EXPORTER_PORT = 9121
MONGODB_EXPORTER_PORT = 9216
CELERY_EXPORTER_PORT = 9808
# The ports allow-monitoring opens to Prometheus (base/network.yaml.j2), whichever exporters run.
EXPORTER_PORTS = (REDIS_EXPORTER_PORT, MONGODB_EXPORTER_PORT, CELERY_EXPORTER_PORT)
# A tenant's fork may publish metrics of its own: cap what one scrape may add to Prometheus.
RAY_SAMPLE_LIMIT = 50000
EXPORTER_SAMPLE_LIMIT = 10000
SCRAPE_INTERVAL = "30s"
EXPORTER_RESOURCES = {"cpu": "100m", "memory": "128Mi"}
# The container port a pod serves its metrics on, by name; the label naming an exporter.
METRICS_PORT = "metrics"
EXPORTER_LABEL = "dataplane.io/exporter"
# Annotations of the Grafana dashboard sidecar (kiwigrid/k8s-sidecar): its default folder
# annotation, and the one the grafana Helm chart is usually configured with
# (sidecar.dashboards.folderAnnotation: grafana_folder). Setting both works with either.
DASHBOARD_LABEL = {"grafana_dashboard": "1"}
FOLDER_ANNOTATIONS = ("k8s-sidecar-target-directory", "grafana_folder")


def beat_heartbeat_key(name: str) -> str:
    """The Redis key (db 0) beat's heartbeat task sets to the current epoch seconds every
    BEAT_HEARTBEAT_S (render/celery_context.py beat_schedule)."""
    return f"{layout.redis_key_prefix(name)}{celery_context.BEAT_KEY}"


def exporters(mongodb_dedicated: bool) -> list[str]:
    """The tenant's exporters (Deployment <exporter>-exporter, label dataplane.io/exporter). A
    tenant on the shared MongoDB instance has none for it: the platform's exporter of the
    shared instance covers it."""
    return ["redis", "celery"] + (["mongodb"] if mongodb_dedicated else [])


def metrics_port(p: Pod) -> Port | None:
    """The port Prometheus scrapes on `p`, if it serves metrics (a long-running pod only)."""
    return None if p.runs_to_completion else p.port(METRICS_PORT)


def scrape_targets(pod_list: list[Pod]) -> list[dict[str, Any]]:
    """One PodMonitor per kind of pod serving metrics (base/monitoring-scrape.yaml.j2): the
    Ray head, the Ray workers (every group: KubeRay's node-type label), each exporter (its
    exporter label), any other pod by its name label. PodMonitors select pods of this
    namespace only; `sample_limit` caps what one target may add to Prometheus."""
    out: dict[str, dict[str, Any]] = {}
    for p in pod_list:
        if metrics_port(p) is None:
            continue
        if p.ray_group:
            role = "head" if p.ray_group == HEAD_GROUP else "worker"
            name, selector, limit = ("ray-head" if role == "head" else "ray-workers"), {"ray.io/node-type": role}, RAY_SAMPLE_LIMIT
        elif EXPORTER_LABEL in p.labels:
            name, selector, limit = p.name, {EXPORTER_LABEL: p.labels[EXPORTER_LABEL]}, EXPORTER_SAMPLE_LIMIT
        else:
            name, selector, limit = p.name, {layout.LABEL_NAME: p.labels.get(layout.LABEL_NAME, p.name)}, EXPORTER_SAMPLE_LIMIT
        out.setdefault(name, {"name": name, "selector": selector, "sample_limit": limit, "port": METRICS_PORT,
                              "ray": bool(p.ray_group)})
    return list(out.values())


def targets(ctx: BaseContext) -> dashboards.Targets:
    name = ctx["name"]
    queues = ctx["celery"]["queues"]
    batch = [q for q in queues if q.rsplit(".", 1)[-1] in ("ingest", "batch")]
    return dashboards.Targets(
        ns=promql.namespace_scope(ctx["namespace"]),
        gateway=promql.gateway_scope(name),
        queue_regex=promql.regex_alternatives(queues),
        batch_queue_regex=promql.regex_alternatives(batch),
        task_queue_regex=promql.regex_alternatives([*queues, dashboards.UNKNOWN_QUEUE]),
        batch_task_queue_regex=promql.regex_alternatives([*batch, dashboards.UNKNOWN_QUEUE]),
        beat_key=beat_heartbeat_key(name),
        # KubeRay names worker pods <cluster>-<group>-worker-<suffix> (older releases
        # <cluster>-worker-<group>-<suffix>); both contain "-<group>-".
        batch_pod_regex=".*-batch-workers-.*",
        mongodb_exporter="mongodb" in exporters(ctx["datastores"]["mongodb_dedicated"]),
    )


def monitoring_context(ctx: BaseContext) -> Monitoring:
    name, ns = ctx["name"], ctx["namespace"]
    t = targets(ctx)
    groups = alerts.rule_groups(t, name, int(ctx["spec"]["beat_stale_after_s"]), int(ctx["spec"]["serve_unhealthy_after_s"]))
    groups.append(data_alerts.rule_group(t.ns, name, backups.datastores(ctx), cron.stale_after_s(ctx["platform"]),
                                         t.mongodb_exporter))
    data_alerts.finish(groups, name, ns, ctx["control_plane"]["grafana_url"])
    return {
        "exporters": exporters(ctx["datastores"]["mongodb_dedicated"]),
        "exporter_ports": list(EXPORTER_PORTS),
        "ports": {"redis_exporter": REDIS_EXPORTER_PORT, "mongodb_exporter": MONGODB_EXPORTER_PORT,
                  "celery_exporter": CELERY_EXPORTER_PORT},
        "scrape_interval": SCRAPE_INTERVAL,
        "ray_sample_limit": RAY_SAMPLE_LIMIT,
        "exporter_sample_limit": EXPORTER_SAMPLE_LIMIT,
        "exporter_resources": EXPORTER_RESOURCES,
        "redis_addr": f"redis://{ctx['names']['redis_host']}:{ctx['ports']['redis']}",
        "redis_check_keys": ",".join(f"db0={k}" for k in [t.beat_key] + [ctx["names"]["redis_key_prefix"] + q
                                                                      for q in ctx["celery"]["queues"]]),
        "celery_exporter_args": [
            f"--broker-transport-option=global_keyprefix={ctx['names']['redis_key_prefix']}",
            f"--queues={','.join(ctx['celery']['queues'])}",
            "--retry-interval=5",
            f"--port={CELERY_EXPORTER_PORT}",
        ],
        "mongodb_exporter_args": ["--collect-all", "--compatible-mode", f"--web.listen-address=:{MONGODB_EXPORTER_PORT}"],
        "rule_groups": groups,
        "ray_head_env": grafana.ray_head_env(name, ctx["tenant"]["cluster"], ctx["control_plane"]["grafana_url"]),
    }
