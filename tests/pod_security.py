"""The Pod Security Standards, `baseline` and `restricted` profiles, as published for
Kubernetes v1.33 (https://kubernetes.io/docs/concepts/security/pod-security-standards/ and
k8s.io/pod-security-admission/policy), evaluated over a pod spec.

No PyPI package implements the admission library, so each check of the published table is
written here, named as the standard names it, and tested on its own (test_pod_security.py).
`pod_templates` finds every pod template in a rendered object, including the ones KubeRay
builds from a RayService or RayCluster (head, every worker group, the autoscaler sidecar).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")
BASELINE_CAPABILITIES = frozenset({"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
                                   "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"})
SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"})
SAFE_SYSCTLS = frozenset({"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
                          "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
                          "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
                          "net.ipv4.tcp_keepalive_probes"})
RESTRICTED_VOLUMES = frozenset({"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
                                "projected", "secret"})
APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"

Spec = dict[str, Any]


def containers(spec: Spec) -> Iterator[dict[str, Any]]:
    for key in CONTAINER_LISTS:
        yield from spec.get(key) or []


def _sc(c: dict[str, Any]) -> dict[str, Any]:
    return c.get("securityContext") or {}


def _psc(spec: Spec) -> dict[str, Any]:
    return spec.get("securityContext") or {}


def _each(spec: Spec, bad: Callable[[dict[str, Any]], bool], what: str) -> list[str]:
    return [f"container {c.get('name')!r}: {what}" for c in containers(spec) if bad(c)]


# --- baseline -------------------------------------------------------------------------
def host_process(spec: Spec, meta: dict[str, Any]) -> list[str]:
    out = ["pod: windowsOptions.hostProcess"] if (_psc(spec).get("windowsOptions") or {}).get("hostProcess") else []
    return out + _each(spec, lambda c: bool((_sc(c).get("windowsOptions") or {}).get("hostProcess")), "hostProcess")


def host_namespaces(spec: Spec, meta: dict[str, Any]) -> list[str]:
    return [f"pod: {k}" for k in ("hostNetwork", "hostPID", "hostIPC") if spec.get(k)]


def privileged(spec: Spec, meta: dict[str, Any]) -> list[str]:
    return _each(spec, lambda c: bool(_sc(c).get("privileged")), "privileged")


def baseline_capabilities(spec: Spec, meta: dict[str, Any]) -> list[str]:
    return _each(spec, lambda c: bool(set((_sc(c).get("capabilities") or {}).get("add") or []) - BASELINE_CAPABILITIES),
                 "adds a capability outside the baseline set")


def host_path_volumes(spec: Spec, meta: dict[str, Any]) -> list[str]:
    return [f"volume {v.get('name')!r}: hostPath" for v in spec.get("volumes") or [] if "hostPath" in v]


def host_ports(spec: Spec, meta: dict[str, Any]) -> list[str]:
    return _each(spec, lambda c: any(p.get("hostPort") for p in c.get("ports") or []), "hostPort")


def _apparmor_ok(profile: Any) -> bool:
    return not profile or profile.get("type") in ("RuntimeDefault", "Localhost")


def apparmor(spec: Spec, meta: dict[str, Any]) -> list[str]:
    out = [f"annotation {k}" for k, v in (meta.get("annotations") or {}).items()
           if k.startswith(APPARMOR_ANNOTATION) and not (v == "runtime/default" or v.startswith("localhost/"))]
    out += [] if _apparmor_ok(_psc(spec).get("appArmorProfile")) else ["pod: appArmorProfile"]
    return out + _each(spec, lambda c: not _apparmor_ok(_sc(c).get("appArmorProfile")), "appArmorProfile")


def _selinux_ok(opts: Any) -> bool:
    opts = opts or {}
    return opts.get("type", "") in SELINUX_TYPES and not opts.get("user") and not opts.get("role")


def selinux(spec: Spec, meta: dict[str, Any]) -> list[str]:
    out = [] if _selinux_ok(_psc(spec).get("seLinuxOptions")) else ["pod: seLinuxOptions"]
    return out + _each(spec, lambda c: not _selinux_ok(_sc(c).get("seLinuxOptions")), "seLinuxOptions")


def proc_mount(spec: Spec, meta: dict[str, Any]) -> list[str]:
    return _each(spec, lambda c: _sc(c).get("procMount", "Default") != "Default", "procMount")


def _seccomp_type(sc: dict[str, Any]) -> Any:
    return (sc.get("seccompProfile") or {}).get("type")


def baseline_seccomp(spec: Spec, meta: dict[str, Any]) -> list[str]:
    out = ["pod: seccompProfile Unconfined"] if _seccomp_type(_psc(spec)) == "Unconfined" else []
    return out + _each(spec, lambda c: _seccomp_type(_sc(c)) == "Unconfined", "seccompProfile Unconfined")


def sysctls(spec: Spec, meta: dict[str, Any]) -> list[str]:
    return [f"sysctl {s.get('name')}" for s in _psc(spec).get("sysctls") or [] if s.get("name") not in SAFE_SYSCTLS]


# --- restricted -----------------------------------------------------------------------
def volume_types(spec: Spec, meta: dict[str, Any]) -> list[str]:
    return [f"volume {v.get('name')!r}: type {sorted(set(v) - {'name'})}" for v in spec.get("volumes") or []
            if not set(v) - {"name"} <= RESTRICTED_VOLUMES or len(set(v) - {"name"}) != 1]


def privilege_escalation(spec: Spec, meta: dict[str, Any]) -> list[str]:
    return _each(spec, lambda c: _sc(c).get("allowPrivilegeEscalation") is not False,
                 "allowPrivilegeEscalation is not false")


def run_as_non_root(spec: Spec, meta: dict[str, Any]) -> list[str]:
    pod = _psc(spec).get("runAsNonRoot")
    out = ["pod: runAsNonRoot false"] if pod is False else []
    return out + _each(spec, lambda c: _sc(c).get("runAsNonRoot") is False or (pod is not True and _sc(c).get("runAsNonRoot") is not True),
                       "runAsNonRoot is not true")


def run_as_user(spec: Spec, meta: dict[str, Any]) -> list[str]:
    out = ["pod: runAsUser 0"] if _psc(spec).get("runAsUser") == 0 else []
    return out + _each(spec, lambda c: _sc(c).get("runAsUser") == 0, "runAsUser 0")


def restricted_seccomp(spec: Spec, meta: dict[str, Any]) -> list[str]:
    allowed = ("RuntimeDefault", "Localhost")
    pod = _seccomp_type(_psc(spec))
    out = [f"pod: seccompProfile {pod}"] if pod is not None and pod not in allowed else []
    return out + _each(spec, lambda c: _seccomp_type(_sc(c)) not in allowed and not (_seccomp_type(_sc(c)) is None and pod in allowed),
                       "seccompProfile is not RuntimeDefault or Localhost")


def restricted_capabilities(spec: Spec, meta: dict[str, Any]) -> list[str]:
    def bad(c: dict[str, Any]) -> bool:
        caps = _sc(c).get("capabilities") or {}
        return "ALL" not in (caps.get("drop") or []) or bool(set(caps.get("add") or []) - {"NET_BIND_SERVICE"})
    return _each(spec, bad, "capabilities must drop ALL and add at most NET_BIND_SERVICE")


BASELINE = (host_process, host_namespaces, privileged, baseline_capabilities, host_path_volumes, host_ports,
            apparmor, selinux, proc_mount, baseline_seccomp, sysctls)
RESTRICTED = BASELINE + (volume_types, privilege_escalation, run_as_non_root, run_as_user, restricted_seccomp,
                         restricted_capabilities)


def violations(spec: Spec, meta: dict[str, Any] | None = None, profile: tuple = RESTRICTED) -> list[str]:
    """Every way this pod spec breaks the profile, as `<check>: <what>`."""
    return [f"{check.__name__}: {v}" for check in profile for v in check(spec, meta or {})]


# --- where pod templates are ---------------------------------------------------------
def _ray_templates(cluster: dict[str, Any], where: str) -> Iterator[tuple[str, Spec, dict[str, Any]]]:
    head = (cluster.get("headGroupSpec") or {}).get("template") or {}
    spec = dict(head.get("spec") or {})
    if cluster.get("enableInTreeAutoscaling"):
        # KubeRay appends the autoscaler sidecar to the head pod, with autoscalerOptions'
        # securityContext (and nothing else that Pod Security looks at).
        opts = cluster.get("autoscalerOptions") or {}
        sidecar = {"name": "autoscaler", **({"securityContext": opts["securityContext"]} if "securityContext" in opts else {})}
        spec["containers"] = [*(spec.get("containers") or []), sidecar]
    yield f"{where}.headGroupSpec", spec, head.get("metadata") or {}
    for group in cluster.get("workerGroupSpecs") or []:
        tpl = group.get("template") or {}
        yield f"{where}.workerGroupSpecs[{group.get('groupName')}]", tpl.get("spec") or {}, tpl.get("metadata") or {}


def pod_templates(obj: dict[str, Any]) -> Iterator[tuple[str, Spec, dict[str, Any]]]:
    """(where, pod spec, pod metadata) of every pod this object makes."""
    kind, spec = obj.get("kind"), obj.get("spec") or {}
    name = f"{kind}/{(obj.get('metadata') or {}).get('name')}"
    if kind == "Pod":
        yield name, spec, obj.get("metadata") or {}
    elif kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"):
        tpl = spec.get("template") or {}
        yield name, tpl.get("spec") or {}, tpl.get("metadata") or {}
    elif kind == "CronJob":
        tpl = ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}
        yield name, tpl.get("spec") or {}, tpl.get("metadata") or {}
    elif kind == "RayService":
        yield from _ray_templates(spec.get("rayClusterConfig") or {}, name)
    elif kind == "RayCluster":
        yield from _ray_templates(spec, name)
