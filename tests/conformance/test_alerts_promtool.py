"""Every rendered alert, proven with Prometheus' own rule engine (`promtool test rules`,
Debian's prometheus package) on series shaped as the exporters really emit them
(tests/alert_cases.py cites the upstream source of each shape).

Per tenant, the test generates a promtool test file from the committed
rendered/<t>/prometheusrule-*.yaml: the tenant misbehaves, the next tenant (its rules
loaded too) sits in a healthy edge state (scaled to zero, idle queue, exporter restart,
...). The misbehaving tenant's alert must be absent one evaluation before its `for` has
elapsed and firing after it; the healthy tenant's must never appear (promtool compares the
complete list of firing alerts of that name).
"""

from __future__ import annotations

import json
import math
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from render import layout
from tests.alert_cases import CASES, Case, Series, Tenant, backup_case
from tests.support import ROOT, need_binary

RENDERED = ROOT / layout.RENDERED_DIR
TENANTS = sorted(p.name for p in RENDERED.iterdir() if any(p.glob("prometheusrule-*.yaml")))


def _load(tenant: str, pattern: str) -> list[dict[str, Any]]:
    """The tenant's rendered objects matching `pattern`: its data plane's and its monitoring in
    the management cluster (the gateway alerts, the dashboards)."""
    folders = (RENDERED / tenant, ROOT / layout.monitoring_dir(tenant))
    return [d for folder in folders for f in sorted(folder.glob(pattern)) for d in yaml.safe_load_all(f.read_text()) if d]


def tenant_of(name: str) -> Tenant:
    (exporter,) = _load(name, "deployment-celery-exporter.yaml")
    (args,) = [c["args"] for c in exporter["spec"]["template"]["spec"]["containers"] if c["name"] == "celery-exporter"]
    (queues,) = [a.split("=", 1)[1].split(",") for a in args if a.startswith("--queues=")]
    (redis,) = _load(name, "deployment-redis-exporter.yaml")
    env = {e["name"]: e.get("value") for c in redis["spec"]["template"]["spec"]["containers"] for e in c.get("env", [])}
    (beat,) = [k.split("=", 1)[1] for k in env["REDIS_EXPORTER_CHECK_SINGLE_KEYS"].split(",") if ":beat:" in k]
    return Tenant(name, exporter["metadata"]["namespace"], queues, beat,
                  [s["metadata"]["name"] for s in _load(name, "statefulset-*.yaml")],
                  [c["metadata"]["name"].removeprefix("backup-") for c in _load(name, "cronjob-backup-*.yaml")])


def rules_of(tenant: str) -> list[dict[str, Any]]:
    return [r for o in _load(tenant, "prometheusrule-*.yaml") for g in o["spec"]["groups"] for r in g["rules"]]


def rule_file(tenant: str, path: Path) -> None:
    """The tenant's groups as a Prometheus rule file; annotations are checked by `promtool check rules`."""
    groups = [{**g, "rules": [{k: v for k, v in r.items() if k != "annotations"} for r in g["rules"]]}
              for o in _load(tenant, "prometheusrule-*.yaml") for g in o["spec"]["groups"]]
    path.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))


def cases_for(rule: dict[str, Any]) -> dict[str, Case]:
    name = rule["alert"]
    if m := re.fullmatch(r"DataplaneBackupStale(\w+)", name):
        (stale,) = re.findall(r"> (\d+)$", rule["expr"])
        return {name: backup_case(m.group(1).lower(), int(stale))}
    return {k: c for k, c in CASES.items() if k.split("#")[0] == name}


def seconds(duration: str) -> int:
    value, unit = int(duration[:-1]), duration[-1]
    return value * {"s": 1, "m": 60, "h": 3600}[unit]


def _series(series: list[Series]) -> list[dict[str, str]]:
    def sel(metric: str, labels: dict[str, str]) -> str:
        return metric + "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"
    return [{"series": sel(m, labels), "values": values} for m, labels, values in series]


def promtool_tests(bad: Tenant, healthy: Tenant, rule: dict[str, Any], case: Case) -> list[dict[str, Any]]:
    """One promtool test per healthy edge state: silent one evaluation before the `for` has
    elapsed since the condition first held, firing at that evaluation."""
    step = case.evaluation
    fire = case.onset + math.ceil(seconds(rule.get("for", "0s")) / 60 / step) * step
    if rule["alert"] == "DataplaneServeUnhealthy":
        # fires within the tenant's spec.serve_unhealthy_after_s: the counter window plus `for`
        (window,) = set(re.findall(r"\[(\d+)s[]:]", rule["expr"]))
        assert fire * 60 <= int(window) + seconds(rule.get("for", "0s"))
    expected = [{"exp_labels": {**rule["labels"], **case.labels(bad)}}]
    return [{"interval": f"{case.interval}m", "input_series": _series(case.bad(bad) + edge(healthy)),
             "alert_rule_test": [{"eval_time": f"{fire - step}m", "alertname": rule["alert"], "exp_alerts": []},
                                 {"eval_time": f"{fire}m", "alertname": rule["alert"], "exp_alerts": expected}]}
            for edge in case.healthy]


