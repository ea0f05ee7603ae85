"""The five tenant dashboards of the spec: Queue Health, Batch Status, API Latency,
Cost & Usage, Error Rate.

Every query is built with the tenant's `Scope` (render/monitoring/promql.py), so each selector is
pinned to `namespace="tenant-<name>"` (or `tenant="<name>"` for the shared gateway).
Metric names are the ones the real exporters publish; docs/operations.md lists their
sources. Grafana variables ($__range, ...) are avoided on purpose: every expression is
plain PromQL that a PromQL parser accepts as is.
"""

from __future__ import annotations

from dataclasses import dataclass

from render.monitoring.grafana import GATEWAY, Dashboard, Panel, Query
from render.monitoring.promql import Scope

# Metrics the shared API gateway publishes per tenant (the contract in docs/operations.md).
GATEWAY_REQUESTS = "dataplane_gateway_requests_total"
GATEWAY_DURATION = "dataplane_gateway_request_duration_seconds_bucket"
# Pods of the Celery worker Deployments of base/celery.yaml.j2 (celery-worker, celery-extract),
# not celery-beat or celery-exporter.
CELERY_WORKER_PODS = "celery-(worker|extract)-.*"
# celery-exporter (src/exporter.py) labels a task with the queue of its `task-sent` event and
# with "celery" when it saw none (a producer without task_send_sent_event, or a task sent
# before the exporter's restart); it has no option for another default (src/cli.py). The
# exporter runs in the tenant's namespace, so such a task is still the tenant's: the task
# panels count it, under queue "celery", instead of losing it.
UNKNOWN_QUEUE = "celery"
BACKLOG_HORIZON_S = 6 * 3600  # how far back "Backlog age" looks for the queue's last empty moment


@dataclass(frozen=True)
class Targets:
    """What one tenant's queries need to know about it."""

    ns: Scope
    gateway: Scope
    queue_regex: str  # anchored alternatives of the tenant's Celery queue names
    batch_queue_regex: str  # the ingest and batch queues
    task_queue_regex: str  # queue_regex and UNKNOWN_QUEUE: the task counters' queue label
    batch_task_queue_regex: str  # batch_queue_regex and UNKNOWN_QUEUE
    beat_key: str  # Redis key the beat heartbeat task writes (epoch seconds)
    batch_pod_regex: str  # pods of the batch worker group
    mongodb_exporter: bool = False  # a dedicated MongoDB with its exporter in the namespace


def zero(expr: str) -> str:
    """`expr`, or 0 when the tenant has no such series (no data is not what these panels
    mean: no task, no pod, no error). The 0 carries no labels, so it names no tenant."""
    return f"(({expr}) or vector(0))"


def ratio(part: str, other: str) -> str:
    """part / (part + other), 0 when there is nothing to divide (idle), never NaN or no data."""
    return zero(f"{zero(part)} / (({zero(part)} + {zero(other)}) > 0)")


def all_dashboards(t: Targets) -> tuple[Dashboard, ...]:
    return (queue_health(t), batch_status(t), api_latency(t), cost_usage(t), error_rate(t))


def queue_health(t: Targets) -> Dashboard:
    ns = t.ns
    depth = ns.sel("celery_queue_length", queue_name="~" + t.queue_regex)
    return Dashboard("queues", "Queue Health", "Depth and age of this tenant's Celery queues.", (
        Panel("Queue depth", (Query(f"sum by (queue_name) ({depth})", "{{queue_name}}"),),
              description="Messages waiting in each queue (celery-exporter, celery_queue_length)."),
        Panel("Backlog age (time since the queue was last empty, up to 6h)",
              (Query(backlog_age(depth), "{{queue_name}}"),), unit="s",
              description="A queue not empty in 6 h shows 6 h (the stuck case)."),
        Panel("Tasks received and started per second", (
            Query(f"sum by (queue_name) (rate({ns.sel('celery_task_received_total', queue_name='~' + t.task_queue_regex)}[5m]))",
                  "received {{queue_name}}"),
            Query(f"sum by (queue_name) (rate({ns.sel('celery_task_started_total', queue_name='~' + t.task_queue_regex)}[5m]))",
                  "started {{queue_name}}")), unit="ops",
              description=f"Tasks the exporter saw no task-sent event for are under queue \"{UNKNOWN_QUEUE}\"."),
        Panel("Celery workers up", (Query(zero(f"sum({ns.sel('celery_worker_up')})"), "workers"),
                                    Query(zero(f"sum({ns.sel('kube_pod_status_ready', pod='~' + CELERY_WORKER_PODS, condition='true')})"),
                                          "ready pods"))),
        Panel("Beat heartbeat age", (Query(f"time() - max({ns.sel('redis_key_value', key=t.beat_key)})", "beat"),),
              unit="s", kind="stat", description="Seconds since Celery beat last wrote its heartbeat."),
        Panel("Redis memory", (Query(f"max({ns.sel('redis_memory_used_bytes')})", "used"),
                               Query(f"max({ns.sel('redis_memory_max_bytes')})", "maxmemory")), unit="bytes",
              description="Redis never evicts queued messages: at maxmemory, new tasks are refused."),
        *_mongodb(t),
    ))


