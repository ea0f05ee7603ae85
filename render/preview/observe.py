"""Talk to the local Ray the way KubeRay does, and load it like clients would.

The config is deployed with the dashboard's Serve REST API (PUT /api/serve/applications/,
what KubeRay sends serveConfigV2 to), and read back from the same API: each deployment's
target replica count and each replica's state and Ray node. Requests go to the Serve
proxy over HTTP, from threads that keep N requests in flight per extractor.
"""

from __future__ import annotations

import http.client
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from render.preview import PreviewError
from render.preview.config import Intent


@dataclass(frozen=True)
class AppState:
    status: str  # the application's: RUNNING, DEPLOYING, DEPLOY_FAILED, ...
    message: str
    target: int  # replicas the autoscaler wants
    running: tuple[str, ...]  # node id of each RUNNING replica
    unplaced: int  # replicas waiting for a node (no node yet)
    others: int  # replicas starting or stopping on a node


def client(dashboard: str) -> Any:
    from ray.dashboard.modules.serve.sdk import ServeSubmissionClient

    return ServeSubmissionClient(dashboard)


def deploy(dashboard: str, config: dict[str, Any]) -> None:
    try:
        client(dashboard).deploy_applications(config)
    except Exception as e:  # noqa: BLE001 - Ray's REST client raises RuntimeError with the server's reason
        raise PreviewError(f"Ray Serve rejected the rendered config: {e}", "run `dataplane validate --deep`",
                           exit_code=1) from None


def states(dashboard: str, intents: list[Intent]) -> dict[str, AppState]:
    return parse_details(client(dashboard).get_serve_details(), intents)


def parse_details(details: dict[str, Any], intents: list[Intent]) -> dict[str, AppState]:
    """Serve's instance details (the REST API's JSON) -> one AppState per extractor. Pure."""
    apps = details.get("applications") or {}
    out = {}
    for i in intents:
        app = apps.get(i.extractor) or {}
        dep = (app.get("deployments") or {}).get(i.deployment) or {}
        replicas = dep.get("replicas") or []
        running = tuple(str(r.get("node_id")) for r in replicas if r.get("state") == "RUNNING")
        unplaced = sum(1 for r in replicas if r.get("state") == "STARTING" and not r.get("node_id"))
        others = len(replicas) - len(running) - unplaced
        message = "; ".join(m for m in (app.get("message"), dep.get("message")) if m)
        out[i.extractor] = AppState(str(app.get("status", "NOT_STARTED")), message,
                                    int(dep.get("target_num_replicas") or 0), running, unplaced, others)
    return out


@dataclass
class Load:
    """N requests kept in flight against one route until stopped."""

    port: int
    route: str
    concurrency: int
    timeout_s: float
    ok: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        for _ in range(self.concurrency):
            t = threading.Thread(target=self._loop, daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=self.timeout_s)

    def _loop(self) -> None:
        while not self._stop.is_set():
            ok, error = request(self.port, self.route, self.timeout_s)
            with self._lock:
                if ok:
                    self.ok += 1
                else:
                    self.failed += 1
                    if len(self.errors) < 3:
                        self.errors.append(error)
            if not ok:
                self._stop.wait(0.2)  # a failing route is not hammered


def request(port: int, route: str, timeout_s: float) -> tuple[bool, str]:
    """One request like a client's: (answered with 200, what went wrong)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout_s)
    try:
        conn.request("POST", route, body=b'{"document": "preview"}', headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        body = response.read()
        if response.status == 200:
            return True, ""
        return False, f"HTTP {response.status}: {body[:200].decode('utf-8', 'replace')}"
    except (OSError, http.client.HTTPException) as e:
        return False, f"{type(e).__name__}: {e}"
    finally:
        conn.close()


def timed_request(port: int, route: str, timeout_s: float) -> tuple[bool, float, str]:
    start = time.monotonic()
    ok, error = request(port, route, timeout_s)
    return ok, time.monotonic() - start, error
