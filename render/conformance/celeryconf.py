"""Each tenant's Celery configuration (ConfigMap celery-config, data['celery.json']).

Checked by Celery itself: every key must be a Celery setting, the app must build its
queues and route every task pattern (task_create_missing_queues is off, so a route to
an undeclared queue fails in Celery's own router). Then the isolation rules: every
queue and route carries the tenant's prefix, Redis keys carry the tenant's key prefix,
and the broker is the tenant's own Redis; and the events the tenant's celery-exporter
counts are on (EVENT_SETTINGS). celery is imported inside this module only.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from render import celery_context, layout
from render.conformance.manifests import Manifest
from render.conformance.report import Outcome
from render.problems import Problem

CONFIG_MAP = "celery-config"
CONFIG_KEY = "celery.json"
Path_ = tuple[str | int, ...]
# Event settings the celery-exporter's task metrics need (danihodovic/celery-exporter
# src/exporter.py labels a task with the queue of its `task-sent` event, else "celery").
EVENT_SETTINGS = {
    "task_send_sent_event": "producers must publish task-sent: celery-exporter takes a task's queue from it, "
                            "otherwise the task is counted under queue 'celery' and leaves the tenant's panels",
    "worker_send_task_events": "workers must publish task events: celery-exporter counts tasks from them",
}


def is_config(m: Manifest) -> bool:
    return m.kind == "ConfigMap" and m.group == "" and m.name == CONFIG_MAP


def tenant_of(m: Manifest) -> str:
    labels = (m.obj.get("metadata") or {}).get("labels") or {}
    return str(labels.get(layout.LABEL_TENANT, ""))


def config_of(m: Manifest) -> dict[str, Any]:
    """The parsed celery.json of a celery-config ConfigMap. Raises ValueError when unreadable."""
    text = (m.obj.get("data") or {}).get(CONFIG_KEY)
    if not isinstance(text, str):
        raise ValueError(f"no data[{CONFIG_KEY!r}]")
    config = json.loads(text)
    if not isinstance(config, dict):
        raise ValueError("celery.json is not a JSON object")
    return config


def app_from_config(config: dict[str, Any], *, main: str = "dataplane", **replace: Any) -> Any:
    """A Celery app configured exactly from `config`, with `replace` (e.g. broker_url) on top."""
    from celery import Celery

    app = Celery(main, set_as_current=False)
    app.config_from_object({**config, **replace})
    return app


def check(manifests: list[Manifest]) -> Outcome:
    import celery

    configs = [m for m in manifests if is_config(m)]
    failures: list[Problem] = [p for m in manifests if is_routing(m) for p in producer_problems(m)]
    for m in configs:
        base = ("data", CONFIG_KEY)
        try:
            config = config_of(m)
        except ValueError as e:
            failures.append(m.problem(base, f"unreadable Celery configuration: {e}"))
            continue
        failures += [m.problem(base + path, message) for path, message in check_config(tenant_of(m), config)]
    return Outcome(f"celery {celery.__version__} (tenant configs, queue isolation)", len(configs), "configs", failures)


def check_config(tenant: str, config: dict[str, Any]) -> list[tuple[Path_, str]]:
    """Problems of one tenant's Celery configuration, as (path in the JSON, message)."""
    from celery.app.defaults import SETTING_KEYS

    problems: list[tuple[Path_, str]] = [((key,), "not a Celery setting: Celery would ignore it")
                                         for key in sorted(config) if key not in SETTING_KEYS]
    problems += _celery_verdict(config)
    problems += [((key,), f"must be true: {why}") for key, why in EVENT_SETTINGS.items() if config.get(key) is not True]
    return problems + beat_heartbeat(config) + isolation(tenant, config)


def beat_heartbeat(config: dict[str, Any]) -> list[tuple[Path_, str]]:
    """Beat's schedule runs the heartbeat task DataplaneCeleryBeatStale reads, with its key, every minute."""
    schedule = config.get("beat_schedule")
    entries = schedule if isinstance(schedule, dict) else {}
    beats = [(name, e) for name, e in sorted(entries.items())
             if isinstance(e, dict) and e.get("task") == celery_context.BEAT_HEARTBEAT_TASK]
    if not beats:
        return [(("beat_schedule",), f"no entry runs {celery_context.BEAT_HEARTBEAT_TASK}: nothing writes the beat "
                                     "heartbeat key DataplaneCeleryBeatStale reads, so it fires")]
    problems: list[tuple[Path_, str]] = []
    for name, entry in beats:
        if entry.get("args") != [celery_context.BEAT_KEY]:
            problems.append((("beat_schedule", name, "args"), f"must be [{celery_context.BEAT_KEY!r}], the key the alert reads"))
        every = entry.get("schedule")
        if not isinstance(every, (int, float)) or not 0 < every <= celery_context.BEAT_HEARTBEAT_S:
            problems.append((("beat_schedule", name, "schedule"),
                             f"must be at most {celery_context.BEAT_HEARTBEAT_S} seconds, so the heartbeat stays fresh"))
    return problems


