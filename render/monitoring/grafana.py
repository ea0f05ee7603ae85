"""Grafana dashboard JSON, as plain dicts: the shape of Grafana's dashboard model.

Only what our dashboards need: time-series and stat panels laid out two per row, each
pinned to one Prometheus datasource by uid (the tenant's, through its label proxy: no
datasource variable a viewer could point elsewhere). Field names follow Grafana's dashboard schema (the
grafana-foundation-sdk `dashboard.Dashboard` model; the tests round-trip every dashboard
through it). Pure: no I/O, and the same input always gives the same JSON.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from json.encoder import encode_basestring
from typing import Any

SCHEMA_VERSION = 39
# Where a panel's series live (render/monitoring/control_plane.py maps each to a datasource).
DATA_PLANE = "data_plane"  # the tenant's data-plane cluster: Ray, exporters, kube-state-metrics
GATEWAY = "gateway"  # the management cluster: the shared API gateway
PANEL_WIDTH = 12
PANEL_HEIGHT = 8
GRID_COLUMNS = 24


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""


@dataclass(frozen=True)
class Panel:
    title: str
    queries: tuple[Query, ...]
    unit: str = "short"
    kind: str = "timeseries"  # or "stat"
    description: str = ""
    width: int = PANEL_WIDTH
    source: str = DATA_PLANE


@dataclass(frozen=True)
class Dashboard:
    slug: str
    title: str
    description: str
    panels: tuple[Panel, ...] = field(default_factory=tuple)


def uid(tenant: str, slug: str) -> str:
    """Stable and unique per tenant and dashboard, within Grafana's 40-character limit."""
    digest = hashlib.sha256(f"{tenant}/{slug}".encode()).hexdigest()[:16]
    return f"dp-{digest}-{slug}"[:40]


def datasource_uid(tenant: str, source: str) -> str:
    """The uid of the tenant's Grafana datasource for `source` (DATA_PLANE or GATEWAY)."""
    return uid(tenant, f"ds-{source}".replace("_", "-"))


def dashboard_url(grafana_url: str, tenant: str, slug: str) -> str:
    return f"{grafana_url.rstrip('/')}/d/{uid(tenant, slug)}"


def datasource_name(tenant: str, cluster: str) -> str:
    """The display name of the tenant's datasource on `cluster`'s Prometheus (or "management")."""
    return f"tenant-{tenant} {cluster}"


def ray_head_env(tenant: str, cluster: str, grafana_url: str) -> list[dict[str, str]]:
    """Env of the Ray head's dashboard (ray/dashboard/modules/metrics/metrics_head.py, Ray 2.60):
    its Metrics and Serve charts are Grafana panels in iframes the operator's browser loads
    from RAY_GRAFANA_IFRAME_HOST, with `var-datasource` = RAY_PROMETHEUS_NAME: the tenant's
    data-plane datasource, so every chart queries through the tenant's label proxy. The head
    itself checks Grafana's /api/health at RAY_GRAFANA_HOST and sends its own queries
    (Prometheus health, the Data page) to RAY_PROMETHEUS_HOST: Grafana's datasource proxy of
    that same datasource, never a Prometheus the tenant's code could query unscoped."""
    url = grafana_url.rstrip("/")
    return [{"name": "RAY_GRAFANA_HOST", "value": url},
            {"name": "RAY_GRAFANA_IFRAME_HOST", "value": url},
            {"name": "RAY_PROMETHEUS_NAME", "value": datasource_name(tenant, cluster)},
            {"name": "RAY_PROMETHEUS_HOST",
             "value": f"{url}/api/datasources/proxy/uid/{datasource_uid(tenant, DATA_PLANE)}"}]


def dashboard_json(d: Dashboard, tenant: str, tags: list[str]) -> dict[str, Any]:
    return {
        "uid": uid(tenant, d.slug),
        "title": d.title,
        "description": d.description,
        "tags": tags,
        "timezone": "browser",
        "editable": False,
        "graphTooltip": 1,
        "time": {"from": "now-6h", "to": "now"},
        "fiscalYearStartMonth": 0,
        "refresh": "1m",
        "schemaVersion": SCHEMA_VERSION,
        "templating": {"list": []},
        "annotations": {"list": []},
        "links": [],
        "panels": _layout(d.panels, tenant),
    }


def dumps(dashboard: dict[str, Any]) -> str:
    """Canonical JSON text for the ConfigMap (sorted keys: diffs stay small): exactly
    json.dumps(dashboard, indent=2, sort_keys=True, ensure_ascii=False). With an indent the
    standard library encodes in Python through generators; this writes the same text in
    about half the time (five dashboards per tenant), and hands anything but plain JSON
    data with string keys to json.dumps."""
    out: list[str] = []
    try:
        _indented(dashboard, "\n", out)
    except _NotPlainJSON:
        return json.dumps(dashboard, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    return "".join(out) + "\n"


class _NotPlainJSON(Exception):
    pass


def _indented(value: Any, newline: str, out: list[str]) -> None:
    """`value` as json.dumps writes it with indent=2 and sorted keys, `newline` being the
    line break and indentation of the line it starts on."""
    if isinstance(value, str):
        out.append(encode_basestring(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, float) and math.isfinite(value):
        out.append(float.__repr__(value))
    elif isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        inner, separator = newline + "  ", "{"
        for key in sorted(value):
            if not isinstance(key, str):
                raise _NotPlainJSON  # json.dumps converts other keys its own way
            out += (separator, inner, encode_basestring(key), ": ")
            _indented(value[key], inner, out)
            separator = ","
        out += (newline, "}")
    elif isinstance(value, (list, tuple)):
        if not value:
            out.append("[]")
            return
        inner, separator = newline + "  ", "["
        for item in value:
            out += (separator, inner)
            _indented(item, inner, out)
            separator = ","
        out += (newline, "]")
    else:
        raise _NotPlainJSON  # NaN, infinities, other types: json.dumps's rules


def _layout(panels: tuple[Panel, ...], tenant: str) -> list[dict[str, Any]]:
    out, x, y = [], 0, 0
    for i, p in enumerate(panels, start=1):
        if x + p.width > GRID_COLUMNS:
            x, y = 0, y + PANEL_HEIGHT
        source = {"type": "prometheus", "uid": datasource_uid(tenant, p.source)}
        out.append(_panel(p, i, {"h": PANEL_HEIGHT, "w": p.width, "x": x, "y": y}, source))
        x += p.width
    return out


def _panel(p: Panel, panel_id: int, grid: dict[str, int], source: dict[str, str]) -> dict[str, Any]:
    targets = [{"datasource": source, "expr": q.expr, "legendFormat": q.legend or "__auto",
                "refId": chr(ord("A") + i), "range": True, "instant": False}
               for i, q in enumerate(p.queries)]
    options: dict[str, Any]
    if p.kind == "stat":
        options = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                   "colorMode": "value", "graphMode": "area", "textMode": "auto"}
    else:
        options = {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
                   "tooltip": {"mode": "multi", "sort": "desc"}}
    return {
        "id": panel_id,
        "type": p.kind,
        "title": p.title,
        "description": p.description,
        "datasource": source,
        "gridPos": grid,
        "targets": targets,
        "fieldConfig": {"defaults": {"unit": p.unit}, "overrides": []},
        "options": options,
    }
