"""Ray-level checks: the RayService and its cluster, each extractor (Ray Serve
application) and the batch worker group. Pure: Kubernetes objects in, findings out."""

from __future__ import annotations

from typing import Any

from render.ops import snapshot as snap
from render.ops.findings import Finding, more_memory, snippet

FAILED_APP = ("DEPLOY_FAILED", "UNHEALTHY")
FAILED_DEPLOYMENT = ("DEPLOY_FAILED", "UNHEALTHY")
BATCH_GROUP = "batch-workers"
# Ray Serve's message when replicas wait for resources the cluster cannot give yet.
WAITING_FOR_RESOURCES = "to be scheduled"
MEMORY_WORDS = ("OutOfMemory", "out of memory", "running low on memory", "OOM")


def service_findings(s: snap.Snapshot, tenant: str) -> list[Finding]:
    rs = s.ray_service
    if rs is None:
        return [Finding("error", f"rayservice {snap.RAY_SERVICE}", "not found in the namespace", (),
                        "The tenant has not been synced yet: check its ArgoCD application.")]
    out = []
    status = rs.get("status") or {}
    for c in status.get("conditions") or []:
        if c.get("type") == "Ready" and c.get("status") != "True":
            out.append(Finding("error", f"rayservice {snap.RAY_SERVICE}", "not ready",
                               (f"{c.get('reason', '')}: {c.get('message', '')}".strip(": "),),
                               f"Run `dataplane status {tenant}` and look at the pods and extractors below."))
    pending = (status.get("pendingServiceStatus") or {}).get("rayClusterName")
    if pending:
        out.append(Finding("info", f"rayservice {snap.RAY_SERVICE}", f"upgrade in progress: new cluster {pending}",
                           ("the active cluster keeps serving until the new one is ready",),
                           "While both clusters run, the namespace holds two sets of Ray pods: quota errors "
                           "during an upgrade clear when the old cluster is deleted."))
    cluster = snap.active_cluster(s)
    state = str(((cluster or {}).get("status") or {}).get("state") or "")
    if cluster is not None and state and state != "ready":
        reason = str((cluster.get("status") or {}).get("reason") or "")
        out.append(Finding("warning", f"raycluster {snap.name_of(cluster)}", f"state {state}",
                           (reason,) if reason else (), "See the pod findings for the cause."))
    return out


def extractor_findings(s: snap.Snapshot) -> list[Finding]:
    cluster = snap.active_cluster(s)
    out: list[Finding] = []
    scale_to_zero = []
    for app, info in snap.serve_applications(s).items():
        config, status = info["config"], info["status"]
        auto = config.get("autoscaling_config") or {}
        if auto and int(auto.get("min_replicas", 1)) == 0:
            scale_to_zero.append(app)
        out += _app_status(app, config, status, cluster, s)
    if scale_to_zero:
        out.append(Finding("info", "extractors " + ", ".join(scale_to_zero), "scale to zero when idle",
                           ("the first request after idle waits 5-10 s for a cold start (a 503 if it times out)",),
                           "Set min_replicas: 1 for the latency-sensitive ones (keep only those in the snippet).",
                           snippet({"overrides": {a: {"min_replicas": 1} for a in scale_to_zero}})))
    return out


def _app_status(app: str, config: dict[str, Any], status: dict[str, Any], cluster: snap.Obj | None,
                s: snap.Snapshot) -> list[Finding]:
    subject = f"extractor {app}"
    messages = [str(status.get("message") or "")] + [
        str(d.get("message") or "") for d in (status.get("serveDeploymentStatuses") or {}).values()]
    text = " ".join(m for m in messages if m)
    states = {str(d.get("status")) for d in (status.get("serveDeploymentStatuses") or {}).values()}
    if any(w.lower() in text.lower() for w in MEMORY_WORDS):
        memory = (config.get("ray_actor_options") or {}).get("memory")
        return [Finding("error", subject, "replicas ran out of memory", (text[:400],),
                        "Give each replica more memory in overrides.yaml.",
                        snippet({"overrides": {app: {"memory": more_memory(memory)}}}) if memory else "")]
    if status.get("status") in FAILED_APP or states & set(FAILED_DEPLOYMENT):
        return [Finding("error", subject, f"{status.get('status', 'UNHEALTHY')}: requests get 503", (text[:400],),
                        "Read the replica logs in the Ray dashboard (Serve tab).",
                        command=f"dataplane ray-dashboard {s.namespace.removeprefix('tenant-')}")]
    group = snap.group_of_resources(cluster, (config.get("ray_actor_options") or {}).get("resources") or {})
    if WAITING_FOR_RESOURCES in text or "UPSCALING" in states:
        return _saturated(subject, group, text, s, cluster)
    return []


def _saturated(subject: str, group: str, text: str, s: snap.Snapshot, cluster: snap.Obj | None) -> list[Finding]:
    spec = next((g for g in snap.worker_groups(cluster) if g.get("groupName") == group), None)
    if spec is None:
        return []
    high = int(spec.get("maxReplicas") or 0)
    running = sum(1 for p in snap.pods_of_cluster(s, snap.name_of(cluster or {}))
                  if snap.pod_role(p) == group and snap.phase(p) == "Running")
    if running < high:
        return [Finding("info", subject, f"scaling up ({group}: {running} of at most {high} pods running)",
                        (text[:400],) if text else (), "The Ray autoscaler is adding capacity; nothing to change.")]
    return [Finding("warning", subject, f"saturated: {group} is at its max_replicas ({high})",
                    (text[:400],) if text else (),
                    f"Raise {group} max_replicas so more replicas fit (or lower max_replicas of other extractors "
                    "on the group).", snippet({"cluster": {group: {"max_replicas": high + 1}}}))]


def batch_findings(s: snap.Snapshot, tenant: str) -> list[Finding]:
    cluster = snap.active_cluster(s)
    spec = next((g for g in snap.worker_groups(cluster) if g.get("groupName") == BATCH_GROUP), None)
    if spec is None:
        return []
    pods = [p for p in snap.pods_of_cluster(s, snap.name_of(cluster or {})) if snap.pod_role(p) == BATCH_GROUP]
    if any(snap.phase(p) in ("Running", "Pending") for p in pods):
        return []  # running, or Pending (reported with its scheduling reason)
    return [Finding("info", f"worker group {BATCH_GROUP}", "no batch workers running",
                    (f"replicas {spec.get('replicas', 0)}, min {spec.get('minReplicas', 0)}, "
                     f"max {spec.get('maxReplicas', 0)}",),
                    "Normal when idle: the group scales from zero on demand. If batch jobs are stuck, scale it up "
                    "for the job now; for a lasting floor set min_replicas.",
                    snippet({"cluster": {BATCH_GROUP: {"min_replicas": 1}}}),
                    command=f"dataplane scale {tenant} {BATCH_GROUP} --replicas 1")]
