"""Liveness heartbeat of a Celery worker, shipped to every worker pod (celery-config).

Not imported by the engine: `celery worker --include dataplane_heartbeat` loads it in the
worker. Celery's own heartbeat timer (celery.worker.heartbeat.Heart) fires
`heartbeat_sent` every 2 s from the consumer's event loop while the worker is connected to
its broker with events on (worker_send_task_events); each one touches HEARTBEAT_FILE. A
hung event loop or a lost broker connection stops the timer, the file goes stale and the
liveness probe (`dataplane_heartbeat.PROBE`) fails. Stock Celery only: no engine code.

`beat_heartbeat` is beat's heartbeat: the rendered beat_schedule sends it every minute, a
worker runs it and sets the key it is given (beat:heartbeat) through the broker's own
connection, so under the tenant's key prefix, to the current epoch seconds; redis_exporter
reads that key for the DataplaneCeleryBeatStale alert.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from celery import shared_task
from celery.signals import heartbeat_sent

HEARTBEAT_FILE = Path(os.environ.get("DATAPLANE_HEARTBEAT_FILE", "/tmp/worker_heartbeat"))


@heartbeat_sent.connect(weak=False)
def touch(sender: Any = None, **_: Any) -> None:
    HEARTBEAT_FILE.touch()


@shared_task(name="dataplane_heartbeat.beat_heartbeat", bind=True, ignore_result=True)
def beat_heartbeat(self: Any, key: str) -> int:
    now = int(time.time())
    with self.app.connection_for_write() as conn:
        conn.default_channel.client.set(key, now)  # kombu prefixes SET with global_keyprefix
    return now
