"""One local JSON HTTP server for the tests' stand-in APIs (Kubernetes, ArgoCD, GitHub):
each stand-in supplies only how it answers a request; this serves it on 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# (method, path without the query, headers, body) -> (status, JSON payload)
Answer = Callable[[str, str, Any, bytes], tuple[int, Any]]


@contextlib.contextmanager
def serve_json(answer: Answer, *, with_query: bool = False) -> Iterator[str]:
    """Serve `answer` on a free port of 127.0.0.1; yields the base URL; stops on exit.
    `with_query`: the path `answer` sees keeps its query (a stand-in that pages)."""

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            path = self.path if with_query else self.path.split("?")[0]
            code, payload = answer(self.command, path, self.headers, body)
            data = json.dumps(payload).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
