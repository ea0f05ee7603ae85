"""Daily cron schedules (`minute hour * * *`) as the backup CronJobs use them: their
problems, how many runs a day, the longest gap between two runs. Pure."""

from __future__ import annotations

from typing import Any


def _cron_field(field: str, size: int) -> set[int]:
    """Values of one cron field (`*`, `*/N`, `A`, `A-B`, `A-B/N`, comma lists) within 0..size-1."""
    out: set[int] = set()
    for part in field.split(","):
        span, _, step = part.partition("/")
        lo, hi = (0, size - 1) if span == "*" else (int(span.split("-")[0]), int(span.split("-")[-1]))
        out |= {v for v in range(lo, hi + 1, int(step or 1)) if 0 <= v < size}
    return out


def schedule_problem(schedule: str) -> str | None:
    """Why a daily schedule is not one this module reads, or None."""
    minute, hour = schedule.split()[:2]
    for field, size, what in ((minute, 60, "minute"), (hour, 24, "hour")):
        for part in field.split(","):
            span, _, step = part.partition("/")
            bounds = [] if span == "*" else span.split("-")
            numbers = [*bounds, *([step] if step else [])]
            if not all(n.isdigit() for n in numbers) or len(bounds) > 2 or (step and int(step) == 0):
                return f"{what} field {field!r}: write a number, *, */N, A-B or a comma list"
            if any(int(n) >= size for n in bounds) or (len(bounds) == 2 and int(bounds[0]) > int(bounds[1])):
                return f"{what} field {field!r} is outside 0-{size - 1}"
    return None


def longest_gap_s(schedule: str) -> int:
    """The longest time between two runs of a daily schedule (`minute hour * * *`), in seconds:
    the staleness alert fires when the last success is older than twice this."""
    minute, hour = schedule.split()[:2]
    runs = sorted(h * 60 + m for h in _cron_field(hour, 24) for m in _cron_field(minute, 60))
    if not runs:
        return 86400
    return max(b - a for a, b in zip(runs, [*runs[1:], runs[0] + 1440], strict=True)) * 60


def stale_after_s(platform: dict[str, Any]) -> dict[str, int]:
    """Per datastore: a backup older than this (twice its schedule's gap) is overdue."""
    return {ds: 2 * longest_gap_s(str(b["schedule"])) for ds, b in platform.get("backups", {}).items()}


def runs_a_day(schedule: str) -> int:
    minute, hour = schedule.split()[:2]
    return len(_cron_field(minute, 60)) * len(_cron_field(hour, 24))
