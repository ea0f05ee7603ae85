"""Pod-level checks of the spec's troubleshooting section: Pending pods (with the
scheduler's and cluster autoscaler's event reasons), OOMKilled and crash-looping
containers. Pure: Kubernetes objects in, findings out."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Any

from render import quantity
from render.ops import snapshot as snap
from render.ops.findings import Finding, memory_override, more_memory, snippet

INSUFFICIENT = re.compile(r"(\d+) Insufficient ([A-Za-z0-9./_-]+)")
GPU = "nvidia.com/gpu"


def unschedulable_reasons(message: str) -> dict[str, int]:
    """'0/5 nodes are available: 3 Insufficient cpu, 2 Insufficient nvidia.com/gpu.' -> {cpu: 3, nvidia.com/gpu: 2}"""
    head = message.split("preemption:", 1)[0]
    out: dict[str, int] = {}
    for count, resource in INSUFFICIENT.findall(head):
        out[resource.rstrip(".")] = out.get(resource.rstrip("."), 0) + int(count)
    return out


def pending_findings(s: snap.Snapshot, tenant: str, now: datetime | None = None) -> list[Finding]:
    out = []
    for pod in s.pods:
        if snap.phase(pod) != "Pending" or _is_starting(pod):
            continue
        out.append(_pending(s, pod, tenant, now))
    return out


def _is_starting(pod: snap.Obj) -> bool:
    """Scheduled and pulling images / starting containers: not a scheduling problem."""
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "PodScheduled" and c.get("status") == "True" for c in conditions)


def _pending(s: snap.Snapshot, pod: snap.Obj, tenant: str, now: datetime | None) -> Finding:
    name, role = snap.name_of(pod), snap.pod_role(pod)
    events = snap.events_for(s, "Pod", name)
    scheduling = [e for e in events if e.get("reason") == "FailedScheduling"]
    autoscaler = [e for e in events if e.get("reason") in ("TriggeredScaleUp", "NotTriggerScaleUp", "FailedScaleUp")]
    details = [f"{e.get('reason')}: {e.get('message', '').strip()}" for e in (scheduling[-1:] + autoscaler[-1:])]
    age = _age(pod, now)
    if age:
        details.insert(0, f"pending for {age}")
    subject = f"pod {name} ({role})"
    message = str(scheduling[-1].get("message", "")) if scheduling else ""
    missing = unschedulable_reasons(message)
    last_scaler = autoscaler[-1] if autoscaler else {}
    if "max node group size reached" in str(last_scaler.get("message", "")):
        return _node_pool_full(s, subject, role, tuple(details))
    if GPU in missing:
        return Finding("warning", subject, "GPU unavailable: no node with a free NVIDIA L4", tuple(details),
                       "L4 GPUs may be temporarily exhausted in the region; the cluster autoscaler keeps retrying "
                       "and the pod starts when a GPU node is available. Nothing to change in overrides.yaml.")
    if missing:
        scaling = last_scaler.get("reason") == "TriggeredScaleUp"
        return Finding("info" if scaling else "warning", subject,
                       "Insufficient resources: " + ", ".join(f"{r} on {n} node(s)" for r, n in sorted(missing.items())),
                       tuple(details),
                       "The cluster autoscaler is provisioning a new node (2-3 minutes)." if scaling else
                       "No node has room and no scale-up was triggered yet; wait a few minutes, then run "
                       f"`dataplane doctor {tenant}` again.")
    if message:
        return Finding("warning", subject, "Cannot be scheduled", tuple(details),
                       "Read the scheduler's message above (node selectors, taints or volume placement).")
    return Finding("info", subject, "Pending, no scheduling event yet", tuple(details),
                   f"Run `kubectl -n {s.namespace} describe pod {name}` for the latest events.")


def _node_pool_full(s: snap.Snapshot, subject: str, role: str, details: tuple[str, ...]) -> Finding:
    """Spec: resource limits -> reduce maxReplicas on other worker groups to free capacity."""
    cluster = snap.active_cluster(s)
    lower = {}
    for g in snap.worker_groups(cluster):
        name, low, high = str(g.get("groupName")), int(g.get("minReplicas") or 0), int(g.get("maxReplicas") or 0)
        if name != role and high > low:
            lower[name] = {"max_replicas": max(low, high - 1)}
    return Finding("warning", subject, "Resource limits: the node pool is at its maximum size", details,
                   "Reduce max_replicas on other worker groups to free capacity for this one.",
                   snippet({"cluster": lower}) if lower else "")


def _age(pod: snap.Obj, now: datetime | None) -> str:
    created = (pod.get("metadata") or {}).get("creationTimestamp")
    if not (now and created):
        return ""
    seconds = int((now - datetime.fromisoformat(str(created).replace("Z", "+00:00"))).total_seconds())
    return f"{seconds // 60}m{seconds % 60:02d}s"


def oom_findings(s: snap.Snapshot, tenant: str, node_memory: dict[str, Decimal] | None = None) -> list[Finding]:
    """`node_memory`: pod role -> what one node of its pool holds (None: no cap known)."""
    out = []
    for pod in s.pods:
        for cs in snap.container_statuses(pod):
            term = _terminated(cs)
            if term.get("reason") != "OOMKilled":
                continue
            out.append(_oom(s, pod, cs, term, tenant, (node_memory or {}).get(snap.pod_role(pod))))
    return out


def _terminated(cs: dict[str, Any]) -> dict[str, Any]:
    state = (cs.get("state") or {}).get("terminated") or {}
    return dict(state or (cs.get("lastState") or {}).get("terminated") or {})


def _oom(s: snap.Snapshot, pod: snap.Obj, cs: dict[str, Any], term: dict[str, Any], tenant: str,
         node_memory: Decimal | None = None) -> Finding:
    name, role, container = snap.name_of(pod), snap.pod_role(pod), str(cs.get("name"))
    limit = ((snap.container_spec(pod, container).get("resources") or {}).get("limits") or {}).get("memory")
    details = [f"container {container}: OOMKilled at {term.get('finishedAt', '?')}, restarts {cs.get('restartCount', 0)}",
               f"memory limit {limit or 'unset'}"]
    bigger = more_memory(limit, node_memory) if limit else None
    if bigger is not None and quantity.parse(bigger) <= quantity.parse(str(limit)):
        return Finding("error", f"pod {name} ({role})", "OOMKilled: exceeded its memory limit", tuple(details),
                       f"{role} already requests all a node of its machine type holds ({bigger}): ask the platform "
                       "team for a larger machine type for this group, or lower the work per pod.")
    override = memory_override(role, bigger) if bigger else None
    if override:
        return Finding("error", f"pod {name} ({role})", "OOMKilled: exceeded its memory limit", tuple(details),
                       f"Increase memory for {role} in overrides.yaml, then deploy. A worker pod fills one node "
                       "of its group's machine type: beyond that, ask the platform team for a larger machine.",
                       snippet(override))
    hint = ("Raise `memory` of the Celery extractor in overrides.yaml (`dataplane explain "
            f"{tenant}` lists it)." if role == "celery-extract" else
            f"{role} is sized by the platform (registry/platform.yaml): ask the platform team to raise its memory.")
    return Finding("error", f"pod {name} ({role})", "OOMKilled: exceeded its memory limit", tuple(details), hint)


def crashloop_findings(s: snap.Snapshot) -> list[Finding]:
    out = []
    for pod in s.pods:
        for cs in snap.container_statuses(pod):
            waiting = (cs.get("state") or {}).get("waiting") or {}
            if waiting.get("reason") not in ("CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull",
                                             "CreateContainerConfigError"):
                continue
            if _terminated(cs).get("reason") == "OOMKilled":
                continue  # reported as OOMKilled, with its fix
            name = snap.name_of(pod)
            out.append(Finding("error", f"pod {name} ({snap.pod_role(pod)})", f"{waiting['reason']}",
                               (f"container {cs.get('name')}: {waiting.get('message', '').strip()}".rstrip(": "),),
                               "Read the previous container's logs.",
                               command=f"kubectl -n {s.namespace} logs {name} -c {cs.get('name')} --previous"))
    return out
