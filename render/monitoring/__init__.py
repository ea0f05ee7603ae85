"""Monitoring of a tenant's data plane: scrape targets and exporters (scrape), Prometheus
alert rules (alerts), Grafana dashboards (dashboards, built on the typed model in grafana)
and the PromQL they share (promql).
"""
