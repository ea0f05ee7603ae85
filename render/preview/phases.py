"""The preview's timeline on the running cluster: deployed -> RUNNING -> cold start -> load
(scale-up) -> idle (scale-down). Every wait is bounded; observations go into Outcomes."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from render.preview import observe
from render.preview.cluster import Local
from render.preview.config import RAY_LOOK_BACK_S, Intent, default_load, expected_peak
from render.preview.report import Outcome

POLL_S = 0.5
PROGRESS_EVERY_S = 5.0
# Time a replica needs to start on a small, busy machine (a Ray worker process), beyond any delay.
START_SLACK_S = 90.0
# How long replicas wanted by the autoscaler may wait for a node, with no other replica coming up
# meanwhile, before they count as unplaceable. Serve reports a replica's node only once its worker
# process runs, and on a busy two-core machine that took 23 s for replicas that did fit; Serve
# itself waits 30 s (RAY_SERVE_SLOW_STARTUP_WARNING_S) before it suspects a replica cannot be placed.
STUCK_S = 30.0
# Extractors loaded at once.
LOAD_BATCH = 2


@dataclass(frozen=True)
class Settings:
    time_scale: float
    load: int | None  # requests in flight per extractor; None: enough to reach max_replicas
    request_timeout_s: float


class Run:
    def __init__(self, local: Local, outcomes: list[Outcome], settings: Settings, say: Callable[[str], None]) -> None:
        self.local, self.outcomes, self.settings, self.say = local, outcomes, settings, say
        self.intents = [o.intent for o in outcomes]
        self.stopped: dict[str, float] = {}  # extractor -> when its load stopped

    def poll(self) -> dict[str, observe.AppState]:
        found = observe.states(self.local.dashboard, self.intents)
        for o in self.outcomes:
            s = found[o.intent.extractor]
            o.status, o.message = s.status, s.message
            o.groups_seen |= {self.local.groups.get(n, f"unknown node {n[:8]}") for n in s.running}
        self.track_scale_down(found)
        return found

    def wait(self, done: Callable[[dict[str, observe.AppState]], bool], bound_s: float, label: str) -> float:
        """Poll until `done` or `bound_s` passed; returns the seconds waited."""
        start = last = time.monotonic()
        while True:
            found = self.poll()
            now = time.monotonic()
            if done(found) or now - start > bound_s:
                return now - start
            if now - last >= PROGRESS_EVERY_S:
                last = now
                counts = ", ".join(f"{k} {len(v.running)}/{v.target}" for k, v in found.items())
                self.say(f"{label} ({now - start:.0f}s): replicas running/wanted: {counts}")
            time.sleep(POLL_S)

    def running(self) -> None:
        self.say("waiting for every application to be RUNNING")
        self.wait(lambda f: all(s.status in ("RUNNING", "DEPLOY_FAILED") for s in f.values()), START_SLACK_S, "deploying")

    def cold_starts(self) -> None:
        for o in self.outcomes:
            i = o.intent
            if i.min_replicas or o.status != "RUNNING":
                continue
            self.say(f"cold start: first request to {i.extractor} with no replica")
            ok, took, error = observe.timed_request(self.local.serve_port, i.route, START_SLACK_S)
            o.cold_start_s, o.cold_start_error = (took, "") if ok else (None, error)

    def scale_up(self) -> None:
        """Load the RUNNING extractors, a few at a time (two cores cannot drive them all at once
        without starving the proxy, which would read as low load); each batch until every one
        reached its expected peak, or the bound."""
        live = [o for o in self.outcomes if o.status == "RUNNING"]
        before = self.poll()
        for o in live:
            o.load = self.settings.load or default_load(o.intent)
            o.expected_peak = expected_peak(o.intent, o.load)
            o.start_replicas = len(before[o.intent.extractor].running)
        for first in range(0, len(live), LOAD_BATCH):
            self._load(live[first:first + LOAD_BATCH])

    def _load(self, batch: list[Outcome]) -> None:
        loads = {o.intent.extractor: observe.Load(self.local.serve_port, o.intent.route, o.load,
                                                  self.settings.request_timeout_s) for o in batch}
        self.say("load: " + ", ".join(f"{o.intent.extractor} {o.load} in flight" for o in batch))
        for load in loads.values():
            load.start()
        stuck_since: dict[str, float] = {}

        def peaked(found: dict[str, observe.AppState]) -> bool:
            now = time.monotonic()
            for o in batch:
                s = found[o.intent.extractor]
                rose = len(s.running) > o.peak  # a replica came up: the others may just be slow to start
                o.peak = max(o.peak, len(s.running))
                o.unplaced = s.unplaced  # the latest: replicas being started have no node for a moment
                # Wanted, but no node has room: waiting longer changes nothing on a fixed-size cluster.
                if s.unplaced and s.target >= o.expected_peak and not rose:
                    stuck_since.setdefault(o.intent.extractor, now)
                else:
                    stuck_since.pop(o.intent.extractor, None)
            return all(o.peak >= o.expected_peak or now - stuck_since.get(o.intent.extractor, now) >= STUCK_S
                       for o in batch)

        bound = max(self._scaled(o.intent.upscale_delay_s) for o in batch) + self._scaled(RAY_LOOK_BACK_S) + START_SLACK_S
        try:
            self.wait(peaked, bound, "scale-up")
        finally:
            self.say("load stopped: " + ", ".join(o.intent.extractor for o in batch))
            for o in batch:
                load = loads[o.intent.extractor]
                load.stop()
                o.requests_ok, o.requests_failed, o.request_errors = load.ok, load.failed, load.errors
                self.stopped[o.intent.extractor] = time.monotonic()

    def track_scale_down(self, found: dict[str, observe.AppState]) -> None:
        """For each extractor whose load stopped: its replicas now, and when they settled at min."""
        for o in self.outcomes:
            since = self.stopped.get(o.intent.extractor)
            if since is None:
                continue
            s = found[o.intent.extractor]
            o.final_replicas = len(s.running)
            # Replicas still stopping no longer serve (Ray gives each a graceful shutdown period).
            at_min = o.final_replicas == o.intent.min_replicas == s.target and not s.unplaced
            if at_min and o.scale_down_s is None:
                o.scale_down_s = time.monotonic() - since
            elif not at_min:
                o.scale_down_s = None  # it left min again: the fall back is not over

    def scale_down(self) -> None:
        live = [o for o in self.outcomes if o.intent.extractor in self.stopped]
        if not live:
            return
        bound = max(self._scaled(o.intent.downscale_delay_s) for o in live) + self._scaled(RAY_LOOK_BACK_S) + START_SLACK_S
        self.say(f"idle: waiting for replicas to fall back to min_replicas (at most {bound:.0f}s)")
        self.wait(lambda found: all(o.scale_down_s is not None for o in live), bound, "scale-down")

    def _scaled(self, seconds: float) -> float:
        return seconds * self.settings.time_scale


def outcomes_for(intents: list[Intent], capacity: dict[str, str]) -> list[Outcome]:
    return [Outcome(i, capacity=capacity.get(i.extractor, "")) for i in intents]
