"""ArgoCD's health of a live object: the project's own Lua scripts (render/argocd/health.py,
run with lupa as ArgoCD's gopher-lua runs them) where the project ships one, else
ArgoCD's built-in rules (gitops-engine pkg/health for workloads; the
resource_customizations Lua of external-secrets, KEDA and Config Connector, which all
read the `Ready` condition). Kinds without a rule are Healthy once they exist.
"""

from __future__ import annotations

from typing import Any

from render.argocd import health as argocd_health

HEALTHY, PROGRESSING, DEGRADED, MISSING = "Healthy", "Progressing", "Degraded", "Missing"
# Groups whose ArgoCD health check is "condition Ready is True" (resource_customizations).
READY_CONDITION_GROUPS = ("external-secrets.io", "keda.sh", "iam.cnrm.cloud.google.com",
                          "storage.cnrm.cloud.google.com")
SANDBOX_REMOVED = ("os", "io", "require", "dofile", "loadfile", "load", "loadstring", "module", "package", "debug")


def group_of(obj: dict[str, Any]) -> str:
    api_version = str(obj.get("apiVersion", ""))
    return api_version.split("/")[0] if "/" in api_version else ""


def judge(obj: dict[str, Any] | None) -> tuple[str, str]:
    """(status, message) as ArgoCD would show it."""
    if obj is None:
        return MISSING, "not found"
    key = (group_of(obj), str(obj["kind"]))
    if key in argocd_health.HEALTH_SCRIPTS:
        return run_lua(argocd_health.script(argocd_health.HEALTH_SCRIPTS[key]), obj)
    rule = BUILTIN.get(str(obj["kind"])) if not key[0] or key[0] in ("apps", "batch") else None
    if rule is not None:
        return rule(obj)
    if key[0] in READY_CONDITION_GROUPS:
        return _ready_condition(obj)
    return HEALTHY, ""


def run_lua(script: str, obj: dict[str, Any]) -> tuple[str, str]:
    import lupa.lua51 as lua51

    lua = lua51.LuaRuntime(register_eval=False, unpack_returned_tuples=True)
    g = lua.globals()
    for name in SANDBOX_REMOVED:
        g[name] = None
    g.obj = lua.table_from(obj, recursive=True)
    hs = lua.execute(script)
    return str(hs["status"]), str(hs["message"] or "")


def _conditions(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {str(c.get("type")): c for c in (obj.get("status") or {}).get("conditions") or []}


def _ready_condition(obj: dict[str, Any]) -> tuple[str, str]:
    ready = _conditions(obj).get("Ready")
    if ready is None:
        return PROGRESSING, "Waiting for the Ready condition"
    if ready.get("status") == "True":
        return HEALTHY, str(ready.get("message") or "")
    return (DEGRADED if ready.get("reason") not in ("", None, "Updating", "UpToDate") else PROGRESSING,
            f"{ready.get('reason', '')}: {ready.get('message', '')}")


def _generation_seen(obj: dict[str, Any]) -> bool:
    return int((obj.get("status") or {}).get("observedGeneration") or 0) >= int(obj["metadata"].get("generation") or 0)


def _deployment(obj: dict[str, Any]) -> tuple[str, str]:
    st, want = obj.get("status") or {}, int((obj.get("spec") or {}).get("replicas", 1))
    if not _generation_seen(obj):
        return PROGRESSING, "Waiting for rollout to finish: observed deployment generation less than desired generation"
    if int(st.get("updatedReplicas") or 0) < want:
        return PROGRESSING, f"Waiting for rollout to finish: {st.get('updatedReplicas') or 0} out of {want} new replicas have been updated"
    if int(st.get("availableReplicas") or 0) < int(st.get("updatedReplicas") or 0):
        return PROGRESSING, f"Waiting for rollout to finish: {st.get('availableReplicas') or 0} of {st.get('updatedReplicas')} updated replicas are available"
    return HEALTHY, ""


def _statefulset(obj: dict[str, Any]) -> tuple[str, str]:
    st, want = obj.get("status") or {}, int((obj.get("spec") or {}).get("replicas", 1))
    if not _generation_seen(obj):
        return PROGRESSING, "Waiting for statefulset spec update to be observed"
    if int(st.get("readyReplicas") or 0) < want:
        return PROGRESSING, f"Waiting for {want} pods to be ready ({st.get('readyReplicas') or 0} ready)"
    if st.get("updateRevision") and st.get("currentRevision") != st.get("updateRevision"):
        return PROGRESSING, "waiting for statefulset rolling update to complete"
    return HEALTHY, ""


def _pvc(obj: dict[str, Any]) -> tuple[str, str]:
    phase = (obj.get("status") or {}).get("phase")
    return (HEALTHY, "") if phase == "Bound" else (PROGRESSING, f"PVC is {phase or 'Pending'}")


def _pod(obj: dict[str, Any]) -> tuple[str, str]:
    st = obj.get("status") or {}
    if st.get("phase") == "Failed":
        return DEGRADED, str(st.get("message") or "pod failed")
    ready = _conditions(obj).get("Ready", {}).get("status") == "True"
    return (HEALTHY, "") if ready else (PROGRESSING, pod_reason(obj))


def pod_reason(pod: dict[str, Any]) -> str:
    for c in (pod.get("status") or {}).get("conditions") or []:
        if c.get("status") != "True" and c.get("message"):
            return f"{c.get('type')}: {c.get('reason', '')} {c.get('message')}"
    return f"phase {(pod.get('status') or {}).get('phase', 'Pending')}"


def _job(obj: dict[str, Any]) -> tuple[str, str]:
    conds = _conditions(obj)
    if conds.get("Failed", {}).get("status") == "True":
        return DEGRADED, str(conds["Failed"].get("message", "job failed"))
    if conds.get("Complete", {}).get("status") == "True":
        return HEALTHY, ""
    return PROGRESSING, "job running"


def _namespace(obj: dict[str, Any]) -> tuple[str, str]:
    phase = (obj.get("status") or {}).get("phase")
    return (HEALTHY, "") if phase in (None, "Active") else (PROGRESSING, f"namespace {phase}")


BUILTIN = {"Deployment": _deployment, "StatefulSet": _statefulset, "PersistentVolumeClaim": _pvc,
           "Pod": _pod, "Job": _job, "Namespace": _namespace}
