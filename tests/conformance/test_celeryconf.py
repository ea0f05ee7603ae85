"""A tenant's Celery configuration: Celery's own verdict and the isolation rules."""

from __future__ import annotations

from typing import Any

import pytest

from render.conformance.celeryconf import check_config
from tests.conformance.tenant_worker_app import rendered_config
from tests.support import need

need("celery")


def broken(**changes: Any) -> dict[str, Any]:
    return {**rendered_config("acme"), **changes}


def test_the_rendered_config_passes() -> None:
    assert check_config("acme", rendered_config("acme")) == []


def test_the_config_of_one_tenant_is_wrong_for_another() -> None:
    problems = check_config("globex", rendered_config("acme"))
    assert {path[0] for path, _ in problems} == {
        "task_queues", "task_routes", "task_default_queue", "broker_transport_options",
        "result_backend_transport_options", "broker_url", "result_backend"}


@pytest.mark.parametrize("changes, path, words", [
    ({"task_routs": {}}, ("task_routs",), "not a Celery setting"),
    ({"task_create_missing_queues": True}, ("task_create_missing_queues",), "must be false"),
    ({"task_default_queue": "globex.default"}, ("task_default_queue",), "not in task_queues"),
    ({"broker_transport_options": {}}, ("broker_transport_options", "global_keyprefix"), "must be 'acme:'"),
    ({"broker_url": "redis://redis.tenant-globex.svc.cluster.local:6379/0"}, ("broker_url",), "not acme's own Redis"),
    ({"task_queues": ["acme.default"]}, ("task_queues",), "Celery cannot build the queues"),
    ({"task_send_sent_event": False}, ("task_send_sent_event",), "must be true: producers must publish task-sent"),
    ({"worker_send_task_events": None}, ("worker_send_task_events",), "must be true"),
    ({"beat_schedule": {}}, ("beat_schedule",), "nothing writes the beat heartbeat key"),
    ({"beat_schedule": {"hb": {"task": "dataplane_heartbeat.beat_heartbeat", "schedule": 600.0, "args": ["beat:heartbeat"]}}},
     ("beat_schedule", "hb", "schedule"), "at most 60 seconds"),
    ({"beat_schedule": {"hb": {"task": "dataplane_heartbeat.beat_heartbeat", "schedule": 60.0, "args": ["beat"]}}},
     ("beat_schedule", "hb", "args"), "the key the alert reads"),
])
def test_each_rule_is_enforced(changes: dict[str, Any], path: tuple[str, ...], words: str) -> None:
    problems = check_config("acme", broken(**changes))
    assert any(p == path and words in message for p, message in problems), problems


def test_the_control_planes_producer_config_is_checked() -> None:
    """The routing entry the control plane enqueues with carries task_send_sent_event;
    without it, `validate --deep` refuses the entry."""
    import json

    from render.conformance.celeryconf import is_routing, producer_problems
    from render.conformance.manifests import Manifest
    from render.load import parse_yaml
    from tests.support import ROOT

    rel = "control-plane/routing/acme/configmap-routing-acme.yaml"
    text = (ROOT / rel).read_text(encoding="utf-8")
    m = Manifest(parse_yaml(text, rel))
    assert is_routing(m) and producer_problems(m) == []
    ((_key, entry),) = m.obj["data"].items()
    assert json.loads(entry)["endpoints"]["queues"]["producer"] == {"task_send_sent_event": True}
    broken = text.replace('"task_send_sent_event": true', '"task_send_sent_event": false')
    assert broken != text
    (problem,) = producer_problems(Manifest(parse_yaml(broken, rel)))
    assert problem.file == rel and "producer.task_send_sent_event must be True" in problem.message
