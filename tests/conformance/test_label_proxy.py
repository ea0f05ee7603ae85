"""Every dashboard answers with data on real parts, and a tenant's datasources show only its
own series.

A Prometheus server (Debian's `prometheus` package) is backfilled (`promtool tsdb
create-blocks-from openmetrics`) with two tenants' series: one series per selector of every
dashboard query, labelled as the selector asks (plus the scrape's `pod`/`job`; the
gateway's in the gateway's namespace). Each tenant's two prom-label-proxy containers run
with the arguments rendered in control-plane/monitoring/<t>/ (listen address and upstream
pointed at 127.0.0.1), built from the proxy's Go module by .ci/tools.sh. Through them,
every panel's query, sent to the datasource the panel is pinned to, returns data, never
another tenant's labels; a query for the other tenant's series returns nothing (refused:
--error-on-replace), and an unpinned query or the label API return the tenant's only.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from render import layout
from render.monitoring import control_plane, grafana
from tests.processes import free_port, stop, wait_for
from tests.support import ROOT, missing, need, need_binary

PROXY_CACHE = Path.home() / ".cache/dataplane/tools/prom-label-proxy-v0.11.1/prom-label-proxy"
TENANTS = ("acme", "globex")
STEP_S, SPAN_S = 60, 3 * 3600
# Concrete values for regex and negative matchers: the first that satisfies the matcher.
CANDIDATES = ("engine-raycluster-x-batch-workers-worker-a1", "celery-worker-5c7d9-abcde", "500", "/extract", "main")
Labels = tuple[tuple[str, str], ...]


def _proxy_binary() -> str:
    path = os.environ.get("DATAPLANE_PROM_LABEL_PROXY") or str(PROXY_CACHE)
    if not Path(path).is_file():
        missing("prom-label-proxy v0.11.1", ".ci/tools.sh prom-label-proxy builds it and prints its path "
                                            "(DATAPLANE_PROM_LABEL_PROXY)")
    return path


def _objects(tenant: str) -> list[dict[str, Any]]:
    folder = ROOT / layout.monitoring_dir(tenant)
    return [d for f in sorted(folder.glob("*.yaml")) for d in yaml.safe_load_all(f.read_text()) if d]


def boards(tenant: str) -> list[dict[str, Any]]:
    return [json.loads(text) for o in _objects(tenant) if o["kind"] == "ConfigMap"
            and o["metadata"]["labels"].get("grafana_dashboard") == "1" for text in o["data"].values()]


def datasource_clusters(tenant: str) -> dict[str, str]:
    """uid -> cluster annotation of the tenant's rendered datasources."""
    out = {}
    for o in _objects(tenant):
        if o["kind"] == "ConfigMap" and o["metadata"]["labels"].get("grafana_datasource") == "1":
            for text in o["data"].values():
                for ds in yaml.safe_load(text)["datasources"]:
                    out[ds["uid"]] = o["metadata"]["annotations"][control_plane.CLUSTER_ANNOTATION]
    return out


def proxy_args(tenant: str) -> dict[str, list[str]]:
    """container name -> its rendered args."""
    (dep,) = [o for o in _objects(tenant) if o["kind"] == "Deployment"]
    return {c["name"]: c["args"] for c in dep["spec"]["template"]["spec"]["containers"]}


def _value_for(op: str, pattern: str) -> str:
    if op == "Equal":
        return pattern
    if op == "Re":
        alternatives = [re.sub(r"\\(.)", r"\1", a) for a in pattern.split("|")]
        return next(c for c in (*alternatives, *CANDIDATES) if re.fullmatch(pattern, c))
    if op == "NotEqual":
        return next(c for c in CANDIDATES if c != pattern)
    return next(c for c in CANDIDATES if not re.fullmatch(pattern, c))


def series_of(expr: str) -> set[tuple[str, Labels]]:
    """One series per selector of `expr`, labelled so the selector matches it."""
    promql_parser = need("promql_parser")
    found: list[Any] = []
    promql_parser.walk(promql_parser.parse(expr),
                       lambda n: found.append(n) if isinstance(n, promql_parser.VectorSelector) else None)
    out = set()
    for sel in found:
        labels = {"pod": "p-1", "job": "scrape"}
        labels |= {m.name: _value_for(str(m.op).rsplit(".", 1)[-1], m.value) for m in sel.matchers.matchers}
        if sel.name.startswith("dataplane_gateway_"):
            labels.setdefault("namespace", "control-plane")
        out.add((sel.name, tuple(sorted(labels.items()))))
    return out


def openmetrics(series: set[tuple[str, Labels]], end: int) -> str:
    """Every series over SPAN_S up to `end`; counters and buckets grow, gauges stay 1."""
    lines = []
    by_metric: dict[str, list[Labels]] = {}
    for name, labels in sorted(series):
        by_metric.setdefault(name, []).append(labels)
    for name, label_sets in sorted(by_metric.items()):
        lines.append(f"# TYPE {name} gauge")
        for labels in label_sets:
            les = ("0.5", "5", "+Inf") if name.endswith("_bucket") else ("",)
            for i, le in enumerate(les, start=1):
                full = dict(labels) | ({"le": le} if le else {})
                text = ",".join(f'{k}="{v}"' for k, v in sorted(full.items()))
                growing = name.endswith(("_total", "_bucket"))
                for ts in range(end - SPAN_S, end + 1, STEP_S):
                    value = i * (ts - end + SPAN_S) / 10 if growing else 1
                    lines.append(f"{name}{{{text}}} {value} {ts}")
    return "\n".join(lines) + "\n# EOF\n"


