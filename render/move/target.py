"""The two placements of a moving tenant, as template values and object sets. Pure.

The tenant's own render (rendered/<name>/, Application tenant-<name>) is the placement of
its top-level keys: the old one until retire. The target is rendered from the same files
with `move.to`'s cluster, region and database mode (`target_tenant`) into
rendered/<name>/move/ (Applications tenant-<name>-move(-guardrails), render/move/apps.py)
while the move is in prepare, copy or cutover. What each side renders, by state:

    state     old placement (tenant-<name>)           target (tenant-<name>-move)
    prepare   unchanged                               datastores; compute at zero; no backups
    copy      compute at zero; final backups, digest  datastores; restores, verification
    cutover   compute at zero; no backups; volumes    everything: the engine runs here
    retire    (the tenant's render is the target's; the old placement is not rendered)

Cloud objects (bucket, IAM: the config_connector and ack kinds of registry/platform.yaml
cluster_prerequisites) name one cloud resource each: only the old placement renders them
until retire (keeping their cloud resources when deleted, and on AWS trusting the target
cluster too). On the same cluster (a database.mode switch) there is one folder and one
Application: the engine side's objects (the old placement's until cutover, the target's
from cutover on) and beside them the other side's objects the engine side lacks, reading
their database credentials from a Secret of their own (`beside`).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from decimal import ROUND_CEILING, Decimal
from typing import Any

from render import clouds, layout, quantity, tenant_secrets
from render.context_types import BaseContext, Move
from render.move import jobs, record

SIDE = "_side"  # in the target's in-memory tenant data only (never in a file)
# On the objects of the side the engine is not on, rendered beside it (a database.mode
# switch): `validate --deep` judges the tenant's flows by the engine's side.
SIDE_ANNOTATION = "dataplane.io/move-side"
QUOTA = "tenant-quota"  # base/quota.yaml.j2
OTHER_SECRET = "move-mongodb-credentials"  # the database credentials of the side the engine is not on
CLOUD_PREREQUISITES = ("config_connector", "ack")


def active(tenant: Mapping[str, Any]) -> str | None:
    """The move state a render of this tenant data acts on, or None (no move, or retire:
    the top-level placement is then the target's and renders as any tenant does)."""
    state = record.state_of(tenant)
    return state if state in ("prepare", "copy", "cutover") else None


def is_target(tenant: Mapping[str, Any]) -> bool:
    return (record.of(tenant) or {}).get(SIDE) == "target"


def same_cluster(move: dict[str, Any]) -> bool:
    return bool(record.get(move, ("from", "cluster")) == record.get(move, ("to", "cluster")))


def target_tenant(tenant: dict[str, Any]) -> dict[str, Any]:
    """The tenant data of the target placement: move.to's keys, marked as the target side."""
    move = record.of(tenant) or {}
    to = move["to"]
    return {**tenant, "cluster": to["cluster"], "region": to["region"],
            "database": {**tenant["database"], "mode": to["database"]["mode"]}, "move": {**move, SIDE: "target"}}


def stops_compute(tenant: Mapping[str, Any]) -> bool:
    state = active(tenant)
    return state in ("prepare", "copy") if is_target(tenant) else state in record.FROZEN


def backs_up(tenant: Mapping[str, Any]) -> bool:
    """False where scheduled backups would write a stale or empty copy next to the real ones."""
    state = active(tenant)
    return state not in (("prepare", "copy") if is_target(tenant) else ("cutover",))


def context(ctx: BaseContext) -> Move | None:
    """Template values of base/move.yaml.j2: the copy state's Jobs of this side, or None."""
    t = ctx["tenant"]
    if active(t) != "copy":
        return None
    move = record.of(t) or {}
    built = jobs.target_jobs(ctx, move) if is_target(t) else jobs.source_jobs(ctx, move)
    out: Move = {"jobs": built, "attempt": int(move["attempt"]), "move_id": record.move_id(move),
           "resources": [_job_resources(j["spec"]) for j in built], "shared_egress": None}
    if is_target(t) and same_cluster(move) and not ctx["datastores"]["mongodb_dedicated"]:
        # Into the shared instance from a dedicated tenant's namespace, whose policies do not reach it.
        out["shared_egress"] = {"namespace": ctx["datastores"]["mongodb_shared_namespace"], "port": ctx["ports"]["mongodb"],
                                "jobs": [j["name"] for j in built]}
    return out


def _job_resources(spec: dict[str, Any]) -> dict[str, str]:
    pod = spec["template"]["spec"]
    requests = [c["resources"]["requests"] for c in pod["containers"] + pod["initContainers"]]
    return max(requests, key=lambda r: (quantity.parse(r["memory"]), quantity.parse(r["cpu"])))


def cloud_kinds(platform: dict[str, Any]) -> set[str]:
    """'group/Kind' of every object naming a cloud resource."""
    pre = platform["cluster_prerequisites"]
    return {str(k) for p in CLOUD_PREREQUISITES for k in pre[p]["kinds"]}


def _group_kind(obj: dict[str, Any]) -> str:
    api = str(obj["apiVersion"])
    return f"{api.rsplit('/', 1)[0] if '/' in api else ''}/{obj['kind']}"


def other_tenant(tenant: dict[str, Any]) -> dict[str, Any]:
    """The placement the engine does not run on in this state (rendered beside the engine's)."""
    if same_cluster(record.of(tenant) or {}) and active(tenant) == "cutover":
        return tenant
    return target_tenant(tenant)


def engine_tenant(tenant: dict[str, Any]) -> dict[str, Any]:
    """The placement rendered as the tenant's own folder: the old one, but on the same
    cluster from cutover on, where the engine (the objects both placements share) runs."""
    if same_cluster(record.of(tenant) or {}) and active(tenant) == "cutover":
        return target_tenant(tenant)
    return tenant


def target_objects(objects: dict[str, dict[str, Any]], tenant: Mapping[str, Any],
                   platform: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A cluster move's target objects (keyed by file name) as its own Applications sync them."""
    cloud = cloud_kinds(platform)
    out = {path.rsplit("/", 1)[-1]: copy.deepcopy(obj) for path, obj in objects.items() if _group_kind(obj) not in cloud}
    redis = out.get(layout.object_file("StatefulSet", "redis"))
    if active(tenant) == "copy" and redis is not None:
        redis["spec"]["replicas"] = 0  # the restore Job loads the RDB into its volume
    return out


# The annotation that keeps a cloud resource when its object is deleted, by the API group
# suffix of the controller that manages it (each cloud's, render/clouds/).
KEEP_ON_DELETE = {c.keep_on_delete[0]: c.keep_on_delete[1:] for c in clouds.CLOUDS.values()}


def kept_on_delete(old: dict[str, dict[str, Any]], platform: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A cluster move's old placement with every cloud object set to keep its cloud resource
    when deleted: the target renders the same resources from retire on, and the old
    cluster's leftovers are deleted by hand (docs/operations.md#moving-a-tenant)."""
    cloud = cloud_kinds(platform)
    out = dict(old)
    for path, obj in old.items():
        group = _group_kind(obj).rsplit("/", 1)[0]
        keep = next((v for suffix, v in KEEP_ON_DELETE.items() if group.endswith(suffix)), None)
        if _group_kind(obj) in cloud and keep is not None:
            notes = dict(sorted({**obj["metadata"].get("annotations", {}), keep[0]: keep[1]}.items()))
            out[path] = {**obj, "metadata": {**obj["metadata"], "annotations": notes}}
    return out


def trusting_target(old: dict[str, dict[str, Any]], target: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """A cluster move's old placement with each IAM Role (EKS IRSA) also trusting the target
    cluster's OIDC issuer: the target's pods assume the same roles, which the old placement
    renders until retire. A cloud without such roles is unchanged."""
    by_file = {path.rsplit("/", 1)[-1]: obj for path, obj in target.items()}
    out = dict(old)
    for path, obj in old.items():
        other = by_file.get(path.rsplit("/", 1)[-1])
        doc, theirs = (obj.get("spec") or {}).get("assumeRolePolicyDocument"), ((other or {}).get("spec") or {}).get(
            "assumeRolePolicyDocument")
        if obj["kind"] != "Role" or not isinstance(doc, str) or not isinstance(theirs, str) or doc == theirs:
            continue
        mine, added = json.loads(doc), json.loads(theirs)
        statements = mine["Statement"] + [s for s in added["Statement"] if s not in mine["Statement"]]
        out[path] = {**obj, "spec": {**obj["spec"], "assumeRolePolicyDocument": json.dumps({**mine, "Statement": statements},
                                                                                          sort_keys=True)}}
    return out


def beside(engine: dict[str, dict[str, Any]], other: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """A database.mode switch on one cluster: the engine side's objects, plus the other
    side's that it lacks (marked with SIDE_ANNOTATION), whose database credentials come
    from a Secret of their own; the namespace's quota grows by their pods and claims."""
    credentials = layout.object_file("ExternalSecret", tenant_secrets.MONGODB_SECRET)
    out = dict(engine)
    extras = []
    for path, obj in other.items():
        file = path.rsplit("/", 1)[-1]
        if path in engine and file != credentials:
            continue
        obj = copy.deepcopy(obj)
        _rename_secret(obj, tenant_secrets.MONGODB_SECRET, OTHER_SECRET)
        obj["metadata"]["annotations"] = dict(sorted({**obj["metadata"].get("annotations", {}), SIDE_ANNOTATION: "other"}.items()))
        out[path.rsplit("/", 1)[0] + "/" + layout.object_file(obj["kind"], obj["metadata"]["name"])] = obj
        extras.append(obj)
    quota = layout.object_file("ResourceQuota", QUOTA)
    for path, obj in out.items():
        if path.rsplit("/", 1)[-1] == quota:
            out[path] = grown_quota(obj, extras)
    return dict(sorted(out.items()))


def _pod_usage(obj: dict[str, Any]) -> tuple[Decimal, Decimal, int, int]:
    """CPU, memory, pods and claims one workload object adds to its namespace (Jobs: one pod)."""
    spec = obj.get("spec") or {}
    template = spec.get("template") if obj["kind"] in ("StatefulSet", "Deployment", "Job") else None
    if not isinstance(template, dict):
        return Decimal(0), Decimal(0), 0, 0
    count = 1 if obj["kind"] == "Job" else int(spec.get("replicas", 1))
    pod = template["spec"]

    def total(containers: list[dict[str, Any]], key: str) -> Decimal:
        return sum((quantity.parse(c["resources"]["requests"][key]) for c in containers), Decimal(0))

    inits = pod.get("initContainers") or []
    cpu = max([total(pod["containers"], "cpu"), *(total([c], "cpu") for c in inits)])
    memory = max([total(pod["containers"], "memory"), *(total([c], "memory") for c in inits)])
    claims = len(spec.get("volumeClaimTemplates") or []) * max(count, 1)
    return cpu * count, memory * count, count, claims


def grown_quota(quota: dict[str, Any], extras: list[dict[str, Any]]) -> dict[str, Any]:
    """The engine side's ResourceQuota plus what the other side's objects use."""
    used = [_pod_usage(o) for o in extras]
    cpu, memory = sum((u[0] for u in used), Decimal(0)), sum((u[1] for u in used), Decimal(0))
    pods, claims = sum(u[2] for u in used), sum(u[3] for u in used)
    hard = dict(quota["spec"]["hard"])
    for key in ("requests.cpu", "limits.cpu"):
        if key in hard:
            hard[key] = quantity.cpu((quantity.parse(hard[key]) + cpu).to_integral_value(rounding=ROUND_CEILING))
    for key in ("requests.memory", "limits.memory"):
        if key in hard:
            gib = ((quantity.parse(hard[key]) + memory) / quantity.GI).to_integral_value(rounding=ROUND_CEILING)
            hard[key] = quantity.memory(gib * quantity.GI)
    for key, add in (("pods", pods), ("persistentvolumeclaims", claims)):
        if key in hard:
            hard[key] = str(int(hard[key]) + add)
    return {**quota, "spec": {**quota["spec"], "hard": hard}}


def _rename_secret(obj: Any, old: str, new: str) -> None:
    """Every reference to Secret `old` (and an ExternalSecret producing it) names `new`."""
    if isinstance(obj, dict):
        if obj.get("kind") == "ExternalSecret" and obj["metadata"]["name"] == old:
            obj["metadata"]["name"] = new
            obj["spec"]["target"]["name"] = new
        for key, value in obj.items():
            if key in ("secretKeyRef", "secretRef") and isinstance(value, dict) and value.get("name") == old:
                value["name"] = new
            else:
                _rename_secret(value, old, new)
    elif isinstance(obj, list):
        for item in obj:
            _rename_secret(item, old, new)
