"""Celery isolation on a real Redis with real worker processes, from the rendered configs.

Two tenants' rendered celery.json (acme and globex) are loaded as-is; only the broker
and result backend point at the test session's redis-server. Both tenants share that
one server here (the harder case): only names and key prefixes keep them apart.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from render.conformance import celeryconf
from tests.conformance.tenant_worker_app import TASKS, rendered_config, tenant_app
from tests.processes import stop, wait_for
from tests.support import ROOT, need

need("celery")
need("redis")

A, B = "acme", "globex"
HERE = ROOT / "tests" / "conformance"


@pytest.fixture()
def redis(redis_url: str) -> Iterator[Any]:
    import redis as redis_client

    client = redis_client.Redis.from_url(f"{redis_url}/0")
    results = redis_client.Redis.from_url(f"{redis_url}/1")
    client.flushall()
    yield client, results
    client.flushall()
    client.close()
    results.close()


def keys(client: Any) -> set[str]:
    return {k.decode() for k in client.keys("*")}


@contextmanager
def worker(tenant: str, redis_url: str, log: Path, *queues: str) -> Iterator[subprocess.Popen[bytes]]:
    """A real `celery worker` process with `tenant`'s configuration; waits until it is ready."""
    env = {**os.environ, "DATAPLANE_TEST_TENANT": tenant, "DATAPLANE_TEST_REDIS": redis_url,
           "PYTHONPATH": os.pathsep.join([str(ROOT), str(HERE)])}
    args = [sys.executable, "-m", "celery", "-A", "tenant_worker_app", "worker", "--pool", "solo",
            "--hostname", f"{tenant}@test", "--without-mingle", "--without-gossip", "--without-heartbeat",
            "--loglevel", "INFO"] + (["--queues", ",".join(queues)] if queues else [])
    with log.open("wb") as out:
        process = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=log.parent)
    try:
        yield process
    finally:
        stop(process, timeout_s=20)


def wait_ready(process: subprocess.Popen[bytes], log: Path) -> None:
    wait_for(lambda: b" ready." in log.read_bytes(), process, log, "celery worker not ready")


def test_rendered_configs_pass_celerys_own_checks() -> None:
    for tenant in (A, B):
        assert celeryconf.check_config(tenant, rendered_config(tenant)) == []


def test_tasks_land_only_in_the_senders_prefixed_queues(redis: Any, redis_url: str) -> None:
    broker, _ = redis
    app_a = tenant_app(A, redis_url)
    for name in TASKS:
        app_a.send_task(name)
    found = keys(broker)
    assert found and all(k.startswith(f"{A}:") for k in found), found
    for name, queue in TASKS.items():
        assert broker.llen(f"{A}:{A}.{queue}") == 1, f"{name} should wait in {A}.{queue}"
    assert not any(B in k for k in found)


def test_each_worker_consumes_only_its_own_tenants_tasks(redis: Any, redis_url: str, tmp_path: Path) -> None:
    broker, results = redis
    app_a, app_b = tenant_app(A, redis_url), tenant_app(B, redis_url)
    sent = {A: [app_a.send_task(n) for n in TASKS], B: [app_b.send_task(n) for n in TASKS]}
    with worker(A, redis_url, tmp_path / "a.log") as wa, worker(B, redis_url, tmp_path / "b.log") as wb:
        wait_ready(wa, tmp_path / "a.log")
        wait_ready(wb, tmp_path / "b.log")
        for tenant, pending in sent.items():
            for name, result in zip(TASKS, pending, strict=True):
                assert result.get(timeout=60) == {"worker_of": tenant, "queue": f"{tenant}.{TASKS[name]}"}
    for tenant in (A, B):
        for queue in TASKS.values():
            assert broker.llen(f"{tenant}:{tenant}.{queue}") == 0
    assert all(k.startswith((f"{A}:", f"{B}:")) for k in keys(broker) | keys(results))
    for tenant in (A, B):
        metas = [k for k in keys(results) if k.startswith(f"{tenant}:celery-task-meta-")]
        assert len(metas) == len(TASKS)


def test_a_worker_with_as_config_refuses_a_queue_outside_as_list(redis_url: str, tmp_path: Path) -> None:
    log = tmp_path / "refused.log"
    with worker(A, redis_url, log, f"{B}.ingest") as process:
        assert process.wait(timeout=60) != 0
    text = log.read_text(errors="replace")
    assert f"{B}.ingest" in text and "task_queues" in text, text[-2000:]


def test_as_config_cannot_publish_to_bs_queue(redis: Any, redis_url: str) -> None:
    from celery.exceptions import QueueNotFound

    broker, _ = redis
    with pytest.raises(QueueNotFound):
        tenant_app(A, redis_url).send_task("engine.tasks.ingest.probe", queue=f"{B}.ingest")
    assert not any(B in k for k in keys(broker))
