"""The Lua health checks in argocd-cm, run in real Lua 5.1 (ArgoCD's gopher-lua dialect).

Status objects follow KubeRay's and ACK's own types: RayService conditions Ready /
UpgradeInProgress / RollbackInProgress and Serve application statuses; RayCluster
conditions RayClusterProvisioned / HeadPodReady / ReplicaFailure / RayClusterSuspended;
older KubeRay releases' serviceStatus and state strings.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from render.argocd import health
from tests.support import ROOT, need

lua51 = need("lupa.lua51")

CM = ROOT / "argocd/platform/configmap-argocd-cm.yaml"


def shipped_script(group: str, kind: str) -> str:
    """The script exactly as committed in argocd-cm (what ArgoCD runs)."""
    data = yaml.safe_load(CM.read_text())["data"]
    return data[health.health_key(group, kind)]


def run(script: str, obj: dict[str, Any]) -> tuple[str, str]:
    lua = lua51.LuaRuntime(register_eval=False, unpack_returned_tuples=True)
    g = lua.globals()
    # ArgoCD's sandbox has no os, io or module loading: the scripts must not need them.
    for name in ("os", "io", "require", "dofile", "loadfile", "load", "loadstring", "module", "package", "debug"):
        g[name] = None
    g.obj = lua.table_from(obj, recursive=True)
    hs = lua.execute(script)
    assert hs is not None, "a health script must return a table"
    return hs["status"], hs["message"] or ""


def cond(kind: str, status: str, reason: str = "", message: str = "") -> dict[str, str]:
    out = {"type": kind, "status": status, "lastTransitionTime": "2026-11-27T08:00:00Z"}
    if reason:
        out["reason"] = reason
    if message:
        out["message"] = message
    return out


def rayservice(status: dict[str, Any] | None, generation: int = 1) -> dict[str, Any]:
    obj: dict[str, Any] = {"apiVersion": "ray.io/v1", "kind": "RayService",
                           "metadata": {"name": "engine", "namespace": "tenant-acme", "generation": generation}}
    if status is not None:
        obj["status"] = status
    return obj


def apps(**statuses: str) -> dict[str, Any]:
    return {"rayClusterName": "engine-abcde",
            "applicationStatuses": {name: {"status": s, "message": f"{name} says {s}"} for name, s in statuses.items()}}


RAYSERVICE_CASES = [
    ("no status yet", None, "Progressing"),
    ("initializing", {"observedGeneration": 1, "conditions": [cond("Ready", "False", "Initializing"),
                                                              cond("UpgradeInProgress", "False", "NoPendingCluster")]},
     "Progressing"),
    ("ready", {"observedGeneration": 1, "serviceStatus": "Running", "numServeEndpoints": 2,
               "activeServiceStatus": apps(text_extractor_v1="RUNNING"),
               "conditions": [cond("Ready", "True", "NonZeroServeEndpoints"),
                              cond("UpgradeInProgress", "False", "NoPendingCluster")]}, "Healthy"),
    ("upgrading", {"observedGeneration": 1, "activeServiceStatus": apps(text_extractor_v1="RUNNING"),
                   "pendingServiceStatus": apps(text_extractor_v1="DEPLOYING"),
                   "conditions": [cond("Ready", "True", "NonZeroServeEndpoints"),
                                  cond("UpgradeInProgress", "True", "BothActivePendingClustersExist")]}, "Progressing"),
    ("rolling back", {"observedGeneration": 1, "activeServiceStatus": apps(text_extractor_v1="RUNNING"),
                      "conditions": [cond("Ready", "True", "NonZeroServeEndpoints"),
                                     cond("RollbackInProgress", "True", "", "reverting to engine-abcde")]},
     "Progressing"),
    ("serve config being applied in place", {"observedGeneration": 1, "activeServiceStatus": apps(a="RUNNING", b="DEPLOYING"),
                                             "conditions": [cond("Ready", "True", "NonZeroServeEndpoints")]},
     "Progressing"),
    ("application failed to deploy", {"observedGeneration": 1,
                                      "activeServiceStatus": apps(a="RUNNING", b="DEPLOY_FAILED"),
                                      "conditions": [cond("Ready", "True", "NonZeroServeEndpoints")]}, "Degraded"),
    ("new cluster's application unhealthy during upgrade", {
        "observedGeneration": 1, "activeServiceStatus": apps(a="RUNNING"), "pendingServiceStatus": apps(a="UNHEALTHY"),
        "conditions": [cond("UpgradeInProgress", "True", "BothActivePendingClustersExist")]}, "Degraded"),
    ("initializing timed out", {"observedGeneration": 1,
                                "conditions": [cond("Ready", "False", "InitializingTimeout", "head pod never ready")]},
     "Degraded"),
    ("lost every serve endpoint", {"observedGeneration": 1, "conditions": [cond("Ready", "False", "ZeroServeEndpoints")]},
     "Degraded"),
    ("spec not yet observed", {"observedGeneration": 1, "conditions": [cond("Ready", "True", "NonZeroServeEndpoints")],
                               "_generation": 2}, "Progressing"),
    ("old kuberay: running", {"serviceStatus": "Running"}, "Healthy"),
    ("old kuberay: waiting for serve", {"serviceStatus": "WaitForServeDeploymentReady"}, "Progressing"),
    ("old kuberay: restarting", {"serviceStatus": "Restarting"}, "Progressing"),
    ("old kuberay: cluster failure", {"serviceStatus": "FailedToGetOrCreateRayCluster"}, "Degraded"),
    ("empty status", {}, "Progressing"),
]


@pytest.mark.parametrize(("case", "status", "expected"), RAYSERVICE_CASES, ids=[c[0] for c in RAYSERVICE_CASES])
def test_rayservice_health(case: str, status: dict[str, Any] | None, expected: str) -> None:
    generation = 1
    if status is not None and "_generation" in status:
        status = dict(status)
        generation = status.pop("_generation")
    got, message = run(shipped_script("ray.io", "RayService"), rayservice(status, generation))
    assert got == expected, f"{case}: {got} ({message})"
    assert message, "the UI shows the message: it must never be empty"


def test_rayservice_degraded_message_names_the_failing_application() -> None:
    status = {"activeServiceStatus": apps(face_identity_extractor_v1="DEPLOY_FAILED"),
              "conditions": [cond("Ready", "True", "NonZeroServeEndpoints")]}
    got, message = run(shipped_script("ray.io", "RayService"), rayservice(status))
    assert got == "Degraded"
    assert "face_identity_extractor_v1" in message and "DEPLOY_FAILED" in message


def raycluster(status: dict[str, Any] | None) -> dict[str, Any]:
    obj: dict[str, Any] = {"apiVersion": "ray.io/v1", "kind": "RayCluster",
                           "metadata": {"name": "engine-abcde", "namespace": "tenant-acme", "generation": 3}}
    if status is not None:
        obj["status"] = {"observedGeneration": 3, **status}
    return obj


RAYCLUSTER_CASES = [
    ("no status yet", None, "Progressing"),
    ("pods provisioning", {"conditions": [cond("RayClusterProvisioned", "False", "RayClusterPodsProvisioning"),
                                          cond("HeadPodReady", "False", "HeadPodNotFound")]}, "Progressing"),
    ("head ready, workers still starting", {"conditions": [cond("RayClusterProvisioned", "False", "RayClusterPodsProvisioning"),
                                                           cond("HeadPodReady", "True", "HeadPodRunningAndReady")]},
     "Progressing"),
    ("ready", {"state": "ready", "readyWorkerReplicas": 1,
               "conditions": [cond("RayClusterProvisioned", "True", "AllPodRunningAndReadyFirstTime"),
                              cond("HeadPodReady", "True", "HeadPodRunningAndReady")]}, "Healthy"),
    ("head pod lost after provisioning", {"conditions": [cond("RayClusterProvisioned", "True", "AllPodRunningAndReadyFirstTime"),
                                                         cond("HeadPodReady", "False", "HeadPodNotFound")]}, "Degraded"),
    ("pods cannot be created", {"conditions": [cond("RayClusterProvisioned", "False", "RayClusterPodsProvisioning"),
                                               cond("ReplicaFailure", "True", "FailedCreateWorkerPod",
                                                    "exceeded quota: tenant-quota")]}, "Degraded"),
    ("suspending", {"conditions": [cond("RayClusterSuspending", "True", "RayClusterSuspending")]}, "Progressing"),
    ("suspended", {"state": "suspended", "conditions": [cond("RayClusterSuspended", "True", "RayClusterSuspended")]},
     "Suspended"),
    ("old kuberay: ready", {"state": "ready"}, "Healthy"),
    ("old kuberay: failed", {"state": "failed", "reason": "head pod crashed"}, "Degraded"),
    ("old kuberay: unknown", {"state": ""}, "Progressing"),
]


@pytest.mark.parametrize(("case", "status", "expected"), RAYCLUSTER_CASES, ids=[c[0] for c in RAYCLUSTER_CASES])
def test_raycluster_health(case: str, status: dict[str, Any] | None, expected: str) -> None:
    got, message = run(shipped_script("ray.io", "RayCluster"), raycluster(status))
    assert got == expected, f"{case}: {got} ({message})"
    assert message


def test_raycluster_waits_for_a_spec_kuberay_has_not_seen() -> None:
    obj = raycluster({"state": "ready", "conditions": [cond("RayClusterProvisioned", "True"), cond("HeadPodReady", "True")]})
    obj["status"]["observedGeneration"] = 2
    assert run(shipped_script("ray.io", "RayCluster"), obj)[0] == "Progressing"


ACK_CASES = [
    ("no status yet", None, "Progressing"),
    ("synced", [cond("ACK.ResourceSynced", "True", "", "Resource synced successfully")], "Healthy"),
    ("not yet synced", [cond("ACK.ResourceSynced", "False", "", "Resource not synced")], "Progressing"),
    # ACK retries a Recoverable error itself: Progressing, as ArgoCD's own ACK check
    # (resource_customizations/_.services.k8s.aws/_/health.lua), never Degraded, which would
    # fail the sync wave and halt a rollout on a throttled or still-propagating call.
    ("recoverable error", [cond("ACK.ResourceSynced", "False"), cond("ACK.Recoverable", "True", "", "AccessDenied")],
     "Progressing"),
    ("recoverable, upstream's shape", [cond("ACK.ResourceSynced", "False", "", "bucket in CREATING state"),
                                       cond("Ready", "False", "", "bucket in CREATING state"),
                                       cond("ACK.Recoverable", "True", "", "Throttling: Rate exceeded")], "Progressing"),
    ("terminal error", [cond("ACK.Terminal", "True", "", "BucketAlreadyExists")], "Degraded"),
    # A retained resource re-created without the adoption policy: ACK's terminal "already exists".
    ("terminal beats recoverable", [cond("ACK.Recoverable", "True", "", "Throttling"),
                                    cond("ACK.Terminal", "True", "", "EntityAlreadyExists: Role with name "
                                                                     "dp-initech-engine already exists.")], "Degraded"),
]


@pytest.mark.parametrize("group_kind", [("s3.services.k8s.aws", "Bucket"), ("iam.services.k8s.aws", "Role")])
@pytest.mark.parametrize(("case", "conditions", "expected"), ACK_CASES, ids=[c[0] for c in ACK_CASES])
def test_ack_health(group_kind: tuple[str, str], case: str, conditions: list[dict[str, str]] | None, expected: str) -> None:
    group, kind = group_kind
    obj: dict[str, Any] = {"apiVersion": f"{group}/v1alpha1", "kind": kind, "metadata": {"name": "dp-data-initech"}}
    if conditions is not None:
        obj["status"] = {"conditions": conditions}
    got, message = run(shipped_script(group, kind), obj)
    assert got == expected, f"{case}: {got} ({message})"


def test_every_script_in_the_package_is_rendered_and_compiles() -> None:
    lua = lua51.LuaRuntime(register_eval=False)
    shipped = {p.name for p in (ROOT / "render" / "argocd" / health.LUA_DIR).glob("*.lua")}
    used = {file for files in health.HEALTH_SCRIPTS.values() for file in files}
    assert shipped == used, "a script is shipped but unused, or missing"
    for (group, kind), files in health.HEALTH_SCRIPTS.items():
        assert shipped_script(group, kind) == health.script(files)
        lua.eval(f"function() {health.script(files)} end")  # syntax check: raises LuaSyntaxError