@pytest.fixture(scope="module")
def promtool() -> str:
    return need_binary("promtool", "install Debian's prometheus package (apt-get install prometheus)")


@pytest.mark.parametrize("index", range(len(TENANTS)), ids=TENANTS)
def test_every_alert_fires_for_the_misbehaving_tenant_only(promtool: str, index: int, tmp_path: Path) -> None:
    bad_name, healthy_name = TENANTS[index], TENANTS[(index + 1) % len(TENANTS)]
    bad, healthy = tenant_of(bad_name), tenant_of(healthy_name)
    tests: dict[int, list[dict[str, Any]]] = {}  # by evaluation interval
    uncovered = []
    for rule in rules_of(bad_name):
        cases = cases_for(rule)
        uncovered += [] if cases else [rule["alert"]]
        for case in cases.values():
            tests.setdefault(case.evaluation, []).extend(promtool_tests(bad, healthy, rule, case))
    assert not uncovered, f"alerts without a promtool case in tests/alert_cases.py: {uncovered}"
    for name in (bad_name, healthy_name):
        rule_file(name, tmp_path / f"{name}.rules.yaml")
    for evaluation, group in sorted(tests.items()):
        spec = {"rule_files": [f"{bad_name}.rules.yaml", f"{healthy_name}.rules.yaml"],
                "evaluation_interval": f"{evaluation}m", "tests": group}
        (tmp_path / f"test-{evaluation}m.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
        run = subprocess.run([promtool, "test", "rules", f"test-{evaluation}m.yaml"], cwd=tmp_path, capture_output=True,
                             text=True, timeout=300)
        assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]


