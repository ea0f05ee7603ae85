"""Pod Security `restricted` over every pod template we render: the examples and a fleet.

tests/pod_security.py implements the published checks; each is first shown to refuse what
the standard refuses, so a pass below means something.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from bench.fleet import generate_fleet
from render import security
from render.commands.render import render
from tests import pod_security as pss
from tests.support import ROOT


def good_pod() -> dict[str, Any]:
    return {
        "securityContext": {"runAsNonRoot": True, "runAsUser": 1000, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{"name": "app", "securityContext": {"allowPrivilegeEscalation": False,
                                                           "capabilities": {"drop": ["ALL"]}}}],
        "volumes": [{"name": "tmp", "emptyDir": {}}, {"name": "data", "persistentVolumeClaim": {"claimName": "d"}}],
    }


def with_(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    pod = good_pod()
    node = pod
    for key in path[:-1]:
        node = node.setdefault(key, {}) if isinstance(key, str) else node[key]
    node[path[-1]] = value
    return pod


C = ("containers", 0, "securityContext")
BAD = {
    "host_process": with_(C + ("windowsOptions",), {"hostProcess": True}),
    "host_namespaces": with_(("hostNetwork",), True),
    "privileged": with_(C + ("privileged",), True),
    "baseline_capabilities": with_(C + ("capabilities",), {"drop": ["ALL"], "add": ["SYS_ADMIN"]}),
    "host_path_volumes": with_(("volumes",), [{"name": "h", "hostPath": {"path": "/"}}]),
    "host_ports": with_(("containers", 0, "ports"), [{"containerPort": 80, "hostPort": 80}]),
    "apparmor": with_(C + ("appArmorProfile",), {"type": "Unconfined"}),
    "selinux": with_(C + ("seLinuxOptions",), {"type": "spc_t"}),
    "proc_mount": with_(C + ("procMount",), "Unmasked"),
    "baseline_seccomp": with_(C + ("seccompProfile",), {"type": "Unconfined"}),
    "sysctls": with_(("securityContext", "sysctls"), [{"name": "kernel.msgmax", "value": "1"}]),
    "volume_types": with_(("volumes",), [{"name": "n", "nfs": {"server": "x", "path": "/"}}]),
    "privilege_escalation": with_(C + ("allowPrivilegeEscalation",), True),
    "run_as_non_root": with_(C + ("runAsNonRoot",), False),
    "run_as_user": with_(C + ("runAsUser",), 0),
    "restricted_seccomp": with_(("securityContext", "seccompProfile"), {"type": "Unconfined"}),
    "restricted_capabilities": with_(C + ("capabilities",), {"drop": ["NET_RAW"]}),
}


def test_a_conforming_pod_passes() -> None:
    assert pss.violations(good_pod()) == []


@pytest.mark.parametrize("check", sorted(BAD))
def test_each_check_refuses_what_the_standard_refuses(check: str) -> None:
    found = pss.violations(BAD[check])
    assert any(v.startswith(check + ":") for v in found), found


def test_pod_level_settings_are_needed_when_containers_leave_them_out() -> None:
    pod = good_pod()
    del pod["securityContext"]
    found = {v.split(":")[0] for v in pss.violations(pod)}
    assert found == {"run_as_non_root", "restricted_seccomp"}
    assert pss.violations(pod, profile=pss.BASELINE) == []


def test_an_apparmor_annotation_other_than_runtime_default_is_refused() -> None:
    meta = {"annotations": {pss.APPARMOR_ANNOTATION + "app": "unconfined"}}
    assert pss.violations(good_pod(), meta) and not pss.violations(good_pod(), {"annotations": {
        pss.APPARMOR_ANNOTATION + "app": "runtime/default"}})


def test_the_kuberay_autoscaler_sidecar_is_checked() -> None:
    cluster = {"enableInTreeAutoscaling": True, "headGroupSpec": {"template": {"spec": good_pod()}}}
    found = [pss.violations(spec) for _, spec, _ in pss.pod_templates({"kind": "RayCluster", "spec": cluster})]
    assert any("container 'autoscaler'" in v for vs in found for v in vs)


def objects(root: Path) -> list[dict[str, Any]]:
    return [yaml.safe_load(p.read_text()) for p in sorted((root / "rendered").rglob("*.yaml"))]


def templates_of(root: Path) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    return [t for obj in objects(root) for t in pss.pod_templates(obj)]


def assert_restricted(root: Path) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    found = templates_of(root)
    failures = {where: v for where, spec, meta in found if (v := pss.violations(spec, meta))}
    assert failures == {}
    return found


def test_every_pod_template_of_the_examples_is_restricted() -> None:
    found = assert_restricted(ROOT)
    kinds = {where.split("/")[0] for where, _, _ in found}
    assert {"RayService", "Deployment", "StatefulSet"} <= kinds
    heads = [w for w, _, _ in found if w.endswith("headGroupSpec")]
    workers = [w for w, _, _ in found if "workerGroupSpecs" in w]
    assert heads and len(workers) == 3 * len(heads)


def test_every_pod_template_of_a_generated_fleet_is_restricted(tmp_path: Path) -> None:
    generate_fleet(tmp_path, 30, seed=13)
    assert render(root=tmp_path, tenants=[]) == 0
    found = assert_restricted(tmp_path)
    assert len({w for w, _, _ in found}) > 10


def test_migration_jobs_are_restricted(tmp_path: Path) -> None:
    """The examples may have no migration in progress: render one."""
    from tests.support import copy_repo

    root = copy_repo(tmp_path, outputs=False)
    text = (root / "tenants/acme/tenant.yaml").read_text()
    (root / "tenants/acme/tenant.yaml").write_text(text + "routing: shared\nmigration:\n  state: copying\n  attempt: 1\n")
    assert render(root=root, tenants=["acme"]) == 0
    jobs = [w for w, _, _ in assert_restricted(root) if w.startswith("Job/")]
    assert jobs


def test_only_the_ray_head_mounts_a_service_account_token() -> None:
    for where, spec, _ in templates_of(ROOT):
        mounts = spec.get("automountServiceAccountToken")
        assert mounts is (bool(where.endswith("headGroupSpec"))), where


def test_every_container_has_a_read_only_root_and_runs_as_its_image_user() -> None:
    users = {uid for uid, _ in security.IMAGE_USERS.values()}
    for where, spec, _ in templates_of(ROOT):
        assert spec["securityContext"]["runAsUser"] in users, where
        for c in pss.containers(spec):
            assert (c.get("securityContext") or {}).get("readOnlyRootFilesystem") is True, (where, c["name"])


def test_each_component_has_its_own_service_account() -> None:
    accounts = {}
    for where, spec, _ in templates_of(ROOT):
        accounts.setdefault(spec.get("serviceAccountName"), set()).add(where.split("/")[1].split(".")[0])
    # umbrella is migrating; `restore` runs pods only while a restore or an offboarding does
    # (tests/conformance/test_backup_isolation.py renders both)
    assert set(accounts) == set(security.SERVICE_ACCOUNTS.values()) - {"restore"}
    assert accounts["ray-head"] == accounts["ray-worker"] == {"engine"}


def test_the_namespace_enforces_restricted_pinned_to_the_platform_minor() -> None:
    platform = yaml.safe_load((ROOT / "registry/platform.yaml").read_text())
    ns = yaml.safe_load((ROOT / "rendered/acme/namespace-tenant-acme.yaml").read_text())
    labels = ns["metadata"]["labels"]
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"
        assert labels[f"pod-security.kubernetes.io/{mode}-version"] == "v" + platform["versions"]["kubernetes"]


def test_a_template_that_drops_the_security_context_is_caught(tmp_path: Path) -> None:
    """The check is not vacuous on real output: remove one container's context and it fails."""
    obj = copy.deepcopy(next(o for o in objects(ROOT) if o["kind"] == "Deployment"))
    del obj["spec"]["template"]["spec"]["containers"][0]["securityContext"]
    (_, spec, meta), = pss.pod_templates(obj)
    assert pss.violations(spec, meta)
