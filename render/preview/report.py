"""What the preview saw, per extractor, against what the rendered config intends. Pure."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from render.preview.config import Intent


@dataclass
class Outcome:
    """Observations of one extractor; `differences` holds every way it departs from its intent."""

    intent: Intent
    status: str = "NOT_STARTED"
    message: str = ""
    groups_seen: set[str] = field(default_factory=set)
    cold_start_s: float | None = None
    cold_start_error: str = ""
    start_replicas: int = 0
    expected_peak: int = 0
    peak: int = 0
    unplaced: int = 0
    load: int = 0
    requests_ok: int = 0
    requests_failed: int = 0
    request_errors: list[str] = field(default_factory=list)
    scale_down_s: float | None = None
    final_replicas: int | None = None
    capacity: str = ""  # why the group cannot hold its max replicas (from the rendered sizes)

    def differences(self, time_scale: float) -> list[str]:
        i = self.intent
        out = []
        if self.capacity:
            out.append(f"cannot be placed at max_replicas {i.max_replicas}: {self.capacity}")
        if self.status != "RUNNING":
            out.append(f"application is {self.status}, not RUNNING" + (f": {self.message}" if self.message else ""))
        wrong = sorted(self.groups_seen - {i.group or ""})
        if wrong:
            out.append(f"replicas ran on {', '.join(wrong)}, not only on {i.group or 'a declared group'}")
        if i.min_replicas == 0 and self.status == "RUNNING" and self.cold_start_s is None:
            out.append(f"cold start failed: {self.cold_start_error or 'no answer'}")
        if self.expected_peak and self.peak < self.expected_peak:
            why = f"; {self.unplaced} replica(s) found no node in {i.group}" if self.unplaced else ""
            out.append(f"under {self.load} requests in flight replicas rose to {self.peak}, "
                       f"not {self.expected_peak} (max_replicas {i.max_replicas}){why}")
        if self.final_replicas is not None and self.final_replicas != i.min_replicas:
            out.append(f"after the load, {self.final_replicas} replicas remained, not min_replicas {i.min_replicas}")
        if self.final_replicas is not None and self.final_replicas == i.min_replicas and self.scale_down_s is None:
            out.append("replicas did not settle at min_replicas within the wait")
        if self.requests_failed:
            out.append(f"{self.requests_failed} of {self.requests_ok + self.requests_failed} requests failed: "
                       + "; ".join(self.request_errors))
        return out


COLUMNS = ("EXTRACTOR", "GROUP", "STATUS", "PLACEMENT", "SCALE-UP", "SCALE-DOWN", "COLD START", "RESULT")


def row(o: Outcome, time_scale: float) -> tuple[str, ...]:
    i = o.intent
    seen = ",".join(sorted(o.groups_seen)) or "-"
    up = f"{o.start_replicas}->{o.peak} of {o.expected_peak}" if o.expected_peak else "-"
    # Reported beside the scaled delay, not judged by it: Ray counts the delay from its first
    # decision to scale down, which may come before the load stops when the load is near target.
    delay = f" (delay {i.downscale_delay_s * time_scale:.1f}s)"
    down = "-" if o.final_replicas is None else (
        f"{o.peak}->{o.final_replicas} in {o.scale_down_s:.1f}s{delay}" if o.scale_down_s is not None
        else f"{o.final_replicas} left")
    cold = "-" if i.min_replicas else (f"{o.cold_start_s:.1f}s" if o.cold_start_s is not None else "failed")
    return (i.extractor, i.group or "?", o.status, seen, up, down, cold,
            "ok" if not o.differences(time_scale) else "DIFFERS")


def table(outcomes: list[Outcome], time_scale: float) -> str:
    rows = [COLUMNS] + [row(o, time_scale) for o in outcomes]
    widths = [max(len(r[c]) for r in rows) for c in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    said: set[str] = set()
    for o in outcomes:
        for d in o.differences(time_scale):
            if o.capacity and o.capacity in d and o.capacity in said:  # one group's shortfall, said once
                d = d.replace(o.capacity, f"the same shortfall of {o.intent.group} as above")
            said.add(o.capacity)
            lines.append(f"{o.intent.extractor}: {d}")
    return "\n".join(lines)


def as_json(outcomes: list[Outcome], header: dict[str, Any], time_scale: float) -> str:
    items = []
    for o in outcomes:
        d = asdict(o)
        d["intent"] = {k: (float(v) if k != "needs" else {r: float(x) for r, x in v.items()})
                       if not isinstance(v, (str, int, type(None))) else v for k, v in d["intent"].items()}
        d["groups_seen"] = sorted(o.groups_seen)
        d["differences"] = o.differences(time_scale)
        d["ok"] = not d["differences"]
        items.append(d)
    return json.dumps({**header, "extractors": items, "ok": all(x["ok"] for x in items)}, indent=2, sort_keys=True)


def exit_code(outcomes: list[Outcome], time_scale: float) -> int:
    return 1 if any(o.differences(time_scale) for o in outcomes) else 0