def is_routing(m: Manifest) -> bool:
    labels = (m.obj.get("metadata") or {}).get("labels") or {} if m.is_object else {}
    return m.kind == "ConfigMap" and labels.get(layout.LABEL_ROUTING) == "true"


def producer_problems(m: Manifest) -> list[Problem]:
    """A routing entry (the control plane's producer config) carries the producer settings."""
    out = []
    for key, text in sorted((m.obj.get("data") or {}).items()):
        try:
            entry = json.loads(text)
            producer = entry["endpoints"]["queues"].get("producer") or {}
        except (ValueError, KeyError, TypeError, AttributeError):
            continue  # the routing schema reports a malformed entry
        for setting, value in celery_context.PRODUCER_SETTINGS.items():
            if producer.get(setting) != value:
                out.append(m.problem(("data", key), f"endpoints.queues.producer.{setting} must be {value!r}: "
                                                    f"{EVENT_SETTINGS[setting]}"))
    return out


def _celery_verdict(config: dict[str, Any]) -> list[tuple[Path_, str]]:
    """Build the app and let Celery resolve every queue and route."""
    from celery.exceptions import QueueNotFound

    app = app_from_config(config)
    try:
        queues = app.amqp.queues
    except Exception as e:  # noqa: BLE001 - Celery's own complaint is the message
        return [(("task_queues",), f"Celery cannot build the queues: {type(e).__name__}: {e}")]
    problems: list[tuple[Path_, str]] = []
    routes = config.get("task_routes")
    for pattern in sorted(routes if isinstance(routes, dict) else {}):
        probe = pattern.replace("*", "probe")
        try:
            app.amqp.router.route({}, probe)
        except (QueueNotFound, KeyError) as e:
            problems.append((("task_routes", pattern), f"Celery's router refuses {probe!r}: {e.args[0] if e.args else e}"))
    default = config.get("task_default_queue")
    if default is not None and default not in queues:
        problems.append((("task_default_queue",), f"{default!r} is not in task_queues"))
    return problems


def isolation(tenant: str, config: dict[str, Any]) -> list[tuple[Path_, str]]:
    """Every queue, route and Redis key of `tenant` is its own."""
    prefix, key_prefix = layout.queue_prefix(tenant), layout.redis_key_prefix(tenant)
    problems: list[tuple[Path_, str]] = []
    for name in _queue_names(config.get("task_queues")):
        if not name.startswith(prefix):
            problems.append((("task_queues", name), f"queue {name!r} is not one of {tenant}'s (prefix {prefix!r})"))
    routes = config.get("task_routes")
    for pattern, route in sorted(routes.items() if isinstance(routes, dict) else []):
        queue = route.get("queue") if isinstance(route, dict) else route
        if not (isinstance(queue, str) and queue.startswith(prefix)):
            problems.append((("task_routes", pattern), f"routes to {queue!r}, a queue outside {tenant}'s (prefix {prefix!r})"))
    if not str(config.get("task_default_queue", "")).startswith(prefix):
        problems.append((("task_default_queue",), f"default queue is not one of {tenant}'s (prefix {prefix!r})"))
    if config.get("task_create_missing_queues") is not False:
        problems.append((("task_create_missing_queues",), "must be false: a worker would create and consume any queue"))
    for option in ("broker_transport_options", "result_backend_transport_options"):
        options = config.get(option)
        if not isinstance(options, dict) or options.get("global_keyprefix") != key_prefix:
            problems.append(((option, "global_keyprefix"), f"must be {key_prefix!r}: Redis keys must carry the tenant's prefix"))
    for option in ("broker_url", "result_backend"):
        host = urlsplit(str(config.get(option, ""))).hostname or ""
        if host.split(".")[1:2] != [layout.namespace(tenant)]:
            problems.append(((option,), f"host {host!r} is not {tenant}'s own Redis (namespace {layout.namespace(tenant)})"))
    return problems


def _queue_names(value: Any) -> list[str]:
    """Queue names of a task_queues value: a {name: options} mapping or a list."""
    items = list(value) if isinstance(value, (dict, list, tuple)) else []
    return sorted(str(q.get("name") if isinstance(q, dict) else q) for q in items)