def _mongodb(t: Targets) -> tuple[Panel, ...]:
    """The dedicated MongoDB, from its exporter (percona/mongodb_exporter --compatible-mode:
    mongodb_up, exporter/general_collector.go; mongodb_connections{state}, the v1 name of
    mongodb_ss_connections, exporter/v1_compatibility.go). A tenant on the shared instance
    has no exporter in its namespace, so no such panel."""
    if not t.mongodb_exporter:
        return ()
    ns = t.ns
    return (Panel("MongoDB connections", (
        Query(f"max({ns.sel('mongodb_connections', state='current')})", "current"),
        Query(f"max({ns.sel('mongodb_connections', state='available')})", "available"),
        Query(f"max({ns.sel('mongodb_up')})", "up (exporter's ping)")),
        description="Connections in use and left on the dedicated MongoDB; up is 0 when it does not answer."),)


def backlog_age(depth: str) -> str:
    """Seconds since each queue was last empty; BACKLOG_HORIZON_S for one not empty since."""
    h = BACKLOG_HORIZON_S
    return (f"(time() - max by (queue_name) (max_over_time(timestamp({depth} == 0)[{h}s:1m]))) "
            f"or (max by (queue_name) ({depth}) * 0 + {h})")


def batch_status(t: Targets) -> Dashboard:
    ns = t.ns
    q = "~" + t.batch_queue_regex
    tq = "~" + t.batch_task_queue_regex
    ok = ns.sel("celery_task_succeeded_total", queue_name=tq)
    failed = ns.sel("celery_task_failed_total", queue_name=tq)
    return Dashboard("batch", "Batch Status", "Ingestion progress, success and failure rates.", (
        Panel("Tasks completed (24h)", (Query(zero(f"sum(increase({ok}[24h]))"), "succeeded"),
                                        Query(zero(f"sum(increase({failed}[24h]))"), "failed")), kind="stat"),
        Panel("Waiting in ingest and batch queues", (
            Query(f"sum by (queue_name) ({ns.sel('celery_queue_length', queue_name=q)})", "{{queue_name}}"),), kind="stat"),
        Panel("Success and failure rate", (Query(f"sum by (queue_name) (rate({ok}[5m]))", "succeeded {{queue_name}}"),
                                           Query(f"sum by (queue_name) (rate({failed}[5m]))", "failed {{queue_name}}")),
              unit="ops"),
        Panel("Failure ratio", (Query(ratio(f"sum(rate({failed}[15m]))", f"sum(rate({ok}[15m]))"),
                                      "failed / completed"),), unit="percentunit"),
        Panel("Task runtime p95", (Query(
            f"histogram_quantile(0.95, sum by (queue_name, le) (rate({ns.sel('celery_task_runtime_bucket', queue_name=tq)}[5m])))",
            "{{queue_name}}"),), unit="s"),
        Panel("Batch worker pods running", (Query(
            zero(f"sum({ns.sel('kube_pod_status_phase', pod='~' + t.batch_pod_regex, phase='Running')})"), "running"),
            Query(zero(f"sum({ns.sel('kube_pod_status_phase', pod='~' + t.batch_pod_regex, phase='Pending')})"), "pending"))),
        Panel("Failures by exception (1h)", (Query(f"sum by (exception) (increase({failed}[1h]))", "{{exception}}"),),
              width=24),
    ))


def api_latency(t: Targets) -> Dashboard:
    ns, gw = t.ns, t.gateway
    http = ns.sel("ray_serve_http_request_latency_ms_bucket", route="!~/-/.*")
    return Dashboard("latency", "API Latency", "p50/p95/p99 of this tenant's requests.", (
        Panel("API latency (gateway)", tuple(
            Query(f"histogram_quantile({q}, sum by (le) (rate({gw.sel(GATEWAY_DURATION)}[5m])))", f"p{int(q * 100)}")
            for q in (0.5, 0.95, 0.99)), unit="s", width=24, source=GATEWAY),
        Panel("Extractor latency p50", (Query(
            f"histogram_quantile(0.5, sum by (application, le) (rate({http}[5m])))", "{{application}}"),), unit="ms"),
        Panel("Extractor latency p95", (Query(
            f"histogram_quantile(0.95, sum by (application, le) (rate({http}[5m])))", "{{application}}"),), unit="ms"),
        Panel("Extractor latency p99", (Query(
            f"histogram_quantile(0.99, sum by (application, le) (rate({http}[5m])))", "{{application}}"),), unit="ms"),
        Panel("Requests per second by extractor", (Query(
            f"sum by (application) (rate({ns.sel('ray_serve_num_http_requests_total', route='!~/-/.*')}[5m]))",
            "{{application}}"),), unit="reqps"),
        Panel("Ongoing and queued requests", (
            Query(f"sum({ns.sel('ray_serve_num_ongoing_http_requests')})", "ongoing (proxies)"),
            Query(f"sum by (application) ({ns.sel('ray_serve_deployment_queued_queries')})", "queued {{application}}"))),
        Panel("Healthy replicas by extractor", (Query(
            f"sum by (application) ({ns.sel('ray_serve_deployment_replica_healthy')})", "{{application}}"),)),
    ))


