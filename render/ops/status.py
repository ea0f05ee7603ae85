"""`dataplane status`'s report: RayService and RayCluster state, pods per worker group,
each extractor's status and replica range, and the other workloads. Pure.

`status_data` reads the snapshot once (the JSON/YAML document of `status -o json`);
`status_lines` prints that same data for people.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from render.ops import snapshot as snap


def status_data(s: snap.Snapshot) -> dict[str, Any]:
    """{"service", "cluster", "extractors", "other_workloads"}; service/cluster null when absent."""
    cluster = snap.active_cluster(s)
    return {"namespace": s.namespace, "service": _service(s), "cluster": _cluster(s, cluster) if cluster else None,
            "extractors": _extractors(s), "other_workloads": _other_pods(s)}


def status_lines(s: snap.Snapshot) -> list[str]:
    data = status_data(s)
    lines = _service_lines(data["service"], s.namespace)
    if data["cluster"] is not None:
        lines += _cluster_lines(data["cluster"])
    lines += _extractor_lines(data["extractors"])
    return lines + _other_lines(data["other_workloads"])


def _service(s: snap.Snapshot) -> dict[str, Any] | None:
    rs = s.ray_service
    if rs is None:
        return None
    status = rs.get("status") or {}
    ready: dict[str, Any] = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), {})
    state = "Ready" if ready.get("status") == "True" else (ready.get("reason") or status.get("serviceStatus") or "not ready")
    return {"name": snap.RAY_SERVICE, "state": state, "serving_cluster": snap.active_cluster_name(s),
            "serve_endpoints": status.get("numServeEndpoints"),
            "pending_cluster": (status.get("pendingServiceStatus") or {}).get("rayClusterName")}


def _service_lines(d: dict[str, Any] | None, namespace: str) -> list[str]:
    if d is None:
        return [f"RayService {snap.RAY_SERVICE}: not found in {namespace}"]
    line = f"RayService {d['name']}: {d['state']}; serving cluster {d['serving_cluster'] or '-'}"
    if d["serve_endpoints"] is not None:
        line += f", {d['serve_endpoints']} Serve endpoints"
    return [line] + ([f"  upgrade in progress: new cluster {d['pending_cluster']}"] if d["pending_cluster"] else [])


def _cluster(s: snap.Snapshot, cluster: snap.Obj) -> dict[str, Any]:
    st = cluster.get("status") or {}
    name = snap.name_of(cluster)
    pods = snap.pods_of_cluster(s, name)
    groups = []
    for group, spec in [("head", None)] + [(str(g.get("groupName")), g) for g in snap.worker_groups(cluster)]:
        phases = Counter(snap.phase(p) for p in pods if snap.pod_role(p) == group)
        groups.append({"group": group, "pods": dict(sorted(phases.items())),
                       **({} if spec is None else {"replicas": spec.get("replicas", 0), "min_replicas": spec.get("minReplicas", 0),
                                                   "max_replicas": spec.get("maxReplicas", 0)})})
    return {"name": name, "state": st.get("state", "unknown"), "ready_workers": st.get("readyWorkerReplicas", 0),
            "desired_workers": st.get("desiredWorkerReplicas", 0), "groups": groups}


def _cluster_lines(d: dict[str, Any]) -> list[str]:
    lines = [f"RayCluster {d['name']}: {d['state']}; workers {d['ready_workers']} ready / {d['desired_workers']} desired"]
    width = max(len(g["group"]) for g in d["groups"])
    for g in d["groups"]:
        counts = ", ".join(f"{n} {ph.lower()}" for ph, n in g["pods"].items()) or "0 pods"
        scale = f"  (replicas {g['replicas']}, min {g['min_replicas']}, max {g['max_replicas']})" if "replicas" in g else ""
        lines.append(f"  {g['group'].ljust(width)}  {counts}{scale}")
    return lines


def _extractors(s: snap.Snapshot) -> list[dict[str, Any]]:
    out = []
    for app, info in snap.serve_applications(s).items():
        auto = info["config"].get("autoscaling_config") or {}
        states = sorted({str(d.get("status")) for d in (info["status"].get("serveDeploymentStatuses") or {}).values()})
        out.append({"name": app, "status": str(info["status"].get("status", "UNKNOWN")), "deployments": states,
                    "min_replicas": auto.get("min_replicas") if auto else None,
                    "max_replicas": auto.get("max_replicas") if auto else None})
    return out


def _extractor_lines(apps: list[dict[str, Any]]) -> list[str]:
    if not apps:
        return []
    width = max(len(a["name"]) for a in apps)
    lines = ["Extractors (Ray Serve applications):"]
    for a in apps:
        lo, hi = ("?" if a[k] is None else a[k] for k in ("min_replicas", "max_replicas"))
        replicas = f"replicas {lo}..{hi}" if a["min_replicas"] is not None or a["max_replicas"] is not None else ""
        lines.append(f"  {a['name'].ljust(width)}  {a['status'].ljust(13)} {'/'.join(a['deployments']) or '-':<11} "
                     f"{replicas}".rstrip())
    return lines


def _other_pods(s: snap.Snapshot) -> dict[str, dict[str, int]]:
    by_role: dict[str, Counter[str]] = {}
    for p in s.pods:
        if snap.LABEL_CLUSTER not in snap.labels_of(p):
            by_role.setdefault(snap.pod_role(p), Counter())[snap.phase(p)] += 1
    return {role: dict(sorted(phases.items())) for role, phases in sorted(by_role.items())}


def _other_lines(by_role: dict[str, dict[str, int]]) -> list[str]:
    if not by_role:
        return []
    width = max(len(r) for r in by_role)
    return ["Other workloads:"] + [f"  {role.ljust(width)}  " + ", ".join(f"{n} {ph.lower()}" for ph, n in phases.items())
                                   for role, phases in by_role.items()]
