"""Every metric an alert or a dashboard panel reads is produced in the cluster that evaluates it.

Where a query is evaluated:
- a PrometheusRule under rendered/<tenant>/ by the Prometheus of the tenant's data-plane
  cluster (tenants/<name>/tenant.yaml `cluster`); one under control-plane/ by the
  management cluster's;
- a dashboard panel by the Prometheus its datasource queries: the panel names a datasource
  uid, a rendered Grafana datasource ConfigMap (label grafana_datasource) holds that uid
  and names the cluster in its dataplane.io/prometheus-cluster annotation.

Where a metric is produced (metrics.yaml): an exporter rendered and scraped in the tenant's
namespace produces it in the tenant's cluster; a platform component declared `external`
produces it in every data-plane cluster (`cluster: data_plane`) or in the management
cluster (`cluster: management`). A metric evaluated anywhere else reaches no Prometheus
that evaluates it: the alert never fires, the panel stays empty.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from render import layout
from render.conformance.manifests import Manifest
from render.conformance.pods import Pod, namespace_of, pods
from render.conformance.references import matches
from render.conformance.report import Outcome
from render.monitoring.control_plane import CLUSTER_ANNOTATION, MANAGEMENT
from render.problems import Problem

NAME = "metric sources (each rule's and panel's metrics produced where it is evaluated)"
METRICS_FILE = Path(__file__).with_name("metrics.yaml")
METRIC = re.compile(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\{")
DATA_PLANE = "data_plane"
Path_ = tuple[str | int, ...]


def _d(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def check(manifests: list[Manifest], tenants: dict[str, dict[str, Any]]) -> Outcome:
    """`tenants`: namespace -> tenant.yaml data (its `cluster`)."""
    catalog = yaml.safe_load(METRICS_FILE.read_text(encoding="utf-8"))
    by_ns: dict[str, list[Pod]] = {}
    for p in pods([m for m in manifests if layout.is_inside(m.file, layout.RENDERED_DIR)]):
        by_ns.setdefault(p.namespace, []).append(p)
    sources = datasources(manifests)
    failures: list[Problem] = []
    n = 0
    for m, path, expr, ns, cluster in evaluated(manifests, tenants, sources, failures):
        for metric in sorted(set(METRIC.findall(expr))):
            n += 1
            why = produced(metric, catalog, manifests, ns, cluster, str(_d(tenants.get(ns)).get("cluster", "")),
                           by_ns.get(ns, []))
            if why:
                failures.append(m.problem(path, f"metric {metric}: {why}",
                                          "evaluate it where it is produced (docs/operations.md, \"Where each metric "
                                          "is evaluated\"), or declare its source in render/conformance/metrics.yaml"))
    return Outcome(NAME, n, "metric uses", failures)


def datasources(manifests: list[Manifest]) -> dict[str, str]:
    """Grafana datasource uid -> the cluster whose Prometheus it queries."""
    out: dict[str, str] = {}
    for m in manifests:
        meta = _d(m.obj.get("metadata")) if m.is_object else {}
        if m.kind != "ConfigMap" or _d(meta.get("labels")).get("grafana_datasource") != "1":
            continue
        cluster = str(_d(meta.get("annotations")).get(CLUSTER_ANNOTATION, ""))
        for text in _d(m.obj.get("data")).values():
            for source in _d(yaml.safe_load(str(text))).get("datasources") or []:
                out[str(_d(source).get("uid"))] = cluster
    return out


def evaluated(manifests: list[Manifest], tenants: dict[str, dict[str, Any]], sources: dict[str, str],
              failures: list[Problem]) -> list[tuple[Manifest, Path_, str, str, str]]:
    """(object, path, expression, tenant namespace, evaluating cluster) of every rule and panel query."""
    out: list[tuple[Manifest, Path_, str, str, str]] = []
    for m in manifests:
        if not m.is_object:
            continue
        labels = _d(_d(m.obj.get("metadata")).get("labels"))
        tenant_ns = layout.namespace(str(labels[layout.LABEL_TENANT])) if layout.LABEL_TENANT in labels else namespace_of(m)
        if m.kind == "PrometheusRule":
            cluster = MANAGEMENT if layout.is_inside(m.file, layout.CONTROL_PLANE_DIR) else \
                str(_d(tenants.get(namespace_of(m))).get("cluster", ""))
            for g, group in enumerate(_d(m.obj.get("spec")).get("groups") or []):
                for r, rule in enumerate(_d(group).get("rules") or []):
                    out.append((m, ("spec", "groups", g, "rules", r, "expr"), str(_d(rule).get("expr", "")), tenant_ns,
                                cluster))
        elif m.kind == "ConfigMap" and labels.get("grafana_dashboard") == "1":
            for key, text in _d(m.obj.get("data")).items():
                out += _panels(m, key, str(text), tenant_ns, sources, failures)
    return out


def _panels(m: Manifest, key: str, text: str, ns: str, sources: dict[str, str],
            failures: list[Problem]) -> list[tuple[Manifest, Path_, str, str, str]]:
    out: list[tuple[Manifest, Path_, str, str, str]] = []
    board = json.loads(text)
    for panel in board.get("panels") or []:
        for target in panel.get("targets") or []:
            uid = str(_d(target.get("datasource") or panel.get("datasource")).get("uid", ""))
            where = f"dashboard {board.get('title')!r}, panel {panel.get('title')!r}"
            if uid not in sources:
                failures.append(m.problem(("data", key), f"{where}: datasource {uid!r} is no rendered Grafana datasource",
                                          "pin every panel to one of the tenant's datasources"))
                continue
            out.append((m, ("data", key), str(target.get("expr", "")), ns, sources[uid]))
    return out


def produced(metric: str, catalog: dict[str, Any], manifests: list[Manifest], ns: str, cluster: str,
             tenant_cluster: str, ns_pods: list[Pod]) -> str:
    """Why `metric`, read for namespace `ns` in `cluster`, has no source there ('' when it has one)."""
    external = next((e for e in catalog["external"] if metric.startswith(e["prefix"])), None)
    if external is not None:
        if (external["cluster"] == MANAGEMENT) == (cluster == MANAGEMENT):
            return ""
        where = "the management cluster" if external["cluster"] == MANAGEMENT else "the data-plane clusters"
        return f"produced by {external['by']} in {where}, but evaluated in {cluster or 'no known cluster'}"
    exporter = next((e for e in catalog["exporters"] if metric.startswith(e["prefix"])), None)
    if exporter is None:
        return "no exporter exports it"
    if cluster != tenant_cluster:
        return f"its exporter {exporter['kind']}/{exporter['name']} runs in {ns} on {tenant_cluster or 'no known cluster'}, " \
               f"but it is evaluated in {cluster or 'no known cluster'}"
    if not any(o.kind == exporter["kind"] and o.name == exporter["name"] and namespace_of(o) == ns
               and layout.is_inside(o.file, layout.RENDERED_DIR) for o in manifests):
        return f"its exporter {exporter['kind']}/{exporter['name']} is not rendered in {ns}"
    scraped = [p for p in ns_pods if p.source.kind == exporter["kind"] and p.source.name == exporter["name"]]
    monitors = [o for o in manifests if o.kind == "PodMonitor" and namespace_of(o) == ns]
    if not any(matches(_d(_d(pm.obj.get("spec")).get("selector")), p.labels) for pm in monitors for p in scraped):
        return f"no PodMonitor scrapes {exporter['kind']}/{exporter['name']}"
    return ""
