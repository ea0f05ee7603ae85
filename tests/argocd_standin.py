"""A stand-in for the ArgoCD REST API on 127.0.0.1: GET /api/v1/applications/<name>.

Answers as ArgoCD does (status.health, status.sync with the revision it compared), asks for
the bearer token, and records every request, so tests can say what the gate read. It also
stands in for GitHub's commit statuses (POST /repos/<owner>/<name>/statuses/<sha>).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

TOKEN = "test-argocd-token"
PREFIX = "/api/v1/applications/"


@dataclass
class FakeArgoCD:
    """Every Application is Healthy and Synced at `revision` unless told otherwise."""

    revision: str = ""
    apps: dict[str, dict[str, str]] = field(default_factory=dict)  # name -> health/sync/revision/message
    missing: set[str] = field(default_factory=set)
    requests: list[tuple[str, str, str]] = field(default_factory=list)  # method, path, authorization
    statuses: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # path, body
    url: str = ""

    def set(self, app: str, **status: str) -> None:
        self.apps[app] = status

    def answer(self, method: str, path: str, auth: str, body: bytes = b"") -> tuple[int, dict[str, Any]]:
        self.requests.append((method, path, auth))
        if method == "POST" and path.startswith("/repos/") and "/statuses/" in path:
            self.statuses.append((path, json.loads(body)))
            return 201, {"state": json.loads(body)["state"]}
        if auth != f"Bearer {TOKEN}":
            return 401, {"error": "invalid session", "code": 16}
        name = path[len(PREFIX):] if method == "GET" and path.startswith(PREFIX) else ""
        if not name or "/" in name or name in self.missing:
            return 404, {"error": f"applications.argoproj.io \"{name}\" not found", "code": 5}
        s = {"health": "Healthy", "sync": "Synced", "revision": self.revision, "message": "", **self.apps.get(name, {})}
        health = {"status": s["health"], **({"message": s["message"]} if s["message"] else {})}
        return 200, {"metadata": {"name": name, "namespace": "argocd"},
                     "status": {"health": health, "sync": {"status": s["sync"], "revision": s["revision"]}}}

    def read(self) -> list[str]:
        return [path[len(PREFIX):] for _, path, _ in self.requests]


def serve(fake: FakeArgoCD) -> Iterator[FakeArgoCD]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            code, payload = fake.answer(self.command, self.path.split("?")[0], self.headers.get("Authorization", ""), body)
            data = json.dumps(payload).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _serve

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
