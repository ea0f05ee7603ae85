"""A tenant's Celery app built from its rendered configuration, for real worker processes.

`celery -A tenant_worker_app worker` imports this with DATAPLANE_TEST_TENANT and
DATAPLANE_TEST_REDIS set; the tests build the same app in-process to send tasks.
"""

from __future__ import annotations

import os
from typing import Any

from render.conformance import celeryconf
from render.conformance.manifests import Manifest
from render.load import parse_yaml
from tests.support import ROOT

# One task per route of the platform's config, and one that falls to the default queue.
TASKS = {
    "engine.tasks.ingest.probe": "ingest",
    "engine.tasks.batch.probe": "batch",
    "engine.extractors.probe": "extract",
    "engine.tasks.other.probe": "default",
}


def rendered_config(tenant: str) -> dict[str, Any]:
    rel = f"rendered/{tenant}/configmap-celery-config.yaml"
    return celeryconf.config_of(Manifest(parse_yaml((ROOT / rel).read_text(encoding="utf-8"), rel)))


def tenant_app(tenant: str, redis_url: str) -> Any:
    """The rendered config as-is; only broker and result backend point at the test Redis."""
    app = celeryconf.app_from_config(rendered_config(tenant), main=tenant,
                                     broker_url=f"{redis_url}/0", result_backend=f"{redis_url}/1")
    for name in TASKS:
        # The same names in every tenant's app: the result says whose worker process ran it.
        @app.task(name=name, bind=True, shared=False)
        def probe(self: Any) -> dict[str, Any]:
            return {"worker_of": os.environ.get("DATAPLANE_TEST_TENANT", "in-process"),
                    "queue": self.request.delivery_info["routing_key"]}
    return app


if "DATAPLANE_TEST_TENANT" in os.environ:
    app = tenant_app(os.environ["DATAPLANE_TEST_TENANT"], os.environ["DATAPLANE_TEST_REDIS"])
    if "DATAPLANE_TEST_BEAT_EVERY_S" in os.environ:  # the rendered schedule, faster
        for entry in app.conf.beat_schedule.values():
            entry["schedule"] = float(os.environ["DATAPLANE_TEST_BEAT_EVERY_S"])
