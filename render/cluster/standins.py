"""STAND-INS for the controllers a local control plane has no cloud for. Everything the
API server, controller-manager, scheduler and KubeRay operator do is real; these do what
Config Connector, ACK, external-secrets, KEDA and the cloud's CSI driver would, by setting
the status fields the real controllers set (their documented condition types, reasons
and messages), nothing more:

- Config Connector / ACK objects: Ready (`UpToDate`) / `ACK.ResourceSynced`.
- SecretStore: `Ready`/`Valid` once its ServiceAccount and the tenant's secrets identity
  (the IAM objects) were healthy BEFORE the store's wave began; else
  `InvalidProviderConfig`, as the real one fails its first validation.
- PushSecret: pushes its generator's value to the stand-in secret manager once its store
  is Ready; ExternalSecret: creates its target Secret when its store is Ready and every
  remote key exists (pushed by a PushSecret of an earlier wave, or provisioned by the
  platform outside the cluster), else `SecretSyncedError`.
- ScaledObject: `Ready`. PersistentVolumeClaims of a class of the clouds' CSI drivers
  (the rendered StorageClasses): a PV bound to the claim once the scheduler picked a node
  (WaitForFirstConsumer).

A stand-in that found a dependency missing does not retry within the same wave (the real
controllers' backoff is longer than a wave's time limit): a dependency in the same wave
fails the sync, as ArgoCD's first sync of a new tenant would.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from render.cluster import api, health

MANAGER = "dataplane-standin"
CC_GROUPS = ("iam.cnrm.cloud.google.com", "storage.cnrm.cloud.google.com")
ACK_GROUPS = ("s3.services.k8s.aws", "iam.services.k8s.aws")
# The clouds' CSI drivers the rendered StorageClasses name (argocd/storage/): the stand-in
# provisions their volumes, as the driver would.
CSI_DRIVERS = ("pd.csi.storage.gke.io", "ebs.csi.aws.com")
SELECTED_NODE = "volume.kubernetes.io/selected-node"
ES = "external-secrets.io/v1"


def cond(kind: str, ok: bool, reason: str, message: str, stamped: bool = True) -> dict[str, Any]:
    """A status condition; KEDA's have no lastTransitionTime (`stamped=False`)."""
    out = {"type": kind, "status": "True" if ok else "False", "reason": reason, "message": message}
    if stamped:
        out["lastTransitionTime"] = "2026-01-01T00:00:00Z"
    return out


def key(obj: dict[str, Any]) -> tuple[str, str, str]:
    return (str(obj["kind"]), str(obj["metadata"].get("namespace", "")), str(obj["metadata"]["name"]))


@dataclass
class World:
    """What the stand-ins remember: the secret manager's keys, and what already failed."""
    remote_keys: set[tuple[str, str]] = field(default_factory=set)  # (namespace, remote key)
    failed: set[tuple[str, str, str]] = field(default_factory=set)
    settled: set[tuple[str, str, str]] = field(default_factory=set)  # healthy before the current wave


# What each stand-in reconciles, by the kinds of the wave being synced: a stand-in acts on
# the objects of the wave that waits for it (the wave's health needs it), so kinds no
# stand-in serves cost no request. None: every stand-in (a caller that does not say).
SECRET_KINDS = {"SecretStore", "PushSecret", "ExternalSecret"}
VOLUME_KINDS = {"StatefulSet", "PersistentVolumeClaim", "Job", "CronJob"}


