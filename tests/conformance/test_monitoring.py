"""Monitoring output: five dashboards and the alert rules per tenant, every query parses
with a real PromQL parser and is pinned to its tenant, dashboards are valid Grafana
dashboard JSON (grafana-foundation-sdk's typed model), and the monitoring CRs validate
against the upstream Prometheus operator CRDs."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
import pytest
import yaml

from render import layout
from render.load import load_repo
from render.monitoring import alerts, control_plane, dashboards, grafana, promql, scrape
from render.pipeline import render_repo
from tests.hyp import at_most, given, settings, st
from tests.support import ROOT, crds_dir, need

promql_parser = need("promql_parser")
DASHBOARD_SLUGS = {"queues", "batch", "latency", "cost", "errors"}
GATEWAY_METRICS = {dashboards.GATEWAY_REQUESTS, dashboards.GATEWAY_DURATION}
MONITORING_KINDS = {"PodMonitor", "ServiceMonitor", "PrometheusRule"}


@pytest.fixture(scope="module")
def objects() -> dict[str, list[dict[str, Any]]]:
    """Every rendered object, per tenant, rendered now from the repository's inputs: its
    data plane's (rendered/<t>/) and its monitoring in the management cluster
    (control-plane/monitoring/<t>/: dashboards, datasources, label proxy, gateway alerts)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for path, text in sorted(_flatten(render_repo(load_repo(ROOT))).items()):
        for parent in (layout.RENDERED_DIR, layout.MONITORING_DIR):
            if path.startswith(parent + "/"):
                tenant = path.removeprefix(parent + "/").split("/")[0]
                out.setdefault(tenant, []).extend(d for d in yaml.safe_load_all(text) if d)
    return out


def _flatten(outputs: dict[str, dict[str, bytes | str]]) -> dict[str, str]:
    return {p: (t.decode() if isinstance(t, bytes) else t) for scope in outputs.values() for p, t in scope.items()}


