"""The Celery worker contract, with a real worker on a real redis-server that requires a
password: the rendered args, env and heartbeat module as the pod gets them.

- Liveness: the worker itself touches the heartbeat file (the shipped dataplane_heartbeat
  module, loaded by the rendered --include); the rendered probe passes while it runs and
  fails on a stale or missing file (the startup probe covers the first heartbeat).
- Credentials: Celery takes the broker and backend from CELERY_BROKER_URL and
  CELERY_RESULT_BACKEND (built by the ExternalSecret with the URL-escaped password), over
  the password-less URLs of celery.json.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import pytest
import yaml

from tests.conformance.tenant_worker_app import tenant_app
from tests.processes import redis_server, stop, wait_for
from tests.support import ROOT, need

need("celery")
need("redis")

HERE = ROOT / "tests" / "conformance"
TENANT = "acme"
# Characters a generated password may hold that a URL must escape.
PASSWORD = "s3cr@t/pa:ss%word"


def rendered(kind_file: str) -> dict[str, Any]:
    docs = [d for d in yaml.safe_load_all((ROOT / "rendered" / TENANT / kind_file).read_text(encoding="utf-8")) if d]
    return docs[0]


def worker_container() -> dict[str, Any]:
    return rendered("deployment-celery-worker.yaml")["spec"]["template"]["spec"]["containers"][0]


def broker_urls(port: int) -> dict[str, str]:
    """What the ExternalSecret's template renders (Go's urlquery is Python's quote_plus)."""
    secret = rendered("externalsecret-redis-credentials.yaml")
    out = {}
    for key, template in secret["spec"]["target"]["template"]["data"].items():
        url = template.replace("{{ .password | urlquery }}", quote_plus(PASSWORD))
        out[key] = url.replace("redis.tenant-acme.svc.cluster.local:6379", f"127.0.0.1:{port}")
    return out


@pytest.fixture()
def password_redis(tmp_path: Path) -> Iterator[int]:
    with redis_server(tmp_path, "--requirepass", PASSWORD) as (port, process):
        _wait_authenticated(port, process)
        yield port


def _wait_authenticated(port: int, process: subprocess.Popen[bytes], deadline_s: float = 10.0) -> None:
    import redis as redis_client

    end = time.monotonic() + deadline_s
    while time.monotonic() < end and process.poll() is None:
        try:
            if redis_client.Redis(host="127.0.0.1", port=port, password=PASSWORD).ping():
                return
        except redis_client.exceptions.ConnectionError:
            time.sleep(0.05)
    raise RuntimeError("redis-server did not answer an authenticated PING in time")


def probe(command: list[str], heartbeat: Path) -> int:
    """The rendered probe command, pointed at this test's heartbeat file."""
    return subprocess.run([c.replace("/tmp/worker_heartbeat", str(heartbeat)) for c in command], check=False).returncode


def test_the_worker_pod_reads_broker_urls_with_the_password_from_the_secret() -> None:
    env = {e["name"]: e for e in worker_container()["env"]}
    assert env["CELERY_BROKER_URL"]["valueFrom"]["secretKeyRef"] == {"name": "redis-credentials", "key": "broker-url"}
    assert env["CELERY_RESULT_BACKEND"]["valueFrom"]["secretKeyRef"] == {"name": "redis-credentials", "key": "result-backend-url"}
    ray = rendered("rayservice-engine.yaml")["spec"]["rayClusterConfig"]
    for pod in [ray["headGroupSpec"]] + ray["workerGroupSpecs"]:
        names = {e["name"] for e in pod["template"]["spec"]["containers"][0]["env"]}
        assert {"CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "CELERY_CONFIG_FILE"} <= names


def test_a_real_worker_beats_its_heartbeat_and_runs_tasks_with_the_password(password_redis: int, tmp_path: Path) -> None:
    container = worker_container()
    config = rendered("configmap-celery-config.yaml")["data"]
    (tmp_path / "python").mkdir()
    (tmp_path / "python" / "dataplane_heartbeat.py").write_text(config["dataplane_heartbeat.py"], encoding="utf-8")
    heartbeat = tmp_path / "worker_heartbeat"
    urls = broker_urls(password_redis)
    env = {**os.environ, "CELERY_BROKER_URL": urls["broker-url"], "CELERY_RESULT_BACKEND": urls["result-backend-url"],
           # The app's own broker setting has no password: the env must win for this to work.
           "DATAPLANE_TEST_TENANT": TENANT, "DATAPLANE_TEST_REDIS": f"redis://127.0.0.1:{password_redis}",
           "DATAPLANE_HEARTBEAT_FILE": str(heartbeat),
           "PYTHONPATH": os.pathsep.join([str(tmp_path / "python"), str(ROOT), str(HERE)])}
    assert container["command"] == ["celery", "-A", "engine.celery_app", "worker"]
    args = list(container["args"])
    args[args.index("--concurrency") + 1] = "1"
    liveness = container["livenessProbe"]["exec"]["command"]
    assert container["startupProbe"]["exec"]["command"] == liveness
    assert probe(liveness, heartbeat) != 0  # no heartbeat before the worker runs
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "celery", "-A", "tenant_worker_app", "worker", *args, "--pool", "solo",
                                    "--hostname", "acme@test"], env=env, stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        wait_for(heartbeat.exists, process, log, "no heartbeat from the worker")
        first = heartbeat.stat().st_mtime_ns
        wait_for(lambda: heartbeat.stat().st_mtime_ns > first, process, log, "the worker stopped beating")
        assert probe(liveness, heartbeat) == 0
        os.environ["CELERY_BROKER_URL"], os.environ["CELERY_RESULT_BACKEND"] = urls["broker-url"], urls["result-backend-url"]
        try:
            app = tenant_app(TENANT, f"redis://127.0.0.1:{password_redis}")
            assert app.send_task("engine.tasks.ingest.probe").get(timeout=60) == {"worker_of": TENANT, "queue": "acme.ingest"}
        finally:
            del os.environ["CELERY_BROKER_URL"], os.environ["CELERY_RESULT_BACKEND"]
    finally:
        stop(process, timeout_s=30)
    os.utime(heartbeat, (0, 0))  # a worker that stopped beating long ago
    assert probe(liveness, heartbeat) != 0