def reconcile(admin: api.Api, namespaces: list[str], world: World, kinds: set[str] | None = None) -> None:
    def wanted(*of: str) -> bool:
        return kinds is None or bool(kinds.intersection(of))

    for ns in namespaces:
        for group in CC_GROUPS + ACK_GROUPS:
            for kind in _kinds(admin, group):
                if not wanted(kind[1]):
                    continue
                for obj in api.items(admin, kind[0], kind[1], ns):
                    _cloud_object(admin, obj, group in ACK_GROUPS)
        if wanted(*SECRET_KINDS):
            pushes = api.items(admin, "external-secrets.io/v1alpha1", "PushSecret", ns)
            pushed_keys = {(ns, d["match"]["remoteRef"]["remoteKey"]) for p in pushes for d in p["spec"].get("data") or []}
            for store in api.items(admin, ES, "SecretStore", ns):
                _store(admin, store, world)
            for push in pushes:
                _push(admin, push, world)
            for es in api.items(admin, ES, "ExternalSecret", ns):
                _external_secret(admin, es, world, pushed_keys)
        if wanted("ScaledObject"):
            for so in api.items(admin, "keda.sh/v1alpha1", "ScaledObject", ns):
                if not (so.get("status") or {}).get("conditions"):
                    api.patch_status(admin, so, {"conditions": [cond("Ready", True, "ScaledObjectReady",
                                                                     "ScaledObject is defined correctly and is ready for "
                                                                     "scaling", stamped=False)]}, MANAGER)
        if wanted(*VOLUME_KINDS):
            for pvc in api.items(admin, "v1", "PersistentVolumeClaim", ns):
                _provision(admin, pvc)


def _kinds(admin: api.Api, group: str) -> list[tuple[str, str]]:
    out = []
    for r in admin.dynamic.resources.search(group=group):
        if getattr(r, "kind", "").endswith("List") or "/" in getattr(r, "name", "/"):
            continue
        out.append((f"{group}/{r.api_version}", r.kind))
    return sorted(set(out))


def _cloud_object(admin: api.Api, obj: dict[str, Any], ack: bool) -> None:
    if (obj.get("status") or {}).get("conditions"):
        return
    if ack:
        status = {"conditions": [cond("ACK.ResourceSynced", True, "", "Resource synced successfully")],
                  "ackResourceMetadata": {"ownerAccountID": "000000000000", "region": "us-east-1",
                                          "arn": f"arn:aws:standin:::{obj['metadata']['name']}"}}
    else:
        status = {"conditions": [cond("Ready", True, "UpToDate", "The resource is up to date")],
                  "observedGeneration": obj["metadata"].get("generation", 1)}
    api.patch_status(admin, obj, status, MANAGER)


def _ready(obj: dict[str, Any] | None) -> bool:
    return health.judge(obj)[0] == health.HEALTHY if obj is not None else False


def _store(admin: api.Api, store: dict[str, Any], world: World) -> None:
    if (store.get("status") or {}).get("conditions") or key(store) in world.failed:
        return
    ns = store["metadata"]["namespace"]
    provider = next(iter(store["spec"]["provider"].values()))
    sa = _find(provider, "serviceAccountRef") or {}
    needs = [("ServiceAccount", ns, str(sa.get("name", "")))] if sa else []
    for group in CC_GROUPS[:1] + ACK_GROUPS[1:]:
        for kind in _kinds(admin, group):
            needs += [key(o) for o in api.items(admin, kind[0], kind[1], ns) if _is_secrets_identity(o)]
    missing = [n for n in needs if n not in world.settled]
    if missing:
        world.failed.add(key(store))
        api.patch_status(admin, store, {"conditions": [cond(
            "Ready", False, "InvalidProviderConfig",
            "unable to validate store: identity not ready: " + ", ".join(f"{k} {n}" for k, _, n in missing))]}, MANAGER)
        return
    api.patch_status(admin, store, {"capabilities": "ReadWrite",
                                    "conditions": [cond("Ready", True, "Valid", "store validated")]}, MANAGER)


def _is_secrets_identity(obj: dict[str, Any]) -> bool:
    """The IAM objects of the tenant's secrets identity (render/tenant_secrets.py names)."""
    name = str(obj["metadata"]["name"])
    return name.startswith(("dps-", "secrets-")) or name.endswith("-secrets")


def _find(tree: Any, name: str) -> Any:
    if isinstance(tree, dict):
        if name in tree:
            return tree[name]
        for v in tree.values():
            found = _find(v, name)
            if found is not None:
                return found
    return None