def dashboards_of(objs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out = {}
    for o in objs:
        if o["kind"] == "ConfigMap" and o["metadata"].get("labels", {}).get("grafana_dashboard") == "1":
            (text,) = o["data"].values()
            out[o["metadata"]["name"]] = json.loads(text)
    return out


def expressions(objs: list[dict[str, Any]]) -> list[str]:
    exprs = [t["expr"] for d in dashboards_of(objs).values() for p in d["panels"] for t in p["targets"]]
    for o in objs:
        if o["kind"] == "PrometheusRule":
            exprs += [r["expr"] for g in o["spec"]["groups"] for r in g["rules"]]
    return exprs


def unpinned_selectors(expr: str, tenant: str) -> list[str]:
    """Selectors of `expr` that are not pinned to `tenant` (empty when the expression is safe)."""
    bad: list[str] = []

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            def pinned(label: str, value: str) -> bool:
                return any(m.name == label and m.op == promql_parser.MatchOp.Equal and m.value == value
                           for m in node.matchers.matchers)

            if node.matchers.or_matchers:
                bad.append(f"{node} (or-matchers)")
            elif node.name in GATEWAY_METRICS:
                if not pinned(promql.GATEWAY_TENANT_LABEL, tenant):
                    bad.append(str(node))
            elif not pinned("namespace", layout.namespace(tenant)):
                bad.append(str(node))

    promql_parser.walk(promql_parser.parse(expr), visit)
    return bad


def test_every_tenant_renders_five_dashboards_in_its_own_folder(objects):
    assert set(objects) == {p.name for p in (ROOT / "tenants").iterdir() if p.is_dir()}
    for tenant, objs in objects.items():
        boards = dashboards_of(objs)
        assert {name.removeprefix(f"dashboard-{tenant}-") for name in boards} == DASHBOARD_SLUGS
        assert {d["title"] for d in boards.values()} == {"Queue Health", "Batch Status", "API Latency",
                                                         "Cost & Usage", "Error Rate"}
        for o in objs:
            if o["metadata"]["name"].startswith("dashboard-"):
                ann = o["metadata"]["annotations"]
                assert ann["grafana_folder"] == ann["k8s-sidecar-target-directory"] == f"tenant-{tenant}"
                (key,) = o["data"]
                assert key.startswith(f"tenant-{tenant}-")  # unique file name even without folders


def test_every_tenant_has_the_troubleshooting_alerts(objects):
    wanted = {"DataplanePodPendingTooLong", "DataplaneContainerOOMKilled", "DataplaneExtractorNoReplicas",
              "DataplaneBatchBacklogNoWorkers", "DataplaneCeleryBeatStale", "DataplaneApiErrorRateHigh",
              "DataplaneApiLatencyP99High"}
    for tenant, objs in objects.items():
        rules = [r for o in objs if o["kind"] == "PrometheusRule" for g in o["spec"]["groups"] for r in g["rules"]]
        assert wanted <= {r["alert"] for r in rules}
        for r in rules:
            assert r["labels"]["tenant"] == tenant and r["labels"]["namespace"] == f"tenant-{tenant}"
            assert r["labels"]["severity"] in {"warning", "critical"}


def runbook_paragraphs() -> dict[str, str]:
    """docs/operations.md's explicit anchors, each with the paragraph that follows it."""
    text = (ROOT / "docs" / "operations.md").read_text()
    return {m.group(1): text[m.end():].split("\n\n", 1)[0]
            for m in re.finditer(r'<a id="([a-z0-9-]+)"></a>\n', text)}


def test_every_alert_links_a_runbook_anchor_that_names_the_command_and_shows_its_value(objects):
    anchors = runbook_paragraphs()
    for objs in objects.values():
        for r in (r for o in objs if o["kind"] == "PrometheusRule" for g in o["spec"]["groups"] for r in g["rules"]):
            page, _, anchor = r["annotations"]["runbook_url"].partition("#")
            assert page == "docs/operations.md" and anchor in anchors, r["alert"]
            assert "`dataplane " in anchors[anchor], f"{anchor}: the runbook names no dataplane command"
            assert "{{ $value" in r["annotations"]["description"], r["alert"]


def test_every_expression_parses_and_is_pinned_to_its_tenant(objects):
    count = 0
    for tenant, objs in objects.items():
        others = [t for t in objects if t != tenant]
        for expr in expressions(objs):
            assert unpinned_selectors(expr, tenant) == [], expr
            assert not any(f"tenant-{o}\"" in expr or f"=\"{o}\"" in expr for o in others), expr
            count += 1
    assert count > 100


@pytest.mark.parametrize("expr", [
    'sum(rate(ray_serve_num_http_requests_total{application="x"}[5m]))',
    'sum(kube_pod_status_phase{namespace="tenant-globex"})',
    'sum(kube_pod_status_phase{namespace=~"tenant-acme"})',
    'sum(rate(dataplane_gateway_requests_total{namespace="tenant-acme"}[5m]))',
    'x{namespace="tenant-acme"} / on() y{pod="a"}',
    'max_over_time(timestamp(celery_queue_length == 0)[6h:1m])',
    'up{namespace="tenant-acme" or namespace="tenant-globex"}',
])
def test_the_pinning_check_catches_unpinned_selectors(expr):
    assert unpinned_selectors(expr, "acme")


def test_a_broken_expression_is_caught_by_the_parser():
    with pytest.raises(ValueError):
        promql_parser.parse('sum(rate(x{namespace="tenant-acme"}[5m])')


def _sdk_diff(ours: Any, sdk: Any, path: str = "") -> list[str]:
    """Where the SDK's re-encoding drops or changes a value we wrote (defaults it adds are fine)."""
    if isinstance(ours, dict) and isinstance(sdk, dict):
        out = [f"{path}/{k}: dropped (unknown to the dashboard model)" for k in ours if k not in sdk]
        return out + [d for k in ours if k in sdk for d in _sdk_diff(ours[k], sdk[k], f"{path}/{k}")]
    if isinstance(ours, list) and isinstance(sdk, list) and len(ours) == len(sdk):
        return [d for i, (a, b) in enumerate(zip(ours, sdk, strict=True)) for d in _sdk_diff(a, b, f"{path}[{i}]")]
    return [] if ours == sdk else [f"{path}: {ours!r} became {sdk!r}"]


def _sdk_roundtrip(board: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    from grafana_foundation_sdk.cog.encoder import JSONEncoder
    from grafana_foundation_sdk.cog.plugins import register_default_plugins
    from grafana_foundation_sdk.models.dashboard import Dashboard

    register_default_plugins()
    model = Dashboard.from_json(board)
    return model, json.loads(JSONEncoder(sort_keys=True).encode(model))


def test_dashboards_are_valid_grafana_dashboard_json(objects):
    need("grafana_foundation_sdk")
    from grafana_foundation_sdk.models import prometheus, stat, timeseries

    options = {"timeseries": timeseries.Options, "stat": stat.Options}
    for objs in objects.values():
        for name, board in dashboards_of(objs).items():
            model, back = _sdk_roundtrip(board)
            assert _sdk_diff(board, back) == [], name
            for panel in model.panels:
                assert isinstance(panel.options, options[panel.type_val]), (name, panel.title)
                assert all(isinstance(t, prometheus.Dataquery) for t in panel.targets)
                assert panel.grid_pos.x + panel.grid_pos.w <= 24


def test_the_dashboard_check_catches_an_unknown_field(objects):
    need("grafana_foundation_sdk")
    board = next(iter(dashboards_of(objects["acme"]).values()))
    broken = {**board, "panels": [{**board["panels"][0], "gridPosition": {"x": 0}}] + board["panels"][1:]}
    _, back = _sdk_roundtrip(broken)
    assert _sdk_diff(broken, back) == ["/panels[0]/gridPosition: dropped (unknown to the dashboard model)"]


def test_dashboard_uids_are_unique_and_short(objects):
    uids = [d["uid"] for objs in objects.values() for d in dashboards_of(objs).values()]
    assert len(uids) == len(set(uids)) == 5 * len(objects)
    assert all(len(u) <= 40 for u in uids)
    assert grafana.uid("a" * 40, "latency") != grafana.uid("a" * 39, "latency")


@pytest.mark.crds
def test_monitoring_crs_validate_against_upstream_crds(objects):
    folder = crds_dir()
    schemas = {}
    for f in sorted((folder / "prometheus-operator").glob("*.yaml")):
        crd = yaml.safe_load(f.read_text())
        for v in crd["spec"]["versions"]:
            schemas[(f"{crd['spec']['group']}/{v['name']}", crd["spec"]["names"]["kind"])] = v["schema"]["openAPIV3Schema"]
    checked = 0
    for objs in objects.values():
        for o in objs:
            if o["kind"] in MONITORING_KINDS:
                # Draft 7 is what Kubernetes structural schemas follow; the schema itself is upstream's.
                jsonschema.Draft7Validator(schemas[(o["apiVersion"], o["kind"])]).validate(o)
                checked += 1
    assert checked >= 3 * 4


def test_exporters_read_only_their_tenants_datastores(objects):
    for tenant, objs in objects.items():
        deps = {o["metadata"]["name"]: o for o in objs if o["kind"] == "Deployment"}
        dedicated = any(o["kind"] == "StatefulSet" and o["metadata"]["name"] == "mongodb" for o in objs)
        assert ("mongodb-exporter" in deps) == dedicated
        monitors = {o["metadata"]["name"] for o in objs if o["kind"] == "PodMonitor"}
        assert ("mongodb-exporter" in monitors) == dedicated
        assert {"ray-head", "ray-workers", "redis-exporter", "celery-exporter"} <= monitors
        (celery,) = deps["celery-exporter"]["spec"]["template"]["spec"]["containers"]
        assert f"--broker-transport-option=global_keyprefix={tenant}:" in celery["args"]
        queues = next(a for a in celery["args"] if a.startswith("--queues="))
        assert all(q.startswith(f"{tenant}.") for q in queues.removeprefix("--queues=").split(","))
        (redis,) = deps["redis-exporter"]["spec"]["template"]["spec"]["containers"]
        env = {e["name"]: e.get("value") for e in redis["env"]}
        assert env["REDIS_ADDR"] == f"redis://redis.tenant-{tenant}.svc.cluster.local:6379"
        assert f"db0={scrape.beat_heartbeat_key(tenant)}" in env["REDIS_EXPORTER_CHECK_SINGLE_KEYS"].split(",")


def test_exporter_ports_are_the_ones_the_network_policy_opens(objects):
    for objs in objects.values():
        (policy,) = [o for o in objs if o["kind"] == "NetworkPolicy" and o["metadata"]["name"] == "allow-monitoring"]
        open_ports = {p["port"] for rule in policy["spec"]["ingress"] for p in rule["ports"]}
        for o in objs:
            if o["kind"] == "Deployment" and o["metadata"]["name"].endswith("-exporter"):
                for c in o["spec"]["template"]["spec"]["containers"]:
                    assert {p["containerPort"] for p in c["ports"]} <= open_ports


def test_scope_quotes_and_escapes():
    s = promql.namespace_scope("tenant-a")
    assert s.sel("m", a="x", b="~y.*", c="!z", d="!~w") == 'm{namespace="tenant-a",a="x",b=~"y.*",c!="z",d!~"w"}'
    assert promql.regex_alternatives(["a.b", "c"]) == "a\\.b|c"
    expr = s.sel("m", q="~" + promql.regex_alternatives(["a.b"]))
    (sel,) = list(_selectors(expr))
    assert {(m.name, m.value) for m in sel.matchers.matchers} >= {("q", "a\\.b")}


def _selectors(expr: str) -> list[Any]:
    found: list[Any] = []
    promql_parser.walk(promql_parser.parse(expr),
                       lambda n: found.append(n) if isinstance(n, promql_parser.VectorSelector) else None)
    return found


@settings(max_examples=at_most(25))
@given(st.from_regex(r"[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?", fullmatch=True))
def test_any_tenant_name_gives_parseable_pinned_queries(tenant):
    ctx = {"name": tenant, "namespace": layout.namespace(tenant), "datastores": {"mongodb_dedicated": True},
           "names": {"redis_key_prefix": layout.redis_key_prefix(tenant)},
           "celery": {"queues": [layout.queue_prefix(tenant) + q for q in ("default", "ingest", "batch", "extract")]}}
    t = scrape.targets(ctx)
    exprs = [q.expr for d in dashboards.all_dashboards(t) for p in d.panels for q in p.queries]
    exprs += [r["expr"] for g in alerts.rule_groups(t, tenant, 300) + alerts.gateway_rule_groups(t, tenant)
              for r in g["rules"]]
    for expr in exprs:
        assert unpinned_selectors(expr, tenant) == [], expr
    # The queue regex matches exactly this tenant's queues, not a neighbour's with a longer name.
    pattern = re.compile(t.queue_regex)
    assert pattern.fullmatch(f"{tenant}.default") and not pattern.fullmatch(f"{tenant}x.default")


def test_one_exporter_list_drives_the_exporters_and_their_scrape(objects):
    """monitoring.exporters: the exporter Deployments and their PodMonitors come from one list."""
    for objs in objects.values():
        dedicated = any(o["kind"] == "StatefulSet" and o["metadata"]["name"] == "mongodb" for o in objs)
        expected = {f"{e}-exporter" for e in scrape.exporters(dedicated)}
        deps = {o["metadata"]["name"] for o in objs if o["kind"] == "Deployment" and o["metadata"]["name"].endswith("-exporter")}
        monitors = {o["metadata"]["name"]: o for o in objs if o["kind"] == "PodMonitor" and o["metadata"]["name"].endswith("-exporter")}
        assert deps == set(monitors) == expected
        for name, pm in monitors.items():
            label = pm["spec"]["selector"]["matchLabels"]["dataplane.io/exporter"]
            (dep,) = [o for o in objs if o["kind"] == "Deployment" and o["metadata"]["name"] == name]
            assert dep["spec"]["template"]["metadata"]["labels"]["dataplane.io/exporter"] == label
    assert scrape.exporters(False) == ["redis", "celery"]


def test_every_panel_is_pinned_to_its_tenants_datasource_of_the_cluster_holding_its_series(objects):
    """No datasource variable (no unpinned `"current": {}`): each panel and query names the
    tenant's data-plane datasource, or, for the gateway's series, its gateway datasource;
    both are rendered, and each proxies to the Prometheus holding those series."""
    for tenant, objs in objects.items():
        sources = {}
        for o in objs:
            if o["kind"] == "ConfigMap" and o["metadata"]["labels"].get("grafana_datasource") == "1":
                ((_, text),) = o["data"].items()
                (ds,) = yaml.safe_load(text)["datasources"]
                sources[ds["uid"]] = o["metadata"]["annotations"][control_plane.CLUSTER_ANNOTATION]
        want = {grafana.datasource_uid(tenant, grafana.DATA_PLANE), grafana.datasource_uid(tenant, grafana.GATEWAY)}
        assert set(sources) == want
        assert sources[grafana.datasource_uid(tenant, grafana.GATEWAY)] == control_plane.MANAGEMENT
        for board in dashboards_of(objs).values():
            assert board["templating"]["list"] == [] and '"current": {}' not in json.dumps(board)
            for panel in board["panels"]:
                gateway = any(m in t["expr"] for t in panel["targets"] for m in GATEWAY_METRICS)
                uid = grafana.datasource_uid(tenant, grafana.GATEWAY if gateway else grafana.DATA_PLANE)
                assert panel["datasource"]["uid"] == uid and {t["datasource"]["uid"] for t in panel["targets"]} == {uid}


def test_gateway_alerts_are_evaluated_in_the_management_cluster_only(objects):
    for objs in objects.values():
        for o in (o for o in objs if o["kind"] == "PrometheusRule"):
            names = {r["alert"] for g in o["spec"]["groups"] for r in g["rules"]}
            gateway = {"DataplaneApiErrorRateHigh", "DataplaneApiLatencyP99High"}
            in_management = o["metadata"]["namespace"] == "monitoring"
            assert (names == gateway) if in_management else not (names & gateway), o["metadata"]["name"]


def test_every_alert_links_the_tenants_dashboard_where_its_cause_shows(objects):
    for tenant, objs in objects.items():
        boards = {d["uid"]: d["title"] for d in dashboards_of(objs).values()}
        for o in (o for o in objs if o["kind"] == "PrometheusRule"):
            for r in (r for g in o["spec"]["groups"] for r in g["rules"]):
                base, _, board = r["annotations"]["dashboard_url"].rpartition("/d/")
                assert base == "https://grafana.dataplane.example.com" and board in boards, (tenant, r["alert"])


def test_the_mongodb_exporter_is_read_where_it_runs(objects):
    """A dedicated MongoDB's exporter feeds a panel and an alert; a tenant on the shared
    instance (no exporter in its namespace) gets neither."""
    for objs in objects.values():
        dedicated = any(o["kind"] == "Deployment" and o["metadata"]["name"] == "mongodb-exporter" for o in objs)
        exprs = expressions(objs)
        assert any("mongodb_up{" in e for e in exprs) == dedicated
        assert any("mongodb_connections{" in e for e in exprs) == dedicated
        alerts_ = {r["alert"] for o in objs if o["kind"] == "PrometheusRule" for g in o["spec"]["groups"] for r in g["rules"]}
        assert ("DataplaneMongodbUnreachable" in alerts_) == dedicated
    assert any(any(o["metadata"]["name"] == "mongodb-exporter" for o in objs) for objs in objects.values())
    assert not all(any(o["metadata"]["name"] == "mongodb-exporter" for o in objs) for objs in objects.values())


def test_the_ray_head_reads_its_charts_from_the_tenants_grafana_datasource(objects):
    """The env names Ray 2.60's dashboard reads (ray/dashboard/modules/metrics/metrics_head.py),
    set on the head only, naming the tenant's rendered data-plane datasource (its label proxy)."""
    metrics_head = need("ray.dashboard.modules.metrics.metrics_head")
    names = {metrics_head.PROMETHEUS_HOST_ENV_VAR, metrics_head.PROMETHEUS_NAME_ENV_VAR,
             metrics_head.GRAFANA_HOST_ENV_VAR, metrics_head.GRAFANA_IFRAME_HOST_ENV_VAR}
    for tenant, objs in objects.items():
        (ray,) = [o for o in objs if o["kind"] == "RayService"]
        cluster = ray["spec"]["rayClusterConfig"]
        (head,) = cluster["headGroupSpec"]["template"]["spec"]["containers"][:1]
        env = {e["name"]: e.get("value") for e in head["env"]}
        assert names <= set(env)
        for group in cluster["workerGroupSpecs"]:
            worker_env = {e["name"] for c in group["template"]["spec"]["containers"] for e in c.get("env", [])}
            assert not names & worker_env
        sources = {}
        for o in objs:
            if o["kind"] == "ConfigMap" and o["metadata"]["labels"].get("grafana_datasource") == "1":
                ((_, text),) = o["data"].items()
                (ds,) = yaml.safe_load(text)["datasources"]
                sources[ds["name"]] = ds
        data_plane = sources[env["RAY_PROMETHEUS_NAME"]]
        assert data_plane["uid"] == grafana.datasource_uid(tenant, grafana.DATA_PLANE)
        assert env["RAY_PROMETHEUS_HOST"] == f"https://grafana.dataplane.example.com/api/datasources/proxy/uid/{data_plane['uid']}"
        assert env["RAY_GRAFANA_IFRAME_HOST"] == env["RAY_GRAFANA_HOST"] == "https://grafana.dataplane.example.com"
