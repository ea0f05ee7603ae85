"""`validate --deep`'s metric-sources check (render/conformance/metric_sources.py): every
rule's and panel's metrics are produced in the cluster that evaluates it. Passes on the
committed tree; each broken fixture (a gateway panel on the data-plane datasource, a
gateway alert in the data plane, a data-plane metric in a management rule, a panel on a
datasource nobody rendered) fails it, naming the metric and both clusters."""

from __future__ import annotations

import json
from typing import Any

import yaml

from render import layout
from render.conformance import deep, metric_sources
from render.conformance.manifests import Manifest, collect
from render.load import parse_yaml
from render.monitoring import grafana
from tests.support import ROOT


def _tree() -> tuple[list[Manifest], dict[str, dict[str, Any]]]:
    manifests, unreadable = collect(ROOT)
    assert not unreadable
    return manifests, deep.tenant_files(ROOT)


def _replace(manifests: list[Manifest], file: str, change: Any) -> list[Manifest]:
    """The tree with the object in `file` changed by `change(obj) -> obj`."""
    out = []
    for m in manifests:
        if m.file == file:
            obj = change(json.loads(json.dumps(m.obj)))
            m = Manifest(parse_yaml(yaml.safe_dump(obj, sort_keys=False), file))
        out.append(m)
    return out


def _failures(manifests: list[Manifest], tenants: dict[str, dict[str, Any]]) -> list[str]:
    return [f"{p.file}: {p.message}" for p in metric_sources.check(manifests, tenants).failures]


def test_the_committed_tree_evaluates_every_metric_where_it_is_produced() -> None:
    manifests, tenants = _tree()
    outcome = metric_sources.check(manifests, tenants)
    assert outcome.failures == [] and outcome.checked > 200


def _errors_board(tenant: str) -> str:
    return f"{layout.monitoring_dir(tenant)}/configmap-dashboard-{tenant}-errors.yaml"


def test_a_gateway_panel_on_the_data_plane_datasource_fails() -> None:
    manifests, tenants = _tree()

    def repin(obj: dict[str, Any]) -> dict[str, Any]:
        ((key, text),) = obj["data"].items()
        board = json.loads(text)
        for panel in board["panels"]:
            for target in [panel, *panel["targets"]]:
                target["datasource"]["uid"] = grafana.datasource_uid("acme", grafana.DATA_PLANE)
        obj["data"][key] = json.dumps(board)
        return obj

    found = _failures(_replace(manifests, _errors_board("acme"), repin), tenants)
    assert found and all(f.startswith(_errors_board("acme")) for f in found)
    assert any("metric dataplane_gateway_requests_total: produced by the API gateway in the management cluster, "
               "but evaluated in dp-gke-us-central1" in f for f in found), found


def test_a_gateway_alert_in_the_data_plane_and_a_data_plane_metric_in_a_management_rule_fail() -> None:
    manifests, tenants = _tree()
    gateway_rule = f"{layout.monitoring_dir('acme')}/prometheusrule-dataplane-gateway-acme.yaml"
    data_rule = f"{layout.rendered_dir('acme')}/prometheusrule-dataplane-alerts.yaml"
    (gateway,) = [m.obj for m in manifests if m.file == gateway_rule]

    def add_gateway_group(obj: dict[str, Any]) -> dict[str, Any]:
        obj["spec"]["groups"] += gateway["spec"]["groups"]
        return obj

    def add_queue_alert(obj: dict[str, Any]) -> dict[str, Any]:
        obj["spec"]["groups"][0]["rules"].append(
            {"alert": "X", "expr": 'sum(celery_queue_length{namespace="tenant-acme"}) > 0'})
        return obj

    found = _failures(_replace(_replace(manifests, data_rule, add_gateway_group), gateway_rule, add_queue_alert), tenants)
    assert any(f.startswith(data_rule) and "dataplane_gateway_requests_total" in f and "dp-gke-us-central1" in f
               for f in found), found
    assert any(f.startswith(gateway_rule) and "metric celery_queue_length: its exporter Deployment/celery-exporter runs "
               "in tenant-acme on dp-gke-us-central1, but it is evaluated in management" in f for f in found), found


def test_a_panel_on_a_datasource_nobody_rendered_fails() -> None:
    manifests, tenants = _tree()

    def unpin(obj: dict[str, Any]) -> dict[str, Any]:
        ((key, text),) = obj["data"].items()
        board = json.loads(text)
        board["panels"][0]["datasource"] = board["panels"][0]["targets"][0]["datasource"] = {"uid": "${datasource}"}
        obj["data"][key] = json.dumps(board)
        return obj

    found = _failures(_replace(manifests, _errors_board("globex"), unpin), tenants)
    assert any("datasource '${datasource}' is no rendered Grafana datasource" in f for f in found), found


def test_a_deep_validation_of_one_tenant_reads_its_own_control_plane_output_only() -> None:
    manifests, unreadable = collect(ROOT, ["acme"])
    assert not unreadable
    files = {m.file for m in manifests}
    assert any(f.startswith(layout.monitoring_dir("acme") + "/") for f in files)
    assert not any(f.startswith(layout.monitoring_dir("globex") + "/") for f in files)
    assert metric_sources.check(manifests, deep.tenant_files(ROOT)).failures == []
