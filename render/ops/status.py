"""`dataplane status`'s report: RayService and RayCluster state, pods per worker group,
each extractor's status and replica range, and the other workloads. Pure."""

from __future__ import annotations

from collections import Counter
from typing import Any

from render.ops import snapshot as snap


def status_lines(s: snap.Snapshot) -> list[str]:
    lines = _service(s)
    cluster = snap.active_cluster(s)
    if cluster is not None:
        lines += _cluster(s, cluster)
    lines += _extractors(s)
    lines += _other_pods(s)
    return lines


def _service(s: snap.Snapshot) -> list[str]:
    rs = s.ray_service
    if rs is None:
        return [f"RayService {snap.RAY_SERVICE}: not found in {s.namespace}"]
    status = rs.get("status") or {}
    ready: dict[str, Any] = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), {})
    state = "Ready" if ready.get("status") == "True" else (ready.get("reason") or status.get("serviceStatus") or "not ready")
    line = f"RayService {snap.RAY_SERVICE}: {state}; serving cluster {snap.active_cluster_name(s) or '-'}"
    if status.get("numServeEndpoints") is not None:
        line += f", {status['numServeEndpoints']} Serve endpoints"
    pending = (status.get("pendingServiceStatus") or {}).get("rayClusterName")
    return [line] + ([f"  upgrade in progress: new cluster {pending}"] if pending else [])


def _cluster(s: snap.Snapshot, cluster: snap.Obj) -> list[str]:
    st = cluster.get("status") or {}
    name = snap.name_of(cluster)
    lines = [f"RayCluster {name}: {st.get('state', 'unknown')}; workers {st.get('readyWorkerReplicas', 0)} ready / "
             f"{st.get('desiredWorkerReplicas', 0)} desired"]
    pods = snap.pods_of_cluster(s, name)
    groups = [("head", None)] + [(str(g.get("groupName")), g) for g in snap.worker_groups(cluster)]
    width = max(len(g) for g, _ in groups)
    for group, spec in groups:
        phases = Counter(snap.phase(p) for p in pods if snap.pod_role(p) == group)
        counts = ", ".join(f"{n} {ph.lower()}" for ph, n in sorted(phases.items())) or "0 pods"
        scale = "" if spec is None else (f"  (replicas {spec.get('replicas', 0)}, min {spec.get('minReplicas', 0)}, "
                                         f"max {spec.get('maxReplicas', 0)})")
        lines.append(f"  {group.ljust(width)}  {counts}{scale}")
    return lines


def _extractors(s: snap.Snapshot) -> list[str]:
    apps = snap.serve_applications(s)
    if not apps:
        return []
    width = max(len(a) for a in apps)
    lines = ["Extractors (Ray Serve applications):"]
    for app, info in apps.items():
        auto = info["config"].get("autoscaling_config") or {}
        states = sorted({str(d.get("status")) for d in (info["status"].get("serveDeploymentStatuses") or {}).values()})
        replicas = f"replicas {auto.get('min_replicas', '?')}..{auto.get('max_replicas', '?')}" if auto else ""
        lines.append(f"  {app.ljust(width)}  {str(info['status'].get('status', 'UNKNOWN')).ljust(13)} "
                     f"{'/'.join(states) or '-':<11} {replicas}".rstrip())
    return lines


def _other_pods(s: snap.Snapshot) -> list[str]:
    others = [p for p in s.pods if snap.LABEL_CLUSTER not in snap.labels_of(p)]
    if not others:
        return []
    by_role: dict[str, Counter[str]] = {}
    for p in others:
        by_role.setdefault(snap.pod_role(p), Counter())[snap.phase(p)] += 1
    width = max(len(r) for r in by_role)
    lines = ["Other workloads:"]
    for role, phases in sorted(by_role.items()):
        lines.append(f"  {role.ljust(width)}  " + ", ".join(f"{n} {ph.lower()}" for ph, n in sorted(phases.items())))
    return lines
