"""A stand-in for the ArgoCD REST API on 127.0.0.1: GET /api/v1/applications/<name> and
DELETE /api/v1/applications/<name>/operation (TerminateOperation).

Answers as ArgoCD does (status.health, status.sync with the revision it compared), asks for
the bearer token, and records every request, so tests can say what the gate read. It also
stands in for GitHub's commit statuses (POST /repos/<owner>/<name>/statuses/<sha>).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from tests.http_standin import serve_json

TOKEN = "test-argocd-token"
PREFIX = "/api/v1/applications/"


@dataclass
class FakeArgoCD:
    """Every Application is Healthy and Synced at `revision` unless told otherwise."""

    revision: str = ""
    apps: dict[str, dict[str, str]] = field(default_factory=dict)  # name -> health/sync/revision/message/operation
    terminated: list[str] = field(default_factory=list)  # Applications whose operation was terminated
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
        if method == "DELETE" and path.startswith(PREFIX) and path.endswith("/operation"):
            return self._terminate(path[len(PREFIX):-len("/operation")])
        name = path[len(PREFIX):] if method == "GET" and path.startswith(PREFIX) else ""
        if not name or "/" in name or name in self.missing:
            return 404, {"error": f"applications.argoproj.io \"{name}\" not found", "code": 5}
        s = {"health": "Healthy", "sync": "Synced", "revision": self.revision, "message": "", **self.apps.get(name, {})}
        health = {"status": s["health"], **({"message": s["message"]} if s["message"] else {})}
        status: dict[str, Any] = {"health": health, "sync": {"status": s["sync"], "revision": s["revision"]}}
        if s.get("operation"):  # as ArgoCD: the phase, when it started, the sync's message
            status["operationState"] = {"phase": s["operation"], "startedAt": "2026-12-07T09:00:00Z",
                                        "message": s.get("operation_message", "")}
        return 200, {"metadata": {"name": name, "namespace": "argocd"}, "status": status}

    def _terminate(self, name: str) -> tuple[int, dict[str, Any]]:
        """As server/application/application.go TerminateOperation: InvalidArgument (HTTP 400)
        without an operation; otherwise the phase becomes Terminating, and the controller ends it."""
        if "/" in name or name in self.missing:
            return 404, {"error": f"applications.argoproj.io \"{name}\" not found", "code": 5}
        app = self.apps.setdefault(name, {})
        if not app.get("operation"):
            message = "Unable to terminate operation. No operation is in progress"
            return 400, {"error": message, "code": 3, "message": message}
        self.terminated.append(name)
        app.update(operation="Failed", operation_message="Operation terminated")
        return 200, {}

    def read(self) -> list[str]:
        return [path[len(PREFIX):] for _, path, _ in self.requests]


def serve(fake: FakeArgoCD) -> Iterator[FakeArgoCD]:
    def answer(method: str, path: str, headers: Any, body: bytes) -> tuple[int, Any]:
        return fake.answer(method, path, headers.get("Authorization", ""), body)

    with serve_json(answer) as url:
        fake.url = url
        yield fake
