"""PlatformInputs test helpers: the upstream CRD folder and a real redis-server on 127.0.0.1."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def crds_dir() -> Path:
    """The upstream CRDs: $DATAPLANE_CRDS, else <repo>/../shared/crds.

    Skips the calling test when there is none, unless DATAPLANE_REQUIRE_CRDS=1 (CI),
    which makes a missing folder a failure.
    """
    env = os.environ.get("DATAPLANE_CRDS")
    path = Path(env) if env else REPO.parent / "shared" / "crds"
    if path.is_dir():
        return path
    message = f"no upstream CRD folder at {path} (set DATAPLANE_CRDS)"
    if os.environ.get("DATAPLANE_REQUIRE_CRDS") == "1":
        pytest.fail(message + "; DATAPLANE_REQUIRE_CRDS=1 makes it mandatory")
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(port: int, process: subprocess.Popen[bytes], deadline_s: float = 10.0) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if process.poll() is not None:
            raise RuntimeError(f"redis-server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as conn:
                conn.sendall(b"PING\r\n")
                if conn.recv(16).startswith(b"+PONG"):
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("redis-server did not answer PING in time")


@contextlib.contextmanager
def redis_server(workdir: Path, *options: str) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """A real redis-server on a free port of 127.0.0.1, without persistence; stopped (by its
    own process handle) on exit. Skips when redis-server is not installed, except under CI
    (CI set), where that is a failure."""
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is not installed (CI requires it: apt-get install redis-server)")
        pytest.skip("redis-server is not installed")
    port = _free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(workdir), "--daemonize", "no", "--loglevel", "warning", *options],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        yield port, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server for this session (see `redis_server`)."""
    with redis_server(tmp_path_factory.mktemp("redis")) as (port, process):
        _wait_ready(port, process)
        yield f"redis://127.0.0.1:{port}"


@pytest.fixture(autouse=True)
def _own_render_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test renders with a cache of its own, outside any repository it makes (the
    engine refuses a cache inside the checkout), so tests never share cache entries."""
    if "DATAPLANE_CACHE_DIR" not in os.environ:
        monkeypatch.setenv("DATAPLANE_CACHE_DIR", str(tmp_path_factory.mktemp("render-cache")))
