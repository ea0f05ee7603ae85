"""Alerts that guard the tenant's data: a datastore down, a volume filling up, a backup
overdue, and `alert`, the builder of every rule: its `runbook_url` is the alert's anchor
in docs/operations.md, where the `dataplane` command to run is named. Pure.
"""

from __future__ import annotations

import re
from typing import Any

from render.monitoring import grafana
from render.monitoring.promql import Scope

VOLUME_FULL_RATIO = 0.8
DOWN_FOR = "5m"
VOLUME_FOR = "15m"
RUNBOOK = "docs/operations.md"


def rule_group(ns: Scope, tenant: str, datastores: list[str], stale_after_s: dict[str, int],
               mongodb_exporter: bool = False) -> dict[str, Any]:
    """The `dataplane.data` group for a tenant whose datastores (StatefulSets) are `datastores`
    (and whose namespace runs the MongoDB exporter, when `mongodb_exporter`)."""
    restore = (f"If its data is lost, restore the newest backup: `dataplane restore {tenant} --from <backup> "
               f"--inventory <bucket listing>` ({RUNBOOK}#restore).")
    sets = "|".join(datastores)
    rules = [
        alert("DataplaneDatastoreDown",
               f"max by (statefulset) ({ns.sel('kube_statefulset_status_replicas_ready', statefulset='~' + sets)}) < 1",
               DOWN_FOR, "critical", "Datastore {{ $labels.statefulset }} has no ready replica.",
               "{{ $value }} ready replicas. " f"Run `dataplane status {tenant}` and `dataplane doctor {tenant}` for the cause. " + restore),
        alert("DataplaneVolumeAlmostFull",
               f"max by (persistentvolumeclaim) ({ns.sel('kubelet_volume_stats_used_bytes')} "
               f"/ {ns.sel('kubelet_volume_stats_capacity_bytes')}) > {VOLUME_FULL_RATIO}",
               VOLUME_FOR, "warning", "Volume {{ $labels.persistentvolumeclaim }} is more than "
               + f"{VOLUME_FULL_RATIO:.0%} full.",
               "It is {{ $value | humanizePercentage }} full. " f"A full volume stops the datastore. `dataplane status {tenant}` shows the datastores; grow the volume "
               f"by a PVC expansion ({RUNBOOK}#volumes).")]
    if mongodb_exporter:
        # percona/mongodb_exporter exporter/general_collector.go: mongodb_up (no labels) is 1
        # when the exporter's Ping of the instance succeeds, else 0: MongoDB refuses or hangs
        # while its pod may still look ready.
        rules.append(alert("DataplaneMongodbUnreachable", f"max({ns.sel('mongodb_up')}) < 1", DOWN_FOR, "critical",
                           "The tenant's MongoDB does not answer its exporter's ping.",
                           "mongodb_up is {{ $value }}. " f"Run `dataplane status {tenant}` and `dataplane doctor {tenant}`; the "
                           f"mongodb-exporter's log names the error (authentication, timeout). " + restore))
    for ds in (d for d in datastores if d in stale_after_s):
        job = f"backup-{ds}"
        last = (f"max({ns.sel('kube_cronjob_status_last_successful_time', cronjob=job)} "
                f"or {ns.sel('kube_cronjob_created', cronjob=job)})")
        rules.append(alert(f"DataplaneBackupStale{ds.capitalize()}", f"time() - {last} > {stale_after_s[ds]}", "0m",
                            "critical", f"The last successful {ds} backup is older than {stale_after_s[ds]}s "
                            "(twice its schedule).",
                            "It is {{ $value | humanizeDuration }} old. " f"Check the failed Jobs: `kubectl -n {ns.value} get jobs -l app.kubernetes.io/component=backup`; "
                            f"`dataplane doctor {tenant}` shows the pods' errors. Run one now with `kubectl -n {ns.value} "
                            f"create job --from=cronjob/{job} {job}-manual` ({RUNBOOK}#backups)."))
    return {"name": "dataplane.data", "rules": rules}


def runbook_url(alert_name: str) -> str:
    """The alert's anchor in docs/operations.md (BackupStale<Datastore> share one)."""
    anchor = alert_name.lower()
    return f"{RUNBOOK}#" + ("dataplanebackupstale" if anchor.startswith("dataplanebackupstale") else anchor)


def alert(name: str, expr: str, for_: str, severity: str, summary: str, description: str) -> dict[str, Any]:
    rule: dict[str, Any] = {"alert": name, "expr": expr}
    if for_ != "0m":
        rule["for"] = for_
    rule["labels"] = {"severity": severity}
    rule["annotations"] = {"summary": summary, "description": description, "runbook_url": runbook_url(name)}
    return rule




# The dashboard each alert links to (annotation dashboard_url): where its cause shows.
DASHBOARDS = {
    "DataplanePodPendingTooLong": "cost", "DataplaneContainerOOMKilled": "cost",
    "DataplaneExtractorNoReplicas": "latency", "DataplaneExtractorSaturated": "latency",
    "DataplaneExtractorLatencyP99High": "latency", "DataplaneServeUnhealthy": "errors",
    "DataplaneBatchBacklogNoWorkers": "batch", "DataplaneCeleryBeatStale": "queues",
    "DataplaneApiErrorRateHigh": "errors", "DataplaneApiLatencyP99High": "latency",
    "DataplaneDatastoreDown": "queues", "DataplaneMongodbUnreachable": "queues", "DataplaneVolumeAlmostFull": "cost",
    "DataplaneBackupStale": "cost",
}


def finish(groups: list[dict[str, Any]], tenant: str, namespace: str, grafana_url: str) -> list[dict[str, Any]]:
    """Every rule of `groups` with the tenant's routing labels and its dashboard's link."""
    for group in groups:
        for rule in group["rules"]:
            rule["labels"] = {**rule["labels"], "tenant": tenant, "namespace": namespace}
            slug = DASHBOARDS[re.sub(r"^(DataplaneBackupStale)\w+$", r"\1", rule["alert"])]
            rule["annotations"] = {**rule["annotations"], "dashboard_url": grafana.dashboard_url(grafana_url, tenant, slug)}
    return groups
