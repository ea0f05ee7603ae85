"""Node pools and the pool of every component (registry/platform.yaml `nodes.pools`,
`nodes.placement`): one mapping, read by the templates (nodeSelector, tolerations), the
capacity model (render/capacity.py, `validate --deep`), the placement rules and the
simulated nodes of `dataplane cluster` (render/cluster/nodes.py).

Every node of a pool carries the label `dataplane.io/pool: <pool>` and the pool's own
labels; a dedicated pool also carries the taint `dataplane.io/pool=<pool>:NoSchedule` and
its own taints. A component's pods select their pool's labels and tolerate its taints, so
the scheduler puts them there and nowhere else, and keeps everything else off a dedicated
pool (a small pod never takes the room a whole-node worker needs). Pure.
"""

from __future__ import annotations

from typing import Any

from render import layout

LABEL_POOL = "dataplane.io/pool"
TAINT_EFFECT = "NoSchedule"
RAY_HEAD = "ray-head"
# Every component whose pods the platform renders: the Ray head, each worker group, and the
# app.kubernetes.io/component label of every other workload. registry/platform.yaml
# `nodes.placement` names a pool for each (its schema requires exactly these).
COMPONENTS = (RAY_HEAD, *layout.WORKER_GROUPS, "redis", "mongodb", "celery", "monitoring", "backup", "migration")
# The pods KubeRay makes carry these labels (render/conformance/pods.py synthesizes them too).
RAY_NODE_TYPE = "ray.io/node-type"
RAY_GROUP = "ray.io/group"


def pool_of(platform: dict[str, Any], component: str) -> str:
    return str(platform["nodes"]["placement"][component])


def machine(platform: dict[str, Any], cloud: str, pool: str) -> str | None:
    """The pool's machine type on `cloud`: its own, else its worker group's."""
    spec = platform["nodes"]["pools"].get(pool) or {}
    own = (spec.get("machine") or {}).get(cloud)
    group = (platform["worker_groups"].get(pool) or {}).get("machine") or {}
    return own or group.get(cloud)


def node_labels(platform: dict[str, Any], cloud: str, pool: str) -> dict[str, str]:
    """The labels every node of `pool` carries (what a pod of the pool selects)."""
    spec = platform["nodes"]["pools"][pool]
    return {LABEL_POOL: pool, **((spec.get("labels") or {}).get(cloud) or {})}


def node_taints(platform: dict[str, Any], pool: str) -> list[dict[str, str]]:
    spec = platform["nodes"]["pools"][pool]
    own = [{k: str(t[k]) for k in ("key", "value", "effect") if k in t} for t in spec.get("taints") or []]
    return ([{"key": LABEL_POOL, "value": pool, "effect": TAINT_EFFECT}] if spec.get("dedicated") else []) + own


def toleration(taint: dict[str, str]) -> dict[str, str]:
    if "value" in taint:
        return {"key": taint["key"], "operator": "Equal", "value": taint["value"], "effect": taint["effect"]}
    return {"key": taint["key"], "operator": "Exists", "effect": taint["effect"]}


def scheduling(platform: dict[str, Any], cloud: str, component: str) -> dict[str, Any]:
    """The pod spec fields that put `component` on its pool: nodeSelector, and tolerations
    when the pool is tainted (key order: as a pod spec prints them).

    A pod of the untainted pool needs neither: every other pool is tainted, so the
    scheduler can put it nowhere else (`validate --deep`'s capacity check refuses a pod
    more than one pool would take). It also keeps such pods as they were before pools
    existed, which a Job's immutable pod template (the migration attempts) requires."""
    pool = pool_of(platform, component)
    taints = node_taints(platform, pool)
    if not taints:
        return {}
    return {"nodeSelector": node_labels(platform, cloud, pool), "tolerations": [toleration(t) for t in taints]}


def every_scheduling(platform: dict[str, Any], cloud: str) -> dict[str, dict[str, Any]]:
    """component -> scheduling(): the template context's `scheduling`."""
    return {c: scheduling(platform, cloud, c) for c in COMPONENTS}


def component_of(labels: dict[str, str]) -> str:
    """The component of a pod, by its labels ("" when the platform did not render it)."""
    if labels.get(RAY_NODE_TYPE) == "head":
        return RAY_HEAD
    if labels.get(RAY_NODE_TYPE) == "worker":
        return labels.get(RAY_GROUP, "")
    component = labels.get(layout.LABEL_COMPONENT, "")
    return component if component in COMPONENTS else ""


def accepts(pod_spec: dict[str, Any], labels: dict[str, str], taints: list[dict[str, str]]) -> bool:
    """Whether the scheduler may place a pod of `pod_spec` on a node with `labels` and
    `taints`, as its NodeAffinity (nodeSelector) and TaintToleration filters decide."""
    selector = pod_spec.get("nodeSelector") or {}
    if any(labels.get(str(k)) != str(v) for k, v in selector.items()):
        return False
    tolerations = pod_spec.get("tolerations") or []
    return all(t["effect"] == "PreferNoSchedule" or any(_tolerates(o, t) for o in tolerations) for t in taints)


def _tolerates(o: dict[str, Any], t: dict[str, str]) -> bool:
    if o.get("effect") and o["effect"] != t["effect"]:
        return False
    if not o.get("key"):
        return o.get("operator") == "Exists"
    if o["key"] != t["key"]:
        return False
    return o.get("operator") == "Exists" or str(o.get("value", "")) == t.get("value", "")


def pools_accepting(platform: dict[str, Any], cloud: str, pod_spec: dict[str, Any]) -> list[str]:
    """Every pool on `cloud` the scheduler could place a pod of `pod_spec` on."""
    return [p for p in sorted(platform["nodes"]["pools"])
            if accepts(pod_spec, node_labels(platform, cloud, p), node_taints(platform, p))]