@pytest.mark.parametrize("tenant", TENANTS)
def test_rendered_rules_and_their_templates_pass_promtool_check(promtool: str, tenant: str, tmp_path: Path) -> None:
    groups = [g for o in _load(tenant, "prometheusrule-*.yaml") for g in o["spec"]["groups"]]
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    run = subprocess.run([promtool, "check", "rules", "rules.yaml"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr


def panel_queries(tenant: str, title_prefix: str, board: str = "queues") -> list[str]:
    (cm,) = _load(tenant, f"configmap-dashboard-*-{board}.yaml")
    (board,) = [json.loads(v) for v in cm["data"].values()]
    (panel,) = [p for p in board["panels"] if p["title"].startswith(title_prefix)]
    return [t["expr"] for t in panel["targets"]]


@pytest.mark.parametrize("index", range(len(TENANTS)), ids=TENANTS)
def test_queue_panels_show_a_stuck_queue_and_count_only_worker_pods(promtool: str, index: int, tmp_path: Path) -> None:
    """"Backlog age" of a queue not empty for the whole 6 h look-back is 6 h (not nothing);
    "Celery workers up" counts the celery-worker and celery-extract pods, not beat or the
    exporter; the other tenant's series (loaded too) never show."""
    me, other = tenant_of(TENANTS[index]), tenant_of(TENANTS[(index + 1) % len(TENANTS)])
    series: list[Series] = []
    for t in (me, other):
        stuck, drained, idle = t.queues[:3]
        exporter = {"namespace": t.ns, "pod": "celery-exporter-6d9f-x", "job": f"{t.ns}/celery-exporter"}
        series += [("celery_queue_length", {**exporter, "queue_name": stuck}, "40x420"),
                   ("celery_queue_length", {**exporter, "queue_name": drained}, "5x389 0 7x30"),
                   ("celery_queue_length", {**exporter, "queue_name": idle}, "0x420")]
        series += [("kube_pod_status_ready", {"job": "kube-state-metrics", "namespace": t.ns, "pod": pod, "uid": pod,
                                              "condition": "true"}, "1x420")
                   for pod in ("celery-worker-5c7d9-abcde", "celery-extract-7f8b6-fghij", "celery-beat-6c5d4-klmno",
                               "celery-exporter-6d9f-pqrst")]
    (age,) = panel_queries(me.name, "Backlog age")
    ready = next(q for q in panel_queries(me.name, "Celery workers up") if "kube_pod_status_ready" in q)
    stuck, drained, idle = me.queues[:3]
    tests = [{"interval": "1m", "input_series": _series(series), "promql_expr_test": [
        {"expr": age, "eval_time": "420m", "exp_samples": [
            {"labels": f'{{queue_name="{stuck}"}}', "value": 6 * 3600},
            {"labels": f'{{queue_name="{drained}"}}', "value": 30 * 60},
            {"labels": f'{{queue_name="{idle}"}}', "value": 0}]},
        {"expr": ready, "eval_time": "420m", "exp_samples": [{"labels": "{}", "value": 2}]}]}]
    (tmp_path / "test.yaml").write_text(yaml.safe_dump({"rule_files": [], "tests": tests}, sort_keys=False))
    run = subprocess.run([promtool, "test", "rules", "test.yaml"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]


def _promql_test(promtool: str, tmp_path: Path, series: list[Series], exprs: list[dict[str, Any]]) -> None:
    tests = [{"interval": "1m", "input_series": _series(series), "promql_expr_test": exprs}]
    (tmp_path / "test.yaml").write_text(yaml.safe_dump({"rule_files": [], "tests": tests}, sort_keys=False))
    run = subprocess.run([promtool, "test", "rules", "test.yaml"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]


ZERO_PANELS = [("batch", "Tasks completed (24h)"), ("batch", "Failure ratio"), ("batch", "Batch worker pods running"),
               ("queues", "Celery workers up"), ("errors", "5xx ratio (gateway)")]


@pytest.mark.parametrize("index", range(len(TENANTS)), ids=TENANTS)
def test_panels_that_mean_zero_show_zero_not_no_data_and_only_the_tenants_own(promtool: str, index: int,
                                                                             tmp_path: Path) -> None:
    """An idle tenant (no task, no batch pod, no worker, no request) reads 0 on these panels,
    while the other tenant, loaded too, is busy: its series never leak into the 0."""
    me, other = tenant_of(TENANTS[index]), tenant_of(TENANTS[(index + 1) % len(TENANTS)])
    exporter = {"namespace": other.ns, "pod": "celery-exporter-6d9f-x", "job": f"{other.ns}/celery-exporter"}
    series: list[Series] = [
        ("celery_task_succeeded_total", {**exporter, "name": "engine.tasks.batch.run", "hostname": "w1",
                                         "queue_name": other.queues[2]}, "0+10x120"),
        ("celery_task_failed_total", {**exporter, "name": "engine.tasks.batch.run", "hostname": "w1", "exception": "E",
                                      "queue_name": other.queues[2]}, "0+5x120"),
        ("celery_worker_up", {**exporter, "hostname": "w1"}, "1x120"),
        ("kube_pod_status_ready", {"job": "kube-state-metrics", "namespace": other.ns, "pod": "celery-worker-5c7d9-abcde",
                                   "uid": "u", "condition": "true"}, "1x120"),
        ("kube_pod_status_phase", {"job": "kube-state-metrics", "namespace": other.ns,
                                   "pod": "engine-raycluster-x-batch-workers-worker-a1", "uid": "u2", "phase": "Running"},
         "1x120"),
        ("dataplane_gateway_requests_total", {"namespace": "control-plane", "job": "gateway", "tenant": other.name,
                                              "route": "/v1/extract", "method": "POST", "code": "500"}, "0+30x120"),
    ]
    exprs = [{"expr": q, "eval_time": "100m", "exp_samples": [{"labels": "{}", "value": 0}]}
             for board, title in ZERO_PANELS for q in panel_queries(me.name, title, board)]
    assert len(exprs) == 8
    # The other tenant sees its own values on the same panels (the 0 is not a constant).
    exprs += [{"expr": q, "eval_time": "100m", "exp_samples": [{"labels": "{}", "value": v}]}
              for q, v in ((panel_queries(other.name, "Failure ratio", "batch")[0], 1 / 3),
                           (panel_queries(other.name, "5xx ratio (gateway)", "errors")[0], 1))]
    _promql_test(promtool, tmp_path, series, exprs)


@pytest.mark.parametrize("index", range(len(TENANTS)), ids=TENANTS)
def test_task_panels_keep_tasks_the_exporter_labels_celery(promtool: str, index: int, tmp_path: Path) -> None:
    """celery-exporter labels a task with queue "celery" when it saw no task-sent event
    (src/exporter.py; src/cli.py has no option for another default). The tenant's own such
    tasks are counted on its task panels; the other tenant's are not."""
    me, other = tenant_of(TENANTS[index]), tenant_of(TENANTS[(index + 1) % len(TENANTS)])
    series: list[Series] = []
    for t, per_min in ((me, 6), (other, 60)):
        exporter = {"namespace": t.ns, "pod": "celery-exporter-6d9f-x", "job": f"{t.ns}/celery-exporter"}
        task = {**exporter, "name": "engine.tasks.ingest.run", "hostname": "w1", "queue_name": "celery"}
        series += [("celery_task_succeeded_total", task, f"0+{per_min}x1500"),
                   ("celery_task_received_total", task, f"0+{per_min}x1500")]
    (succeeded, _) = panel_queries(me.name, "Tasks completed (24h)", "batch")
    (received, _) = panel_queries(me.name, "Tasks received and started")
    _promql_test(promtool, tmp_path, series, [
        {"expr": succeeded, "eval_time": "1500m", "exp_samples": [{"labels": "{}", "value": 6 * 24 * 60}]},
        {"expr": received, "eval_time": "1500m", "exp_samples": [{"labels": '{queue_name="celery"}', "value": 0.1}]}])