def _store_of(admin: api.Api, ns: str, ref: dict[str, Any]) -> dict[str, Any] | None:
    return api.get(admin, ES, str(ref.get("kind", "SecretStore")), str(ref["name"]), ns)


def _push(admin: api.Api, push: dict[str, Any], world: World) -> None:
    if (push.get("status") or {}).get("conditions") or key(push) in world.failed:
        return
    ns = push["metadata"]["namespace"]
    stores = [_store_of(admin, ns, r) for r in push["spec"]["secretStoreRefs"]]
    if not all(_ready(s) for s in stores):
        world.failed.add(key(push))
        api.patch_status(admin, push, {"conditions": [cond("Ready", False, "Errored",
                                                           "could not get SecretStore: store is not ready")]}, MANAGER)
        return
    for d in push["spec"].get("data") or []:
        world.remote_keys.add((ns, d["match"]["remoteRef"]["remoteKey"]))
    api.patch_status(admin, push, {"conditions": [cond("Ready", True, "Synced", "PushSecret synced successfully")]},
                     MANAGER)


def _external_secret(admin: api.Api, es: dict[str, Any], world: World, pushed: set[tuple[str, str]]) -> None:
    if (es.get("status") or {}).get("conditions") or key(es) in world.failed:
        return
    ns = es["metadata"]["namespace"]
    store = _store_of(admin, ns, es["spec"]["secretStoreRef"])
    remote = {(ns, d["remoteRef"]["key"]) for d in es["spec"].get("data") or []}
    absent = sorted(k for _, k in remote if (ns, k) in pushed and (ns, k) not in world.remote_keys)
    if not _ready(store) or absent:
        world.failed.add(key(es))
        why = "SecretStore is not ready" if not _ready(store) else f"Secret does not exist: {', '.join(absent)}"
        api.patch_status(admin, es, {"conditions": [cond("Ready", False, "SecretSyncedError",
                                                         f"could not get secret data from provider: {why}")]}, MANAGER)
        return
    target = es["spec"].get("target") or {}
    keys = list((target.get("template") or {}).get("data") or {}) or [d["secretKey"] for d in es["spec"].get("data") or []]
    api.apply(admin, {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                      "metadata": {"name": target.get("name") or es["metadata"]["name"], "namespace": ns,
                                   "ownerReferences": [{"apiVersion": ES, "kind": "ExternalSecret", "controller": True,
                                                        "name": es["metadata"]["name"], "uid": es["metadata"]["uid"]}]},
                      "stringData": dict.fromkeys(keys, "stand-in")}, manager="external-secrets")
    api.patch_status(admin, es, {"conditions": [cond("Ready", True, "SecretSynced", "secret synced")]}, MANAGER)


def _provision(admin: api.Api, pvc: dict[str, Any]) -> None:
    meta, spec = pvc["metadata"], pvc["spec"]
    node = (meta.get("annotations") or {}).get(SELECTED_NODE)
    if spec.get("volumeName") or not node:
        return
    sc = api.get(admin, "storage.k8s.io/v1", "StorageClass", str(spec.get("storageClassName", "")))
    if sc is None or str(sc.get("provisioner", "")) not in CSI_DRIVERS:
        return
    name = f"pv-{meta['uid']}"
    api.apply(admin, {"apiVersion": "v1", "kind": "PersistentVolume",
                      "metadata": {"name": name, "annotations": {"pv.kubernetes.io/provisioned-by": sc["provisioner"]}},
                      "spec": {"capacity": {"storage": spec["resources"]["requests"]["storage"]},
                               "accessModes": spec["accessModes"], "persistentVolumeReclaimPolicy": "Delete",
                               "storageClassName": spec["storageClassName"],
                               "csi": {"driver": sc["provisioner"], "volumeHandle": name},
                               "claimRef": {"namespace": meta["namespace"], "name": meta["name"], "uid": meta["uid"]}}},
              manager=MANAGER)
