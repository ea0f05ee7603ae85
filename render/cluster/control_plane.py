"""Start and stop the local control plane: kwokctl's binary runtime runs etcd,
kube-apiserver, kube-controller-manager, kube-scheduler and kwok-controller from the
binaries built by `components`, on 127.0.0.1 only; the KubeRay operator runs beside them
as its own ServiceAccount. Every process is known by its pid file and stopped by pid.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from render.cluster import components
from render.problems import UserError

NAME = "dataplane"
HOST = "127.0.0.1"
# What a managed cluster enables beyond kube-apiserver's defaults (which already include
# PodSecurity, ResourceQuota, LimitRanger, ServiceAccount, ValidatingAdmissionPolicy,
# MutatingAdmissionWebhook and ValidatingAdmissionWebhook): GKE and EKS add these.
EXTRA_ADMISSION_PLUGINS = ("NodeRestriction",)
# Flags kwokctl does not set and a managed cluster does: GKE and EKS run each built-in
# controller as its own ServiceAccount in kube-system (what admission trusts).
EXTRA_ARGS = {
    "kube-apiserver": {"enable-admission-plugins": ",".join(EXTRA_ADMISSION_PLUGINS)},
    "kube-controller-manager": {"use-service-account-credentials": "true"},
}
START_TIMEOUT_S = 120
STOP_TIMEOUT_S = 15
OPERATOR = "ray-operator"


class ClusterError(UserError):
    """The control plane cannot start, answer or stop."""


@dataclass(frozen=True)
class Paths:
    workdir: Path  # KWOK_WORKDIR: kwokctl's clusters/<name>/ lives under it

    @property
    def cluster(self) -> Path:
        return self.workdir / "clusters" / NAME

    @property
    def kubeconfig(self) -> Path:
        return self.cluster / "kubeconfig.yaml"

    @property
    def pids(self) -> Path:
        return self.cluster / "pids"

    @property
    def operator_pid(self) -> Path:
        return self.workdir / f"{OPERATOR}.pid"

    @property
    def operator_log(self) -> Path:
        return self.workdir / f"{OPERATOR}.log"


def paths(state: Path | None = None) -> Paths:
    return Paths(state or components.cache_root() / "run")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def kwokctl_config(bins: Path, kube_version: str, port: int) -> str:
    """kwokctl's configuration: binaries from the cache, 127.0.0.1, admission and RBAC on."""
    b = {c.binary: str(bins / c.binary) for c in components.COMPONENTS}
    patches = "".join(f"- name: {component}\n  extraArgs:\n" + "".join(
        f"  - key: {k}\n    value: '{v}'\n" for k, v in args.items()) for component, args in EXTRA_ARGS.items())
    return f"""kind: KwokctlConfiguration
apiVersion: config.kwok.x-k8s.io/v1alpha1
options:
  runtime: binary
  kubeVersion: {kube_version}
  bindAddress: {HOST}
  securePort: true
  kubeAuthorization: true
  kubeAdmission: true
  quietPull: true
  kubeApiserverPort: {port}
  kubeApiserverBinary: {b['kube-apiserver']}
  kubeControllerManagerBinary: {b['kube-controller-manager']}
  kubeSchedulerBinary: {b['kube-scheduler']}
  kwokControllerBinary: {b['kwok']}
  etcdBinary: {b['etcd']}
componentsPatches:
{patches}"""


def _env(p: Paths) -> dict[str, str]:
    return {**os.environ, "KWOK_WORKDIR": str(p.workdir)}


def running_pids(p: Paths) -> dict[str, int]:
    """Component -> pid of every process of this control plane that is alive."""
    found: dict[str, int] = {}
    files = sorted(p.pids.glob("*.pid")) if p.pids.is_dir() else []
    if p.operator_pid.exists():
        files.append(p.operator_pid)
    for f in files:
        try:
            pid = int(f.read_text().strip())
        except ValueError:
            continue
        if _alive(pid):
            found[f.stem] = pid
    return found


