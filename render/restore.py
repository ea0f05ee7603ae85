"""Which backup a restore uses, checked against the bucket's inventory and the retention.

`dataplane restore` is given the listing of the tenant's backup bucket (`--inventory`: the
output of `gcloud storage ls gs://<bucket>-backups/backups/**` or `aws s3 ls --recursive
s3://<bucket>-backups/backups/`, saved to a file), so it restores only a backup that exists, and
the clock, so it refuses one the lifecycle rules have deleted (older than retention_days)
or a point in time outside the retained window. Pure: text and times in, a plan or
Problems out.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from render import backups
from render.problems import Problem

TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True)
class Plan:
    backup: str
    datastore: str
    taken: dt.datetime
    to_time: dt.datetime | None


def parse_time(value: str) -> dt.datetime | None:
    try:
        return dt.datetime.strptime(value, TIME_FORMAT).replace(tzinfo=dt.UTC)
    except ValueError:
        return None


def format_time(when: dt.datetime) -> str:
    return when.strftime(TIME_FORMAT)


def listed_backups(text: str, bucket: str) -> tuple[dict[str, dt.datetime], list[str]]:
    """Backups named in an inventory listing (name -> time taken), and the objects of another
    bucket it names (a listing of the wrong tenant's bucket)."""
    found: dict[str, dt.datetime] = {}
    foreign: list[str] = []
    for line in text.splitlines():
        words = line.split()
        if not words:
            continue
        key = words[-1]
        for scheme in ("gs://", "s3://"):
            if key.startswith(scheme):
                owner, _, key = key[len(scheme):].partition("/")
                if owner != bucket:
                    foreign.append(words[-1])
                    key = ""
        parts = key.split("/")
        if len(parts) != 3 or parts[0] != backups.PREFIX_ROOT:
            continue
        datastore, file = parts[1], parts[2]
        suffix = backups.DATASTORES[datastore].suffix if datastore in backups.DATASTORES else ""
        parsed = backups.parse_name(file.removesuffix(suffix)) if suffix and file.endswith(suffix) else None
        if parsed and parsed[0] == datastore:
            found[file.removesuffix(suffix)] = parsed[1]
    return found, foreign


def plan(*, backup: str, to_time: str | None, inventory: str, inventory_file: str, bucket: str,
         datastores: list[str], retention_days: dict[str, int], now: dt.datetime) -> Plan | list[Problem]:
    """The restore of `backup`, or every reason it cannot be done."""
    def problem(message: str, hint: str = "", file: str = ".") -> Problem:
        return Problem(file, 1, 1, "", message, hint)

    parsed = backups.parse_name(backup)
    if parsed is None:
        return [problem(f"--from {backup!r} is not a backup name", "write <datastore>-<YYYYMMDDTHHMMSSZ>, "
                        "e.g. mongodb-20261207T121700Z, as listed in the bucket under backups/<datastore>/")]
    datastore, taken = parsed
    if datastore not in datastores:
        return [problem(f"the tenant has no dedicated {datastore} to restore", f"its datastores: {', '.join(datastores)}")]
    listed, foreign = listed_backups(inventory, bucket)
    if foreign:
        return [problem(f"the inventory lists objects of another bucket ({foreign[0]})",
                        f"list the tenant's own bucket gs://{bucket} or s3://{bucket}", inventory_file)]
    if backup not in listed:
        return [problem(f"backup {backup} is not in the inventory ({len(listed)} backups listed)",
                        "pick one of the listed backups; refresh the listing if it is old", inventory_file)]
    oldest = now - dt.timedelta(days=retention_days[datastore])
    window = f"{format_time(oldest)} .. {format_time(now)}"
    if not oldest <= taken <= now:
        return [problem(f"backup {backup} is outside the retained window {window}",
                        f"{datastore} backups are kept {retention_days[datastore]} days (registry/platform.yaml backups)")]
    when = None
    if to_time is not None:
        when = parse_time(to_time)
        if when is None:
            return [problem(f"--to-time {to_time!r} is not a UTC time", "write YYYY-MM-DDTHH:MM:SSZ")]
        if not oldest <= when <= now:
            return [problem(f"--to-time {to_time} is outside the retained window {window}",
                            f"{datastore} backups older than {retention_days[datastore]} days are deleted by the bucket's "
                            "lifecycle rule")]
        newest = max((n for n, t in listed.items() if n.startswith(datastore + "-") and t <= when and t >= oldest),
                     key=lambda n: listed[n], default=None)
        if newest != backup:
            return [problem(f"the newest backup at or before {to_time} is {newest}, not {backup}",
                            f"use --from {newest}" if newest else "no listed backup is that old")]
    return Plan(backup, datastore, taken, when)
