"""A tenant's monitoring in the management cluster, where Grafana and the gateway run.

Series are evaluated where they are produced (docs/operations.md, "Where each metric is
evaluated"): the data-plane alerts stay in the tenant's namespace (rendered/<name>/); the
gateway's series live in the management cluster's Prometheus, so the gateway alerts are a
PrometheusRule here. Grafana runs here too, so the tenant's dashboards are ConfigMaps here,
each panel pinned to one of the tenant's two datasources: its data-plane cluster's
Prometheus (label `namespace` enforced) and the management Prometheus (label `tenant`
enforced), both behind the tenant's own prom-label-proxy, so any query a viewer sends
through them returns the tenant's series only.

control-plane/monitoring/<name>/: the PrometheusRule, the dashboards, the two datasources,
the label proxy (Deployment and Service). control-plane/grafana/: one admin datasource per
data-plane cluster (registry clusters) and the management cluster's. Pure.
"""

from __future__ import annotations

import copy
from typing import Any

from render import ENGINE_VERSION, emit, layout, security
from render.context_types import TenantContext
from render.load import Repo
from render.monitoring import alerts, dashboards, data_alerts, grafana, promql, scrape

# Annotation naming the cluster whose Prometheus a datasource queries (a registry cluster
# name, or MANAGEMENT): `validate --deep` checks every panel's metrics are produced there.
CLUSTER_ANNOTATION = "dataplane.io/prometheus-cluster"
MANAGEMENT = "management"
DATASOURCE_LABEL = {"grafana_datasource": "1"}  # the grafana Helm chart's datasource sidecar label
PROXY_PORTS = {grafana.DATA_PLANE: 8080, grafana.GATEWAY: 8081}
PROXY_RESOURCES = {"cpu": "20m", "memory": "64Mi"}
COMPONENT = "monitoring"


def proxy_name(tenant: str) -> str:
    return f"prom-label-proxy-{tenant}"


def data_plane_prometheus(platform: dict[str, Any], cluster: str) -> str:
    url: str = platform["control_plane"]["data_plane_prometheus_url"]
    return url.replace("{serve_domain}", platform["clusters"][cluster]["serve_domain"])


def enforced(tenant: str) -> dict[str, tuple[str, str]]:
    """source -> (label, value) the tenant's proxy enforces on every query of that source."""
    return {grafana.DATA_PLANE: ("namespace", layout.namespace(tenant)),
            grafana.GATEWAY: (promql.GATEWAY_TENANT_LABEL, tenant)}


def build_tenant(ctx: TenantContext) -> emit.Outputs:
    name, platform = ctx["name"], ctx["platform"]
    scope = layout.monitoring_dir(name)
    objects = [gateway_rule(ctx), *dashboard_configmaps(ctx), *datasources(name, ctx["tenant"]["cluster"], platform),
               *label_proxy(name, ctx["tenant"]["cluster"], platform)]
    return {scope: {f"{scope}/{layout.object_file(o['kind'], o['metadata']['name'])}": emit.dump(o) for o in objects}}


def build_platform(repo: Repo) -> emit.Outputs:
    """control-plane/grafana/: an admin datasource per data-plane cluster and the management one."""
    platform = repo.current.platform.data
    cp = platform["control_plane"]
    objects = [_datasource_configmap(f"datasource-cluster-{c}", c, {
        "name": f"cluster {c}", "uid": grafana.uid(c, "cluster"), "url": data_plane_prometheus(platform, c)}, cp, None)
               for c in sorted(platform["clusters"])]
    objects.append(_datasource_configmap(f"datasource-cluster-{MANAGEMENT}", MANAGEMENT, {
        "name": f"cluster {MANAGEMENT}", "uid": grafana.uid(MANAGEMENT, "cluster"), "url": cp["management_prometheus_url"]},
        cp, None))
    scope = layout.GRAFANA_DIR
    return {scope: {f"{scope}/{layout.object_file(o['kind'], o['metadata']['name'])}": emit.dump(o) for o in objects}}


def _meta(name: str, cp: dict[str, Any], tenant: str | None, labels: dict[str, str] | None = None,
          annotations: dict[str, str] | None = None) -> dict[str, Any]:
    base = {layout.LABEL_NAME: name, layout.LABEL_COMPONENT: COMPONENT, layout.LABEL_PART_OF: layout.PART_OF,
            layout.LABEL_MANAGED_BY: layout.MANAGED_BY}
    if tenant is not None:
        base |= {layout.LABEL_TENANT: tenant, layout.LABEL_INSTANCE: layout.namespace(tenant)}
    return {"name": name, "namespace": cp["monitoring_namespace"], "labels": dict(sorted({**base, **(labels or {})}.items())),
            "annotations": {layout.ANNOTATION_ENGINE: ENGINE_VERSION, **(annotations or {})}}