def peak_memory_kib(pid: int) -> int:
    """The process's peak resident memory (VmHWM), 0 when unknown."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _alive(pid: int) -> bool:
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:  # our own child that has exited
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def create(root: Path, bins: Path, p: Paths, say: Callable[[str], None], port: int = 0) -> None:
    """kwokctl create cluster from the cached binaries; fails with one line on a busy port."""
    if running_pids(p):
        raise ClusterError(f"a local control plane is already running (state in {p.workdir}); "
                           "`dataplane cluster down` stops it")
    port = port or free_port()
    if not port_free(port):
        raise ClusterError(f"port {HOST}:{port} is in use; pass another --port or stop what holds it")
    p.workdir.mkdir(parents=True, exist_ok=True)
    conf = p.workdir / "kwokctl.yaml"
    version = components.pinned_version(root, "kubernetes", "k8s.io/kubernetes")
    conf.write_text(kwokctl_config(bins, version, port), encoding="utf-8")
    say(f"starting etcd, kube-apiserver {version}, kube-controller-manager, kube-scheduler, kwok on {HOST}:{port}")
    cmd = [str(bins / "kwokctl"), "--config", str(conf), "create", "cluster", "--name", NAME,
           "--timeout", f"{START_TIMEOUT_S}s", "--wait", f"{START_TIMEOUT_S}s"]
    out = subprocess.run(cmd, env=_env(p), capture_output=True, text=True, timeout=START_TIMEOUT_S + 30, check=False)
    if out.returncode != 0:
        (p.workdir / "kwokctl-create.log").write_text(out.stdout + out.stderr, encoding="utf-8")
        last = (out.stderr.strip().splitlines() or ["(no output)"])[-1]
        delete(bins, p)
        raise ClusterError(f"the control plane did not start: {last[:300]} (log: {p.workdir}/kwokctl-create.log)")


def start_operator(bins: Path, p: Paths, kubeconfig: Path) -> int:
    """The KubeRay operator, outside the cluster, with `kubeconfig` (its ServiceAccount)."""
    log = p.operator_log.open("wb")
    proc = subprocess.Popen(
        [str(bins / OPERATOR), f"--metrics-addr={HOST}:{free_port()}",
         f"--health-probe-bind-address={HOST}:{free_port()}", "--enable-leader-election=false",
         "--log-stdout-encoder=console"],
        env={**os.environ, "KUBECONFIG": str(kubeconfig)}, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True)
    p.operator_pid.write_text(str(proc.pid), encoding="utf-8")
    time.sleep(1)
    if proc.poll() is not None:
        tail = p.operator_log.read_text(errors="replace").strip().splitlines()[-1:]
        raise ClusterError(f"the KubeRay operator exited at once: {' '.join(tail)[:300]}")
    return proc.pid


def delete(bins: Path, p: Paths) -> list[str]:
    """Stop every process by its pid (kwokctl's own, then any left), remove the state.
    Returns what had to be killed by force."""
    pids = running_pids(p)
    forced: list[str] = []
    if p.operator_pid.exists():
        _stop(pids.pop(OPERATOR, 0), OPERATOR, forced)
        p.operator_pid.unlink()
    if p.cluster.exists() and (bins / "kwokctl").exists():
        subprocess.run([str(bins / "kwokctl"), "delete", "cluster", "--name", NAME], env=_env(p),
                       capture_output=True, timeout=60, check=False)
    for name, pid in pids.items():
        _stop(pid, name, forced)
    return forced


def _stop(pid: int, name: str, forced: list[str]) -> None:
    if not pid or not _alive(pid):
        return
    os.kill(pid, signal.SIGTERM)
    end = time.monotonic() + STOP_TIMEOUT_S
    while time.monotonic() < end:
        if not _alive(pid):
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
    forced.append(name)
