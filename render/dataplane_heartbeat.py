"""Liveness heartbeat of a Celery worker, shipped to every worker pod (celery-config).

Not imported by the engine: `celery worker --include dataplane_heartbeat` loads it in the
worker. Celery's own heartbeat timer (celery.worker.heartbeat.Heart) fires
`heartbeat_sent` every 2 s from the consumer's event loop while the worker is connected to
its broker with events on (worker_send_task_events); each one touches HEARTBEAT_FILE. A
hung event loop or a lost broker connection stops the timer, the file goes stale and the
liveness probe (`dataplane_heartbeat.PROBE`) fails. Stock Celery only: no engine code.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from celery.signals import heartbeat_sent

HEARTBEAT_FILE = Path(os.environ.get("DATAPLANE_HEARTBEAT_FILE", "/tmp/worker_heartbeat"))


@heartbeat_sent.connect(weak=False)
def touch(sender: Any = None, **_: Any) -> None:
    HEARTBEAT_FILE.touch()
