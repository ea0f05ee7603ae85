"""`dataplane cluster up|apply|status|down`: the committed output on a real local
Kubernetes control plane (render/cluster/, docs/validation.md)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from render import exitcodes


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("cluster", help="run the output on a real local control plane (kube-apiserver, etcd, "
                                       "controller-manager, scheduler, kwok nodes, KubeRay operator)",
                       description="Build the pinned components once (tools/cluster/, Go module proxy), start them "
                                   "on 127.0.0.1, apply the committed output in ArgoCD's order and judge each wave's "
                                   "health. State and binaries live under ~/.cache/dataplane/cluster "
                                   "($DATAPLANE_CLUSTER_CACHE).")
    p.add_argument("--state", type=Path, metavar="DIR", help="state folder (default: <cache>/run)")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    a = actions.add_parser("build", help="build the pinned components into the cache (what `up` does first)")
    a.set_defaults(run=lambda x: build(root=x.repo))
    a = actions.add_parser("up", help="build (first time) and start the control plane")
    a.add_argument("--tenants", type=int, default=0, metavar="N", help="size the node pools for N tenants "
                                                                        "(default: the tenants in tenants/)")
    a.add_argument("--port", type=int, default=0, help="kube-apiserver port on 127.0.0.1 (default: a free one)")
    a.set_defaults(run=lambda x: up(root=x.repo, state=x.state, tenants=x.tenants, port=x.port))
    a = actions.add_parser("apply", help="apply the committed output in ArgoCD's order and wait for each wave")
    a.add_argument("tenant", nargs="*", help="only these tenants' Applications (default: all)")
    a.add_argument("--wave-timeout", type=float, default=90, metavar="S", help="seconds per wave (default 90)")
    a.add_argument("--parallel", type=int, default=None, metavar="N", help="tenants synced at once, as ArgoCD syncs "
                                                                          "tenant Applications concurrently (default 4)")
    a.set_defaults(run=lambda x: apply(root=x.repo, state=x.state, tenants=x.tenant or None, wave_timeout_s=x.wave_timeout,
                                       parallel=x.parallel))
    a = actions.add_parser("status", help="the running control plane's processes, nodes and tenant pods")
    a.set_defaults(run=lambda x: status(root=x.repo, state=x.state))
    a = actions.add_parser("down", help="stop every process of the control plane by its pid")
    a.set_defaults(run=lambda x: down(root=x.repo, state=x.state))


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def build(*, root: Path) -> int:
    from render.cluster import components

    started = time.monotonic()
    bins = components.ensure_built(root, _say)
    print(f"components in {bins} ({time.monotonic() - started:.0f} s)")
    return exitcodes.OK


def up(*, root: Path, state: Path | None = None, tenants: int = 0, port: int = 0) -> int:
    from render.cluster import control_plane, session

    p = control_plane.paths(state)
    started = time.monotonic()
    try:
        seconds = session.up(root, p, _say, tenants, port)
    except KeyboardInterrupt:
        session.down(root, p)
        _say("dataplane: interrupted; every process stopped")
        return exitcodes.INTERRUPTED
    print(f"control plane up in {seconds:.1f} s ({time.monotonic() - started:.1f} s with the build); "
          f"KUBECONFIG={p.kubeconfig}")
    return exitcodes.OK


def apply(*, root: Path, state: Path | None = None, tenants: list[str] | None = None, wave_timeout_s: float = 90,
          parallel: int | None = None) -> int:
    from render.cluster import api, bootstrap, control_plane, session, verify
    from render.cluster import apply as applying

    p = control_plane.paths(state)
    if not control_plane.running_pids(p):
        raise control_plane.ClusterError("no local control plane is running; start one with `dataplane cluster up`")
    admin, deploy = api.connect(str(p.kubeconfig)), api.connect(str(bootstrap.deploy_kubeconfig(p)))
    parallel = applying.PARALLEL if parallel is None else parallel
    if parallel < 1:
        raise control_plane.ClusterError(f"--parallel {parallel}: sync at least one tenant at a time")
    report = applying.run(root, admin, deploy, tenants, _say, wave_timeout_s, parallel)
    problems = verify.check(admin, verify.tenant_namespaces(admin), session.platform(root))
    for line in problems:
        _say(f"dataplane: {line}")
    print(f"applied {report.objects} objects of {len(report.apps)} Applications in {report.waves} waves "
          f"in {report.seconds:.1f} s" + ("" if not problems else f"; {len(problems)} pod problems"))
    return exitcodes.FAILED if problems else exitcodes.OK


def status(*, root: Path, state: Path | None = None) -> int:
    from render.cluster import api, control_plane, verify

    p = control_plane.paths(state)
    pids = control_plane.running_pids(p)
    if not pids:
        print("no local control plane is running")
        return exitcodes.FAILED
    total = 0
    for name, pid in sorted(pids.items()):
        peak = control_plane.peak_memory_kib(pid)
        total += peak
        print(f"{name:26} pid {pid:>7}  peak memory {peak / 1024:7.0f} MiB")
    print(f"{'all':26} {'':11}  peak memory {total / 1024:7.0f} MiB")
    admin = api.connect(str(p.kubeconfig))
    print(f"KUBECONFIG={p.kubeconfig}")
    for line in verify.summary(admin):
        print(line)
    return exitcodes.OK


def down(*, root: Path, state: Path | None = None) -> int:
    from render.cluster import control_plane, session

    p = control_plane.paths(state)
    forced = session.down(root, p)
    print("stopped" + (f" ({', '.join(forced)} killed after {control_plane.STOP_TIMEOUT_S} s)" if forced else ""))
    return exitcodes.OK