def gateway_rule(ctx: TenantContext) -> dict[str, Any]:
    name = ctx["name"]
    groups = data_alerts.finish(alerts.gateway_rule_groups(scrape.targets(ctx), name), name, ctx["namespace"],
                                ctx["control_plane"]["grafana_url"])
    return {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
            "metadata": _meta(f"dataplane-gateway-{name}", ctx["control_plane"], name), "spec": {"groups": groups}}


def dashboard_configmaps(ctx: TenantContext) -> list[dict[str, Any]]:
    name, ns = ctx["name"], ctx["namespace"]
    tags = ["dataplane", f"tenant:{name}"]
    folder = dict.fromkeys(scrape.FOLDER_ANNOTATIONS, ns)
    return [{"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": _meta(f"dashboard-{name}-{d.slug}", ctx["control_plane"], name, scrape.DASHBOARD_LABEL, folder),
             "data": {f"{ns}-{d.slug}.json": grafana.dumps(grafana.dashboard_json(d, name, tags))}}
            for d in dashboards.all_dashboards(scrape.targets(ctx))]


def datasources(tenant: str, cluster: str, platform: dict[str, Any]) -> list[dict[str, Any]]:
    cp = platform["control_plane"]
    service = f"http://{proxy_name(tenant)}.{cp['monitoring_namespace']}.svc"
    where = {grafana.DATA_PLANE: cluster, grafana.GATEWAY: MANAGEMENT}
    return [_datasource_configmap(f"datasource-{tenant}-{source.replace('_', '-')}", where[source], {
        "name": grafana.datasource_name(tenant, where[source]), "uid": grafana.datasource_uid(tenant, source),
        "url": f"{service}:{port}"}, cp, tenant) for source, port in PROXY_PORTS.items()]


def _datasource_configmap(name: str, cluster: str, source: dict[str, str], cp: dict[str, Any],
                          tenant: str | None) -> dict[str, Any]:
    """One Grafana datasource, as the datasource sidecar provisions it (apiVersion 1 file)."""
    entry = {**source, "type": "prometheus", "access": "proxy", "editable": False,
             "jsonData": {"httpMethod": "POST", "timeInterval": scrape.SCRAPE_INTERVAL}}
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": _meta(name, cp, tenant, DATASOURCE_LABEL, {CLUSTER_ANNOTATION: cluster}),
            "data": {f"{name}.yaml": emit.dump({"apiVersion": 1, "datasources": [entry]}).decode().split("\n", 1)[1]}}


def label_proxy(tenant: str, cluster: str, platform: dict[str, Any]) -> list[dict[str, Any]]:
    """The tenant's prom-label-proxy (prometheus-community/prom-label-proxy): one container per
    source, each enforcing the tenant's label on every query (a query naming another value is
    refused, --error-on-replace) and on the label APIs Grafana's query editor uses."""
    cp, name = platform["control_plane"], proxy_name(tenant)
    upstream = {grafana.DATA_PLANE: data_plane_prometheus(platform, cluster), grafana.GATEWAY: cp["management_prometheus_url"]}
    selector = {layout.LABEL_NAME: name}
    containers = [{
        "name": source.replace("_", "-"), "image": platform["images"]["prom_label_proxy"],
        "args": proxy_args(upstream[source], *enforced(tenant)[source], PROXY_PORTS[source]),
        "ports": [{"name": source.replace("_", "-"), "containerPort": port, "protocol": "TCP"}],
        "readinessProbe": {"tcpSocket": {"port": port}, "periodSeconds": 10},
        "resources": {"requests": dict(PROXY_RESOURCES), "limits": dict(PROXY_RESOURCES)},
        "securityContext": copy.deepcopy(security.CONTAINER),
    } for source, port in PROXY_PORTS.items()]
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": _meta(name, cp, tenant), "spec": {
        "replicas": 1, "selector": {"matchLabels": selector},
        "template": {"metadata": {"labels": {**selector, layout.LABEL_TENANT: tenant, layout.LABEL_COMPONENT: COMPONENT}},
                     "spec": {"automountServiceAccountToken": False, "securityContext": security.pod("prom_label_proxy"),
                              "containers": containers}}}}
    service = {"apiVersion": "v1", "kind": "Service", "metadata": _meta(name, cp, tenant), "spec": {
        "selector": selector, "ports": [{"name": s.replace("_", "-"), "port": p, "targetPort": s.replace("_", "-"),
                                         "protocol": "TCP"} for s, p in PROXY_PORTS.items()]}}
    return [deployment, service]


def proxy_args(upstream: str, label: str, value: str, port: int) -> list[str]:
    return [f"--insecure-listen-address=:{port}", f"--upstream={upstream}", f"--label={label}",
            f"--label-value={value}", "--enable-label-apis", "--error-on-replace"]
