"""The beat heartbeat DataplaneCeleryBeatStale reads is written, by a real `celery beat` and a
real worker on the test Redis, with the rendered configuration: the rendered beat_schedule
entry sends the heartbeat task, the rendered worker (its args, with the shipped
dataplane_heartbeat module loaded by --include) runs it, and the key redis_exporter is told
to read (REDIS_EXPORTER_CHECK_SINGLE_KEYS, db 0) holds the current epoch seconds and moves
on. Only the schedule's interval is shortened (60 s rendered, 1 s here); without beat the key
never appears, which is what the alert pages on.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from render import celery_context
from tests.processes import stop, wait_for
from tests.support import ROOT, need

need("celery")
need("redis")

HERE = ROOT / "tests" / "conformance"
TENANT = "acme"


def rendered(kind_file: str) -> dict[str, Any]:
    (doc,) = [d for d in yaml.safe_load_all((ROOT / "rendered" / TENANT / kind_file).read_text(encoding="utf-8")) if d]
    return dict(doc)


def checked_key() -> str:
    """The heartbeat key redis_exporter reads (the one the alert's redis_key_value selects)."""
    (container,) = rendered("deployment-redis-exporter.yaml")["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    (key,) = [k.split("=", 1)[1] for k in env["REDIS_EXPORTER_CHECK_SINGLE_KEYS"].split(",") if k.endswith(":beat:heartbeat")]
    assert env["REDIS_EXPORTER_CHECK_SINGLE_KEYS"].count(f"db0={key}") == 1
    return key


@contextmanager
def celery(role: str, args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "celery", "-A", "tenant_worker_app", role, *args], env=env,
                                   stdout=out, stderr=subprocess.STDOUT, cwd=log.parent)
    try:
        yield process
    finally:
        stop(process, timeout_s=30)


def test_a_real_beat_and_worker_write_the_heartbeat_the_alert_reads(redis_url: str, tmp_path: Path) -> None:
    import redis as redis_client

    config = rendered("configmap-celery-config.yaml")["data"]
    (tmp_path / "python").mkdir()
    (tmp_path / "python" / "dataplane_heartbeat.py").write_text(config["dataplane_heartbeat.py"], encoding="utf-8")
    env = {**os.environ, "DATAPLANE_TEST_TENANT": TENANT, "DATAPLANE_TEST_REDIS": redis_url,
           "DATAPLANE_TEST_BEAT_EVERY_S": "1", "DATAPLANE_HEARTBEAT_FILE": str(tmp_path / "worker_heartbeat"),
           "PYTHONPATH": os.pathsep.join([str(tmp_path / "python"), str(ROOT), str(HERE)])}
    (worker,) = rendered("deployment-celery-worker.yaml")["spec"]["template"]["spec"]["containers"]
    args = list(worker["args"])
    args[args.index("--concurrency") + 1] = "1"
    assert "--include" in args and args[args.index("--include") + 1] == "dataplane_heartbeat"
    key = checked_key()
    client = redis_client.Redis.from_url(f"{redis_url}/0")
    client.flushall()
    try:
        with celery("worker", [*args, "--pool", "solo", "--hostname", "acme@beat-test"], env, tmp_path / "worker.log") as w:
            wait_for(lambda: b" ready." in (tmp_path / "worker.log").read_bytes(), w, tmp_path / "worker.log",
                     "celery worker not ready")
            time.sleep(2)
            assert client.get(key) is None  # a worker alone writes nothing: no beat, no heartbeat
            with celery("beat", ["--schedule", str(tmp_path / "celerybeat-schedule"), "--loglevel", "INFO"], env,
                        tmp_path / "beat.log") as beat:
                wait_for(lambda: client.get(key) is not None, beat, tmp_path / "beat.log", "no heartbeat written",
                         deadline_s=90)
                first = int(client.get(key) or 0)
                assert abs(first - time.time()) < 30
                wait_for(lambda: int(client.get(key) or 0) > first, beat, tmp_path / "beat.log", "the heartbeat stopped",
                         deadline_s=90)
        beat_log = (tmp_path / "beat.log").read_text(errors="replace")
        assert f"Sending due task {celery_context.BEAT_HEARTBEAT_ENTRY} ({celery_context.BEAT_HEARTBEAT_TASK})" in beat_log
        # Only the checked key was written outside Celery's own (prefixed) keys.
        assert key == f"{TENANT}:{celery_context.BEAT_KEY}"
        assert all(k.decode().startswith(f"{TENANT}:") for k in client.keys("*"))
    finally:
        client.flushall()
        client.close()
