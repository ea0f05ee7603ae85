"""Alert rules for the spec's troubleshooting cases, pinned to one tenant.

Each rule says what broke and which `dataplane` command shows the fix. Expressions are
built from the same `Scope` as the dashboards, so every selector carries the tenant's
namespace (or its gateway label). Pure data: a list of Prometheus rule groups.
"""

from __future__ import annotations

from typing import Any

from render.monitoring.dashboards import GATEWAY_DURATION, GATEWAY_REQUESTS, Targets
from render.monitoring.data_alerts import alert as _alert

PENDING_FOR = "10m"
ERROR_RATIO = 0.05  # 5xx share of the tenant's requests
P99_SECONDS = 2.0  # gateway p99
EXTRACTOR_P99_MS = 10000  # an extractor's p99, cold starts included
HEALTH_CHECK_THRESHOLD = 3  # Ray Serve's consecutive failures before it replaces a replica
REPLACED_REPLICAS = 3  # replicas that died and were replaced within the window


def rule_groups(t: Targets, tenant: str, beat_stale_after_s: int, serve_unhealthy_after_s: int = 900) -> list[dict[str, Any]]:
    doctor = f"Run `dataplane doctor {tenant}` for the cause and the overrides.yaml change that fixes it."
    return [
        {"name": "dataplane.pods", "rules": _pod_rules(t, doctor)},
        {"name": "dataplane.serve", "rules": _serve_rules(t, doctor) + [_serve_unhealthy(t, doctor, serve_unhealthy_after_s)]},
        {"name": "dataplane.queues", "rules": _queue_rules(t, tenant, doctor, beat_stale_after_s)},
    ]


def gateway_rule_groups(t: Targets, tenant: str) -> list[dict[str, Any]]:
    """The gateway's alerts: evaluated by the management cluster's Prometheus, where the
    gateway's series are (render/monitoring/control_plane.py), never in the data plane."""
    doctor = f"Run `dataplane doctor {tenant}` for the cause and the overrides.yaml change that fixes it."
    return [{"name": "dataplane.gateway", "rules": _gateway_rules(t, doctor)}]


def _pod_rules(t: Targets, doctor: str) -> list[dict[str, Any]]:
    ns = t.ns
    return [
        _alert("DataplanePodPendingTooLong",
               f"max by (pod) ({ns.sel('kube_pod_status_phase', phase='Pending')}) > 0", PENDING_FOR, "warning",
               "Pod {{ $labels.pod }} has been Pending for more than " + PENDING_FOR + ".",
               "kube_pod_status_phase{phase=\"Pending\"} is {{ $value }}. Usually insufficient CPU/memory (a node is being added), no L4 GPU in the region, or the namespace "
               "quota. " + doctor),
        _alert("DataplaneContainerOOMKilled",
               f"max by (pod, container) (increase({ns.sel('kube_pod_container_status_restarts_total')}[15m])) > 0 "
               f"and on (pod, container) "
               f"max by (pod, container) ({ns.sel('kube_pod_container_status_last_terminated_reason', reason='OOMKilled')}) > 0",
               "0m", "warning",
               "Container {{ $labels.container }} of {{ $labels.pod }} was OOMKilled.",
               "It exceeded its memory limit and restarted ({{ $value }} restarts in 15 minutes). Raise the memory of its worker group (cluster.<group>.memory) or "
               "extractor in overrides.yaml. " + doctor),
    ]


def _serve_rules(t: Targets, doctor: str) -> list[dict[str, Any]]:
    ns = t.ns
    return [
        _alert("DataplaneExtractorNoReplicas",
               f"sum by (application) (rate({ns.sel('ray_serve_num_http_requests_total', application='!')}[5m])) > 0 "
               f"unless on (application) sum by (application) ({ns.sel('ray_serve_deployment_replica_healthy')}) > 0",
               "5m", "critical",
               "Extractor {{ $labels.application }} receives requests but has no healthy replica (503s).",
               "{{ $value | humanize }} requests/s arrive. Scaled to zero or failing to start. Set min_replicas: 1 for latency-sensitive extractors. " + doctor),
        _alert("DataplaneExtractorSaturated",
               f"sum by (application) ({ns.sel('ray_serve_deployment_queued_queries')}) > 0", "15m", "warning",
               "Extractor {{ $labels.application }} has had queued requests for 15 minutes.",
               "{{ $value }} requests are queued. All replicas are busy. Raise max_replicas (and check the worker group's max_replicas). " + doctor),
        _alert("DataplaneExtractorLatencyP99High",
               f"histogram_quantile(0.99, sum by (application, le) "
               f"(rate({ns.sel('ray_serve_http_request_latency_ms_bucket', route='!~/-/.*')}[5m]))) > {EXTRACTOR_P99_MS}",
               "15m", "warning", "Extractor {{ $labels.application }} p99 latency is above " + f"{EXTRACTOR_P99_MS} ms.",
               "p99 is {{ $value | humanize }} ms. Sustained slowness: raise max_replicas or lower target_ongoing_requests. " + doctor),
    ]


