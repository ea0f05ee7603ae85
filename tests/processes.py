"""Processes a test starts: a real redis-server on 127.0.0.1, waiting for a process to be
ready, and stopping it by its own handle (never by name)."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support import need_binary


def stop(process: subprocess.Popen[bytes], timeout_s: float = 10) -> None:
    """Terminate a process this test started; kill it if it lingers."""
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_for(ready: Callable[[], bool], process: subprocess.Popen[bytes], log: Path, what: str,
             deadline_s: float = 60) -> None:
    """Poll `ready` until it holds. Fails, with the end of the process's `log`, when the
    process exits first or the deadline (a bound, never an expectation) passes."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if ready():
            return
        if process.poll() is not None:
            break
        time.sleep(0.1)
    pytest.fail(f"{what}:\n{log.read_text(errors='replace')[-3000:]}")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_redis(port: int, process: subprocess.Popen[bytes], deadline_s: float = 10.0) -> None:
    """Until the server answers PING (without a password)."""
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
    """A real redis-server on a free port of 127.0.0.1, without persistence; stopped on
    exit. Skips when redis-server is not installed, except under CI (tests/support.py)."""
    binary = need_binary("redis-server", "apt-get install redis-server")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(workdir), "--daemonize", "no", "--loglevel", "warning", *options],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        yield port, process
    finally:
        stop(process)
