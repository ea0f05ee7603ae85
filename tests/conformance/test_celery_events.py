"""The producer side of the rendered Celery configuration publishes the `task-sent` events
celery-exporter takes a task's queue from (danihodovic/celery-exporter src/exporter.py:
`getattr(task, "queue", "celery")`), on a real Redis, through the tenant's key prefix.

The engine's Ray pods and the Celery pods read the same rendered celery.json, so this is
the producer every engine task passes through.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from tests.conformance.tenant_worker_app import TASKS, rendered_config, tenant_app
from tests.support import need

need("celery")
need("redis")

TENANT = "acme"


def sent_events(app: Any, seconds: float) -> dict[str, str]:
    """Task name -> queue of the task-sent events a receiver on the broker sees while every
    probe task is sent again and again (Redis pub/sub: until the receiver has subscribed)."""
    seen: dict[str, str] = {}
    listening, done = threading.Event(), threading.Event()

    def capture() -> None:
        def on_sent(event: dict[str, Any]) -> None:
            seen.setdefault(event["name"], event["queue"])

        with app.connection_for_read() as conn:
            receiver = app.events.Receiver(conn, handlers={"task-sent": on_sent, "*": lambda e: None})
            listening.set()
            try:
                for _ in receiver.itercapture(limit=None, timeout=1, wakeup=False):
                    if done.is_set():
                        return
            except Exception:  # noqa: BLE001 - the capture ends by its timeout
                pass

    thread = threading.Thread(target=capture, daemon=True)
    thread.start()
    assert listening.wait(10)
    deadline = time.monotonic() + seconds
    while len(seen) < len(TASKS) and time.monotonic() < deadline:
        for name in TASKS:
            app.tasks[name].delay()
        time.sleep(0.2)
    done.set()
    thread.join(15)
    return dict(seen)


def test_every_task_sent_publishes_its_queue_for_the_exporter(redis_url: str) -> None:
    import redis as redis_client

    client = redis_client.Redis.from_url(f"{redis_url}/0")
    client.flushall()
    try:
        assert rendered_config(TENANT)["task_send_sent_event"] is True
        seen = sent_events(tenant_app(TENANT, redis_url), 10)
        assert seen == {name: f"{TENANT}.{queue}" for name, queue in TASKS.items()}
        # the queues the tasks wait in carry the tenant's key prefix
        keys = [k.decode() if isinstance(k, bytes) else k for k in client.keys("*")]
        assert keys and all(k.startswith(f"{TENANT}:") for k in keys)
    finally:
        client.flushall()
        client.close()


def test_without_the_setting_no_task_sent_event_reaches_the_exporter(redis_url: str) -> None:
    """The check above can fail: the same producer with task_send_sent_event off sends none."""
    import redis as redis_client

    app = tenant_app(TENANT, redis_url)
    app.conf.task_send_sent_event = False
    client = redis_client.Redis.from_url(f"{redis_url}/0")
    try:
        assert sent_events(app, 3) == {}
    finally:
        client.flushall()
        client.close()
