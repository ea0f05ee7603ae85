"""Input series for the promtool alert tests (tests/conformance/test_alerts_promtool.py), shaped as each
exporter really emits them, for one misbehaving and one healthy tenant per alert.

Each `Case` gives, for one alert: the series of the misbehaving tenant (`bad`), of the
healthy tenant in one or more healthy edge states (`healthy`: scaled to zero, idle queue,
exporter restart...), the alert's own output labels, and the minute its condition first
holds (`onset`), from which the test derives when the `for` lets it fire.

Series shapes and their upstream sources (label sets exactly as exported; the scrape adds
`namespace`, `pod`, `job`, `instance` as the PodMonitors of base/ configure them):

- Ray 2.60 (the `ray` package pinned in constraints.txt, ray-project/ray):
  `ray_serve_num_http_requests_total{route,method,application,status_code}` and
  `ray_serve_http_request_latency_ms_bucket{method,route,application,status_code,le}`
  (python/ray/serve/_private/request_ingress_metrics.py; buckets DEFAULT_LATENCY_BUCKET_MS
  in constants.py), `ray_serve_deployment_queued_queries{deployment,application,handle,
  actor_id}` (router.py), `ray_serve_deployment_replica_healthy{deployment,application}`
  and `ray_serve_health_check_failures_total{deployment,application}` (deployment_state.py,
  without high-cardinality tags), `ray_serve_deployment_replica_starts_total{deployment,
  replica,application}` (replica.py `_restart_counter`, Serve tags added by
  python/ray/serve/metrics.py); Counters get `_total` (python/ray/util/metrics.py); every
  series carries the metrics agent's `SessionName` and `NodeAddress`.
- celery-exporter (danihodovic/celery-exporter src/exporter.py): `celery_queue_length
  {queue_name}`, set only for the queues it knows (--queues) and absent after a restart
  until its first broker poll.
- redis_exporter (oliver006/redis_exporter, exporter/keys.go, check-single-keys):
  `redis_key_value{db,key}`.
- kube-state-metrics (kubernetes/kube-state-metrics docs/metrics/workload/pod-metrics.md,
  statefulset-metrics.md, cronjob-metrics.md): `kube_pod_status_phase{namespace,pod,uid,
  phase}` (one series per phase, 1 for the current one),
  `kube_pod_container_status_last_terminated_reason{namespace,pod,uid,container,reason}`
  (kept until the next termination), `kube_pod_container_status_restarts_total{namespace,
  pod,uid,container}`, `kube_statefulset_status_replicas_ready{namespace,statefulset}`,
  `kube_cronjob_status_last_successful_time{namespace,cronjob}` (absent until a first
  success) and `kube_cronjob_created{namespace,cronjob}`.
- mongodb_exporter (percona/mongodb_exporter exporter/general_collector.go): `mongodb_up`
  (no labels of its own; 1 when the exporter's ping of the instance succeeds).
- kubelet (kubernetes/kubernetes pkg/kubelet/metrics/collectors/volume_stats.go):
  `kubelet_volume_stats_used_bytes` and `_capacity_bytes{namespace,persistentvolumeclaim}`.
- The API gateway's contract (docs/operations.md): `dataplane_gateway_requests_total
  {tenant,route,method,code}`, `dataplane_gateway_request_duration_seconds_bucket
  {tenant,route,le}` (prometheus_client's default buckets).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

Series = tuple[str, dict[str, str], str]  # metric, labels, promtool values notation
H = 60  # minutes of input each case covers at its interval


@dataclass(frozen=True)
class Tenant:
    name: str
    ns: str
    queues: list[str]  # the celery-exporter's --queues
    beat_key: str  # the heartbeat key redis_exporter checks
    datastores: list[str]  # StatefulSets
    backups: list[str]  # datastores with a backup CronJob


@dataclass(frozen=True)
class Case:
    bad: Callable[[Tenant], list[Series]]
    healthy: list[Callable[[Tenant], list[Series]]]
    labels: Callable[[Tenant], dict[str, str]] = lambda t: {}
    onset: int = 0  # the minute the condition first holds
    interval: int = 1  # minutes between samples
    horizon: int = H  # steps of input
    evaluation: int = 1  # minutes between rule evaluations (onset is a multiple)


def _ray(t: Tenant, **labels: str) -> dict[str, str]:
    return {"namespace": t.ns, "pod": f"engine-raycluster-x-cpu-workers-worker-{labels.pop('_pod', 'a1')}",
            "job": "ray-workers", "SessionName": "session_2026_12_07", "NodeAddress": "10.0.0.7", **labels}


def _ksm(t: Tenant, **labels: str) -> dict[str, str]:
    return {"job": "kube-state-metrics", "instance": "10.0.9.9:8080", "namespace": t.ns, **labels}


def _exporter(t: Tenant, job: str, **labels: str) -> dict[str, str]:
    return {"namespace": t.ns, "pod": f"{job}-6d9f-x", "job": f"{t.ns}/{job}", **labels}


def _gw(t: Tenant, **labels: str) -> dict[str, str]:
    return {"job": "dataplane-gateway", "namespace": "dataplane-system", "tenant": t.name, "route": "/extract", **labels}


def _hist(metric: str, labels: dict[str, str], bounds: list[str], slow_from: str | None, per_min: int) -> list[Series]:
    """Cumulative buckets: every observation in the bucket `slow_from` (None: the first)."""
    out, hit = [], False
    for le in bounds + ["+Inf"]:
        hit = hit or slow_from in (None, le)
        out.append((metric, {**labels, "le": le}, f"0+{per_min}x{H}" if hit else f"0x{H}"))
    return out


# -- pods -----------------------------------------------------------------------------
def _phase(t: Tenant, pod: str, phases: dict[str, str]) -> list[Series]:
    return [("kube_pod_status_phase", _ksm(t, pod=pod, uid="u-" + pod, phase=p), phases.get(p, f"0x{H}"))
            for p in ("Pending", "Running", "Succeeded", "Failed", "Unknown")]


PENDING_POD = "celery-worker-7f9c-abcde"
OOM_POD, OOM_CONTAINER = "engine-raycluster-x-gpu-workers-worker-q2", "ray-worker"


def _oom(t: Tenant, restarts: str) -> list[Series]:
    ids = {"pod": OOM_POD, "uid": "u1", "container": OOM_CONTAINER}
    return [("kube_pod_container_status_last_terminated_reason", _ksm(t, reason="OOMKilled", **ids), f"1x{H}"),
            ("kube_pod_container_status_restarts_total", _ksm(t, **ids), restarts)]


# -- serve ------------------------------------------------------------------------------
APP = "pdf-extractor"


def _requests(t: Tenant, code: str, app: str = APP) -> Series:
    return ("ray_serve_num_http_requests_total",
            _ray(t, route="/" + app, method="POST", application=app, status_code=code), f"0+30x{H}")


def _healthy_gauge(t: Tenant, value: str) -> Series:
    return ("ray_serve_deployment_replica_healthy", _ray(t, deployment="Extractor", application=APP), value)


def _replica_starts(t: Tenant, app: str, lives: list[tuple[int, int]]) -> list[Series]:
    """One `_total` series per replica, 1 while it lives (from, to minute), absent before and stale after."""
    out = []
    for i, (start, end) in enumerate(lives):
        values = " ".join(["_"] * start + ["1"] * (end - start) + (["stale"] if end < H else []))
        out.append(("ray_serve_deployment_replica_starts_total",
                    _ray(t, deployment="Extractor", application=app, replica=f"{app}#Extractor#r{i}", _pod=f"a{i}"), values))
    return out


def _failures(t: Tenant, app: str, values: str) -> Series:
    return ("ray_serve_health_check_failures_total", _ray(t, deployment="Extractor", application=app), values)


LATENCY_MS = ["1.0", "2.0", "5.0", "10.0", "20.0", "50.0", "100.0", "200.0", "300.0", "400.0", "500.0", "1000.0",
              "2000.0", "5000.0", "10000.0", "60000.0", "120000.0", "300000.0", "600000.0"]


def _latency(t: Tenant, route: str, slow_from: str | None) -> list[Series]:
    labels = _ray(t, method="POST", route=route, application=APP, status_code="200")
    return _hist("ray_serve_http_request_latency_ms_bucket", labels, LATENCY_MS, slow_from, 20)


# -- queues -----------------------------------------------------------------------------
def _batch(t: Tenant) -> str:
    return next(q for q in t.queues if q.endswith(".batch"))


def _queue(t: Tenant, queue: str, values: str) -> Series:
    return ("celery_queue_length", _exporter(t, "celery-exporter", queue_name=queue), values)


def _beat(t: Tenant, values: str) -> Series:
    return ("redis_key_value", _exporter(t, "redis-exporter", db="db0", key=t.beat_key), values)


# -- gateway ----------------------------------------------------------------------------
GATEWAY_BUCKETS = [".005", ".01", ".025", ".05", ".075", ".1", ".25", ".5", ".75", "1.0", "2.5", "5.0", "7.5", "10.0"]


def _codes(t: Tenant, ok: str, failed: str) -> list[Series]:
    return [("dataplane_gateway_requests_total", _gw(t, method="POST", code="200"), ok),
            ("dataplane_gateway_requests_total", _gw(t, method="POST", code="503"), failed)]


def _gw_latency(t: Tenant, slow_from: str | None) -> list[Series]:
    return _hist("dataplane_gateway_request_duration_seconds_bucket", _gw(t), GATEWAY_BUCKETS, slow_from, 50)


# -- data -------------------------------------------------------------------------------
def _ready(t: Tenant, values: str) -> list[Series]:
    return [("kube_statefulset_status_replicas_ready", _ksm(t, statefulset=t.datastores[0]), values)]


def _mongodb_up(t: Tenant, values: str) -> list[Series]:
    return [("mongodb_up", _exporter(t, "mongodb-exporter"), values)]


def _volume(t: Tenant, used: str) -> list[Series]:
    labels = {"job": "kubelet", "node": "gke-node-1", "metrics_path": "/metrics", "namespace": t.ns,
              "persistentvolumeclaim": f"data-{t.datastores[0]}-0"}
    return [("kubelet_volume_stats_used_bytes", labels, used),
            ("kubelet_volume_stats_capacity_bytes", labels, f"10737418240x{H}")]


def _cronjob(t: Tenant, job: str, created: str, last_success: str | None) -> list[Series]:
    out = [("kube_cronjob_created", _ksm(t, cronjob=job), created)]
    if last_success is not None:
        out.append(("kube_cronjob_status_last_successful_time", _ksm(t, cronjob=job), last_success))
    return out


GIB = 1073741824
SERVE_HEALTHY: list[Callable[[Tenant], list[Series]]] = [
    # scaled to zero: no replica series, the failure counter of an old incident flat
    lambda t: [_failures(t, APP, f"5x{H}")],
    # one transient failure; autoscaling 1 -> 3 replicas and back to 1
    lambda t: [_failures(t, APP, f"0x20 1x{H - 21}")] + _replica_starts(t, APP, [(0, H), (10, 30), (10, 30)]),
    # the metrics agent restarted (the head pod): the counter starts over
    lambda t: [_failures(t, APP, f"2x20 stale 0x{H - 22}")] + _replica_starts(t, APP, [(0, H)])]
# Every alert, by name; BackupStale<Datastore> is added per datastore by `case`.
CASES: dict[str, Case] = {
    "DataplanePodPendingTooLong": Case(
        bad=lambda t: _phase(t, PENDING_POD, {"Pending": f"1x{H}"}),
        healthy=[lambda t: _phase(t, PENDING_POD, {"Running": f"1x{H}"}),
                 # scheduled after 4 minutes (a node was added)
                 lambda t: _phase(t, PENDING_POD, {"Pending": f"1x3 0x{H - 4}", "Running": f"0x3 1x{H - 4}"})],
        labels=lambda t: {"pod": PENDING_POD}),
    "DataplaneContainerOOMKilled": Case(
        bad=lambda t: _oom(t, f"0x2 1x{H - 3}"), onset=3,
        # an old OOM (KSM keeps the last reason) and no restart since
        healthy=[lambda t: _oom(t, f"4x{H}")],
        labels=lambda t: {"pod": OOM_POD, "container": OOM_CONTAINER}),
    "DataplaneExtractorNoReplicas": Case(
        bad=lambda t: [_requests(t, "503")], onset=1,
        healthy=[lambda t: [_requests(t, "200"), _healthy_gauge(t, f"1x{H}")],
                 lambda t: []],  # scaled to zero and idle: no requests, no replica
        labels=lambda t: {"application": APP}),
    "DataplaneExtractorSaturated": Case(
        bad=lambda t: [("ray_serve_deployment_queued_queries",
                        _ray(t, deployment="Extractor", application=APP, handle="h1", actor_id="p1"), f"7x{H}")],
        healthy=[lambda t: [("ray_serve_deployment_queued_queries",
                             _ray(t, deployment="Extractor", application=APP, handle="h1", actor_id="p1"),
                             f"0x20 4x3 0x{H - 24}")]],  # a short burst
        labels=lambda t: {"application": APP}),
    "DataplaneExtractorLatencyP99High": Case(
        bad=lambda t: _latency(t, "/" + APP, "60000.0"), onset=1,
        # fast requests; a slow route of Serve's own (/-/routes) is not an extractor's latency
        healthy=[lambda t: _latency(t, "/" + APP, "100.0") + _latency(t, "/-/routes", "60000.0")],
        labels=lambda t: {"application": APP}),
    # Crash after start: `pdf-extractor` fails a health check every 20 s (Serve replaces it after 3).
    "DataplaneServeUnhealthy": Case(
        bad=lambda t: [_failures(t, APP, f"0+3x{H}")] + _replica_starts(t, APP, [(0, H)]), onset=1,
        healthy=SERVE_HEALTHY, labels=lambda t: {"application": APP}),
    # Crash at start-up: a new `ocr` replica every 2 minutes, each living one scrape.
    "DataplaneServeUnhealthy#startup": Case(
        bad=lambda t: _replica_starts(t, "ocr", [(m, m + 1) for m in range(0, H - 1, 2)]), onset=6,
        healthy=SERVE_HEALTHY, labels=lambda t: {"application": "ocr"}),
    "DataplaneBatchBacklogNoWorkers": Case(
        bad=lambda t: [_queue(t, _batch(t), f"40x{H}")] + _phase(t, "engine-raycluster-x-batch-workers-worker-a", {}),
        healthy=[lambda t: [_queue(t, _batch(t), f"0x{H}")],  # idle queue, group scaled to zero
                 lambda t: [_queue(t, _batch(t), "40-1x40")]
                 + _phase(t, "engine-raycluster-x-batch-workers-worker-a", {"Running": f"1x{H}"}),
                 # the exporter restarted: no queue length until its first broker poll
                 lambda t: [_queue(t, _batch(t), f"0x20 stale _x3 0x{H - 25}")]],
        labels=lambda t: {"queue_name": _batch(t)}),
    "DataplaneCeleryBeatStale": Case(
        bad=lambda t: [_beat(t, f"0x{H}")], onset=6,  # the heartbeat stopped at t=0
        healthy=[lambda t: [_beat(t, f"0+60x{H}")],
                 # redis_exporter restarted: the key is absent for two scrapes
                 lambda t: [_beat(t, f"0+60x20 stale _ 1320+60x{H - 23}")]]),
    "DataplaneApiErrorRateHigh": Case(
        bad=lambda t: _codes(t, f"0+100x{H}", f"0+20x{H}"), onset=1,
        healthy=[lambda t: _codes(t, f"0+100x{H}", f"0+1x{H}"),
                 # the gateway restarted: its counters start over
                 lambda t: _codes(t, f"0+100x30 0+100x{H - 31}", f"0+1x30 0+1x{H - 31}")]),
    "DataplaneApiLatencyP99High": Case(
        bad=lambda t: _gw_latency(t, "5.0"), onset=1,
        healthy=[lambda t: _gw_latency(t, ".1"), lambda t: []]),  # fast; no traffic at all
    "DataplaneDatastoreDown": Case(
        bad=lambda t: _ready(t, f"1x4 0x{H - 5}"), onset=5,
        healthy=[lambda t: _ready(t, f"1x{H}"),
                 lambda t: _ready(t, f"1x10 0x2 1x{H - 13}")],  # a restart (a node drain)
        labels=lambda t: {"statefulset": t.datastores[0]}),
    "DataplaneMongodbUnreachable": Case(
        bad=lambda t: _mongodb_up(t, f"1x4 0x{H - 5}"), onset=5,
        healthy=[lambda t: _mongodb_up(t, f"1x{H}"),
                 lambda t: _mongodb_up(t, f"1x10 0x2 1x{H - 13}")]),  # a restart (a node drain)
    "DataplaneVolumeAlmostFull": Case(
        bad=lambda t: _volume(t, f"{9 * GIB}x{H}"),
        healthy=[lambda t: _volume(t, f"{5 * GIB}x{H}"),
                 lambda t: _volume(t, f"{5 * GIB}x10 {9 * GIB}x5 {5 * GIB}x{H - 16}")],  # a short spike
        labels=lambda t: {"persistentvolumeclaim": f"data-{t.datastores[0]}-0"}),
}


def backup_case(datastore: str, stale_after_s: int) -> Case:
    """Samples every 2 minutes (within Prometheus' 5-minute lookback), rules evaluated every
    10; in the healthy tenant the schedule succeeds every stale_after_s / 2.
    `time() - last > stale_after_s` first holds one evaluation after stale_after_s."""
    job, step, evaluation = f"backup-{datastore}", 120, 10
    half = stale_after_s // 2 // step
    onset = (stale_after_s // 60 // evaluation + 1) * evaluation
    n = onset // 2 + 6
    every = " ".join(f"{k * half * step}x{half - 1}" for k in range(n // half + 1))
    return Case(
        bad=lambda t: _cronjob(t, job, f"0x{n}", f"0x{n}"), onset=onset, interval=2, horizon=n, evaluation=evaluation,
        healthy=[lambda t: _cronjob(t, job, f"0x{n}", every),
                 # a CronJob created at step 40 that has not run yet
                 lambda t: _cronjob(t, job, f"_x39 {40 * step}x{n - 40}", None)])