def cost_usage(t: Targets) -> Dashboard:
    ns = t.ns
    running = f"({ns.sel('kube_pod_status_phase', phase='Running')} == 1)"

    def requested(resource: str) -> str:
        return f"sum({ns.sel('kube_pod_container_resource_requests', resource=resource)} * on (namespace, pod) group_left () {running})"

    return Dashboard("cost", "Cost & Usage", "Compute hours and resource use of this tenant's namespace.", (
        Panel("CPU core-hours requested (24h)", (Query(f"avg_over_time({requested('cpu')}[24h:5m]) * 24", "core-hours"),),
              kind="stat", width=8),
        Panel("GPU-hours requested (24h)", (Query(f"avg_over_time({requested('nvidia_com_gpu')}[24h:5m]) * 24", "GPU-hours"),),
              kind="stat", width=8),
        Panel("Memory GiB-hours requested (24h)", (
            Query(f"avg_over_time({requested('memory')}[24h:5m]) * 24 / 1073741824", "GiB-hours"),), kind="stat", width=8),
        Panel("CPU used vs requested", (
            Query(f"sum(rate({ns.sel('container_cpu_usage_seconds_total', container='!')}[5m]))", "used"),
            Query(requested("cpu"), "requested")), unit="cores"),
        Panel("Memory used vs requested", (
            Query(f"sum({ns.sel('container_memory_working_set_bytes', container='!')})", "working set"),
            Query(requested("memory"), "requested")), unit="bytes"),
        Panel("CPU by pod", (Query(
            f"topk(10, sum by (pod) (rate({ns.sel('container_cpu_usage_seconds_total', container='!')}[5m])))", "{{pod}}"),),
              unit="cores"),
        Panel("Memory by pod", (Query(
            f"topk(10, sum by (pod) ({ns.sel('container_memory_working_set_bytes', container='!')}))", "{{pod}}"),),
              unit="bytes"),
        Panel("Pods by phase", (Query(f"sum by (phase) ({ns.sel('kube_pod_status_phase')})", "{{phase}}"),), width=24),
    ))


def error_rate(t: Targets) -> Dashboard:
    ns, gw = t.ns, t.gateway
    errors = gw.sel(GATEWAY_REQUESTS, code="~5..")
    serve_errors = ns.sel("ray_serve_num_http_error_requests_total", error_code="~5..", route="!~/-/.*")
    return Dashboard("errors", "Error Rate", "5xx errors of this tenant's requests.", (
        Panel("5xx ratio (gateway)", (Query(ratio(f"sum(rate({errors}[5m]))",
                                                  f"sum(rate({gw.sel(GATEWAY_REQUESTS, code='!~5..')}[5m]))"),
                                            "5xx / all"),),
              unit="percentunit", width=24, source=GATEWAY),
        Panel("5xx by status code (gateway)", (Query(f"sum by (code) (rate({errors}[5m]))", "{{code}}"),), unit="reqps",
              source=GATEWAY),
        Panel("Extractor 5xx by status code", (Query(
            f"sum by (application, error_code) (rate({serve_errors}[5m]))", "{{application}} {{error_code}}"),), unit="reqps"),
        Panel("Extractor deployment errors", (Query(
            f"sum by (application, deployment) (rate({ns.sel('ray_serve_deployment_error_counter_total')}[5m]))",
            "{{application}}"),), unit="ops"),
        Panel("Celery task failures", (Query(
            f"sum by (queue_name) (rate({ns.sel('celery_task_failed_total', queue_name='~' + t.task_queue_regex)}[5m]))",
            "{{queue_name}}"),), unit="ops"),
        Panel("Container restarts (1h)", (Query(
            f"sum by (pod) (increase({ns.sel('kube_pod_container_status_restarts_total')}[1h])) > 0", "{{pod}}"),),
              width=24),
    ))