def _serve_unhealthy(t: Targets, doctor: str, after_s: int) -> dict[str, Any]:
    """A crash-looping extractor, from the counters Ray 2.60 really exports (its
    `ray_serve_deployment_replica_healthy` gauge is set once per state change and
    dropped by the metrics agent, so it never stays 0):

    - `ray_serve_health_check_failures_total{application,deployment}`: the Serve
      controller's counter of failed replica health checks (python/ray/serve/_private/
      deployment_state.py, `health_check_failures_counter`); Serve replaces a replica
      after REPLICA_HEALTH_CHECK_UNHEALTHY_THRESHOLD = 3 consecutive failures
      (python/ray/serve/_private/constants.py).
    - `ray_serve_deployment_replica_starts_total{application,deployment,replica}`: each
      replica actor increments it once at start (python/ray/serve/_private/replica.py,
      `_restart_counter`), so every replica is one series and a replaced replica is a
      new one. Replicas seen in the window beyond the most that ran at once were
      replacements.

    An extractor scaled to zero has no replica series and no new failures: silent. KubeRay
    v1 never replaces a cluster whose Serve stays unhealthy, so an operator is paged once
    the loop has lasted the tenant's spec.serve_unhealthy_after_s (window plus `for`)."""
    window = max(60, min(600, after_s // 2))
    for_s = max(0, after_s - window)
    ns = t.ns
    starts = ns.sel("ray_serve_deployment_replica_starts_total")
    failures = (f"sum by (application) (increase({ns.sel('ray_serve_health_check_failures_total')}[{window}s])) "
                f">= {HEALTH_CHECK_THRESHOLD}")
    replaced = (f"count by (application) (count_over_time({starts}[{window}s])) "
                f"- max_over_time(count by (application) ({starts})[{window}s:1m]) >= {REPLACED_REPLICAS}")
    return _alert("DataplaneServeUnhealthy", f"{failures} or {replaced}", f"{for_s}s" if for_s else "0m", "critical",
                  "Extractor {{ $labels.application }} is crash-looping (" + f"{after_s}s).",
                  "Its replicas fail their health checks or die and are replaced ({{ $value }} failed checks or "
                  "replaced replicas in the last " + f"{window}s), and KubeRay does not replace the cluster by itself: "
                  "roll back the release or restart the RayService. " + doctor)


def _queue_rules(t: Targets, tenant: str, doctor: str, beat_stale_after_s: int) -> list[dict[str, Any]]:
    ns = t.ns
    return [
        _alert("DataplaneBatchBacklogNoWorkers",
               f"sum by (queue_name) ({ns.sel('celery_queue_length', queue_name='~' + t.batch_queue_regex)}) > 0 "
               f"unless on () sum({ns.sel('kube_pod_status_phase', pod='~' + t.batch_pod_regex, phase='Running')}) > 0",
               "15m", "warning",
               "Queue {{ $labels.queue_name }} holds work but no batch-workers pod is running.",
               "{{ $value }} messages wait. " f"Scale the group up for the job: `dataplane scale {tenant} batch-workers --replicas 1`. " + doctor),
        _alert("DataplaneCeleryBeatStale",
               f"time() - max({ns.sel('redis_key_value', key=t.beat_key)}) > {beat_stale_after_s} "
               f"or absent({ns.sel('redis_key_value', key=t.beat_key)})",
               "5m", "critical",
               "Celery beat has not written its heartbeat for more than " + f"{beat_stale_after_s}s.",
               "Heartbeat age: {{ $value | humanizeDuration }} (1 when the key is missing). Periodic tasks are not "
               f"being scheduled. Check the celery-beat pod's logs and restart it; `dataplane status {tenant}` shows it."),
    ]


def _gateway_rules(t: Targets, doctor: str) -> list[dict[str, Any]]:
    gw = t.gateway
    return [
        _alert("DataplaneApiErrorRateHigh",
               f"sum(rate({gw.sel(GATEWAY_REQUESTS, code='~5..')}[5m])) / sum(rate({gw.sel(GATEWAY_REQUESTS)}[5m])) "
               f"> {ERROR_RATIO}",
               "10m", "critical", f"More than {ERROR_RATIO:.0%} of this tenant's API requests fail with 5xx.",
               "{{ $value | humanizePercentage }} fail. See the Error Rate dashboard for the status codes and extractors involved. " + doctor),
        _alert("DataplaneApiLatencyP99High",
               f"histogram_quantile(0.99, sum by (le) (rate({gw.sel(GATEWAY_DURATION)}[5m]))) > {P99_SECONDS}",
               "15m", "warning", f"p99 API latency of this tenant is above {P99_SECONDS:g}s.",
               "p99 is {{ $value | humanize }}s. See the API Latency dashboard for the extractors involved. " + doctor),
    ]

