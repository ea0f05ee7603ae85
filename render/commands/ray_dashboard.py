"""`dataplane ray-dashboard TENANT`: port-forward to the Ray head's dashboard (8265).

The head pod is found with the kubernetes client (clear errors without a cluster or
permission); the forwarding itself is `kubectl port-forward`, which serves any number of
browser connections and reconnects, unlike the Python client's one-socket portforward.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
from pathlib import Path

from render.commands import _cluster
from render.ops import kube
from render.ops import snapshot as snap

DASHBOARD_PORT = 8265


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("ray-dashboard", help="port-forward to a tenant's Ray dashboard",
                       description="Find the head pod of the tenant's active RayCluster and forward "
                                   f"localhost:PORT to its dashboard ({DASHBOARD_PORT}) with kubectl port-forward, "
                                   "until Ctrl-C. Needs kubectl on PATH.")
    _cluster.add_args(p)
    p.add_argument("--port", type=int, default=DASHBOARD_PORT, help=f"local port (default {DASHBOARD_PORT})")
    p.add_argument("--address", default="127.0.0.1", help="local address to listen on (default 127.0.0.1)")
    p.set_defaults(run=lambda a: ray_dashboard(tenant=a.tenant, namespace=a.namespace, port=a.port, address=a.address,
                                               kubeconfig=a.kubeconfig, context=a.context, root=a.repo))


def head_pod(s: snap.Snapshot) -> str:
    cluster = snap.active_cluster_name(s)
    heads = [p for p in snap.pods_of_cluster(s, cluster) if snap.pod_role(p) == "head" and snap.phase(p) == "Running"]
    if not heads:
        raise kube.OpsError(f"the Ray head of {cluster or 'the tenant'} is not running in {s.namespace}",
                            "run `dataplane status` and `dataplane doctor` for the reason")
    return snap.name_of(heads[0])


def kubectl_command(ns: str, pod: str, port: int, address: str, kubeconfig: str | None, context: str | None) -> list[str]:
    cmd = ["kubectl", "port-forward", "--namespace", ns, "--address", address, f"pod/{pod}", f"{port}:{DASHBOARD_PORT}"]
    if kubeconfig:
        cmd += ["--kubeconfig", kubeconfig]
    if context:
        cmd += ["--context", context]
    return cmd


def ray_dashboard(*, tenant: str | None, port: int = DASHBOARD_PORT, address: str = "127.0.0.1",
                  kubeconfig: str | None = None, context: str | None = None, namespace: str | None = None,
                  root: Path = Path(".")) -> int:
    try:
        tenant, ns = _cluster.target(tenant, namespace, root, kubeconfig)
        if not 1 <= port <= 65535:
            raise kube.OpsError(f"--port {port} is not a TCP port", "use 1..65535 (above 1023 needs no privileges)")
        if shutil.which("kubectl") is None:
            raise kube.OpsError("kubectl is not on PATH", "install kubectl: it does the port-forwarding")
        pod = head_pod(kube.read_snapshot(kube.connect(kubeconfig, context), ns))
    except kube.OpsError as e:
        return _cluster.fail(e)
    print(f"Ray dashboard of {tenant}: http://{address}:{port} (Ctrl-C to stop)", flush=True)
    return subprocess.call(kubectl_command(ns, pod, port, address, kubeconfig, context))
