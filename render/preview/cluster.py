"""The local Ray cluster (ray.cluster_utils.Cluster): started in the tenant's shape, always stopped.

Nodes share this machine's address, so every port is a free one on 127.0.0.1. Ray's
processes read the Serve metric intervals from the environment they are started with.
Stopping removes each node this process started (never `ray stop`, which would stop
every Ray on the machine), then waits for and ends any child process still left.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from render.preview import PreviewError
from render.preview.shape import GROUP_LABEL, Shape, node_resources

OBJECT_STORE_BYTES = 80 * 1024 * 1024  # the stand-ins pass no objects; Ray's minimum is 75 MiB
HEAD = "head"


@dataclass(frozen=True)
class Local:
    cluster: Any
    groups: dict[str, str]  # Ray node id -> worker group name (or "head")
    dashboard: str  # http://127.0.0.1:PORT
    serve_port: int


def require_ray() -> None:
    try:
        import ray  # noqa: F401
        from ray import serve  # noqa: F401
        from ray.dashboard.modules.serve.sdk import ServeSubmissionClient  # noqa: F401
    except ImportError:  # the CLI says which extra brings it, and exits 4 (render/exitcodes.py)
        raise ModuleNotFoundError("No module named 'ray'", name="ray") from None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running(shape: Shape, factor: Decimal, env: dict[str, str], say: Callable[[str], None]) -> Iterator[Local]:
    """Head plus one node per worker group; stopped on exit, Ctrl-C, SIGTERM and failure."""
    import ray
    from ray.cluster_utils import Cluster

    logging.getLogger("ray").setLevel(logging.WARNING)
    os.environ.update(env)
    previous = signal.signal(signal.SIGTERM, _interrupt)
    cluster = None
    try:
        dashboard_port = free_port()
        say("starting Ray: head node")
        try:
            cluster = Cluster(initialize_head=True, shutdown_at_exit=True, head_node_args={
                "num_cpus": int(shape.head_cpu * factor), "include_dashboard": True, "dashboard_host": "127.0.0.1",
                "dashboard_port": dashboard_port, "object_store_memory": OBJECT_STORE_BYTES,
                "labels": {GROUP_LABEL: HEAD}})
            assert cluster.head_node is not None  # initialize_head=True
            groups = {cluster.head_node.node_id: HEAD}
            for g in shape.groups:
                if g.max_pods:
                    say(f"starting Ray: node for {g.name}")
                    node = cluster.add_node(object_store_memory=OBJECT_STORE_BYTES, **node_resources(g, factor))
                    groups[node.node_id] = g.name
            cluster.wait_for_nodes()
            ray.init(address=cluster.address, logging_level=logging.ERROR, log_to_driver=False)
            # ray.init installs its own handlers (SIGTERM's aborts the process): ours go back.
            signal.signal(signal.SIGTERM, _interrupt)
            signal.signal(signal.SIGINT, signal.default_int_handler)
        except Exception as e:  # noqa: BLE001 - Ray's start-up errors are many; each is the machine's, not a bug
            raise PreviewError(f"the local Ray did not start: {e}",
                               "Ray's logs are under /tmp/ray/session_latest/logs") from None
        yield Local(cluster, groups, f"http://127.0.0.1:{dashboard_port}", free_port())
    finally:
        say("stopping Ray")
        _stop(cluster)
        signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # SIGTERM stops the preview like Ctrl-C: through the finally blocks


def _stop(cluster: Any) -> None:
    import ray

    started = set(_children())  # before shutdown: some (the dashboard's forkserver) outlive their parent
    try:
        ray.shutdown()
    finally:
        if cluster is not None:
            cluster.shutdown()
        _end(started)


def _end(started: set[int], grace_s: float = 15.0) -> None:
    """Wait for every Ray process this process started to exit, then end any left."""
    def alive() -> set[int]:
        return {pid for pid in started | set(_children()) if _is_ray(pid)}

    left = alive()
    end = time.monotonic() + grace_s
    while left and time.monotonic() < end:
        time.sleep(0.2)
        left = alive()
    for pid in left:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _children() -> list[int]:
    """Live Ray processes among this process's descendants (from /proc; Linux)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z":
                parents[int(entry)] = int(fields[1])
    mine, found = {os.getpid()}, []
    changed = True
    while changed:
        changed = False
        for pid, ppid in parents.items():
            if ppid in mine and pid not in mine:
                mine.add(pid)
                found.append(pid)
                changed = True
    return [pid for pid in found if _is_ray(pid)]


def _is_ray(pid: int) -> bool:
    """A live (not zombie) process whose command line is Ray's."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                return False
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"ray" in f.read()
    except OSError:
        return False