def _get(base: str, path: str, **params: str) -> tuple[int, dict[str, Any]]:
    """A POST with form parameters, as Grafana sends queries (httpMethod POST); GET for others."""
    data = urllib.parse.urlencode(params).encode() if params else None
    try:
        with urllib.request.urlopen(urllib.request.Request(base + path, data=data), timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as r:
            return bool(r.status == 200)
    except (OSError, urllib.error.URLError):
        return False


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    prometheus = need_binary("prometheus", "apt-get install prometheus")
    promtool = need_binary("promtool", "apt-get install prometheus")
    proxy = _proxy_binary()
    work = tmp_path_factory.mktemp("prometheus")
    end = int(time.time()) // STEP_S * STEP_S - STEP_S
    series = {s for t in TENANTS for b in boards(t) for p in b["panels"] for q in p["targets"] for s in series_of(q["expr"])}
    (work / "series.om").write_text(openmetrics(series, end))
    (work / "data").mkdir()
    run = subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", "series.om", "data"], cwd=work,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    (work / "prometheus.yml").write_text("global: {scrape_interval: 1m}\n")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = work / "prometheus.log"
    processes = []
    with log.open("wb") as out:
        server = subprocess.Popen([prometheus, f"--config.file={work / 'prometheus.yml'}",
                                   f"--storage.tsdb.path={work / 'data'}", "--storage.tsdb.retention.time=30d",
                                   f"--web.listen-address=127.0.0.1:{port}"], stdout=out, stderr=subprocess.STDOUT)
    processes.append(server)
    try:
        wait_for(lambda: _ready(base + "/-/ready"), server, log, "prometheus did not become ready")
        proxies: dict[str, dict[str, str]] = {}
        for tenant in TENANTS:
            proxies[tenant] = {}
            for container, args in proxy_args(tenant).items():
                listen = free_port()
                kept = [a for a in args if not a.startswith(("--insecure-listen-address=", "--upstream="))]
                plog = work / f"proxy-{tenant}-{container}.log"
                with plog.open("wb") as out:
                    p = subprocess.Popen([proxy, f"--insecure-listen-address=127.0.0.1:{listen}", f"--upstream={base}",
                                          *kept], stdout=out, stderr=subprocess.STDOUT)
                processes.append(p)
                url = f"http://127.0.0.1:{listen}"
                wait_for(lambda u=url: _ready(u + "/healthz"), p, plog, f"prom-label-proxy {container} of {tenant}")
                proxies[tenant][container] = url
        yield {"prometheus": base, "proxies": proxies, "time": str(end)}
    finally:
        for p in reversed(processes):
            stop(p)


def _through(stack: dict[str, Any], tenant: str, uid: str) -> str:
    """The local proxy standing for datasource `uid` of `tenant`."""
    cluster = datasource_clusters(tenant)[uid]
    source = grafana.GATEWAY if cluster == control_plane.MANAGEMENT else grafana.DATA_PLANE
    return str(stack["proxies"][tenant][source.replace("_", "-")])


@pytest.mark.parametrize("tenant", TENANTS)
def test_every_dashboard_query_answers_with_the_tenants_data_through_its_datasource(stack: dict[str, Any],
                                                                                      tenant: str) -> None:
    other = next(t for t in TENANTS if t != tenant)
    empty, foreign, asked = [], [], 0
    for board in boards(tenant):
        for panel in board["panels"]:
            for target in panel["targets"]:
                url = _through(stack, tenant, target["datasource"]["uid"])
                status, body = _get(url, "/api/v1/query", query=target["expr"], time=stack["time"])
                asked += 1
                assert status == 200, (panel["title"], body)
                if not body["data"]["result"]:
                    empty.append(f"{board['title']} / {panel['title']}: {target['expr']}")
                foreign += [r["metric"] for r in body["data"]["result"]
                            if r["metric"].get("namespace") == layout.namespace(other) or r["metric"].get("tenant") == other]
    assert asked > 40
    assert empty == [] and foreign == []


def test_a_query_for_the_other_tenants_series_returns_nothing(stack: dict[str, Any]) -> None:
    me, other = TENANTS
    data_plane, gateway = stack["proxies"][me]["data-plane"], stack["proxies"][me]["gateway"]
    theirs = f'celery_queue_length{{namespace="{layout.namespace(other)}"}}'
    # The series exist: Prometheus itself answers the other tenant's query.
    status, body = _get(stack["prometheus"], "/api/v1/query", query=theirs, time=stack["time"])
    assert status == 200 and body["data"]["result"]
    # Through my datasource: refused, no data.
    status, body = _get(data_plane, "/api/v1/query", query=theirs, time=stack["time"])
    assert status == 400 and "result" not in body.get("data", {})
    status, body = _get(gateway, "/api/v1/query", query=f'dataplane_gateway_requests_total{{tenant="{other}"}}',
                        time=stack["time"])
    assert status == 400 and "result" not in body.get("data", {})
    # An unpinned query, a regex over both tenants, and the label API: mine only.
    for query in ('{__name__=~".+"}', f'celery_queue_length{{namespace=~"{layout.namespace(me)}|{layout.namespace(other)}"}}'):
        status, body = _get(data_plane, "/api/v1/query", query=query, time=stack["time"])
        assert status == 200 and body["data"]["result"], query
        assert {r["metric"]["namespace"] for r in body["data"]["result"]} == {layout.namespace(me)}, query
    status, body = _get(gateway, "/api/v1/query", query="dataplane_gateway_requests_total", time=stack["time"])
    assert status == 200 and {r["metric"]["tenant"] for r in body["data"]["result"]} == {me}
    status, body = _get(data_plane, "/api/v1/label/namespace/values")
    assert status == 200 and body["data"] == [layout.namespace(me)]
