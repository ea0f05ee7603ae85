"""docs/operations.md states what is rendered: each datastore's schedule and retention, the
RPO (the longest gap between two runs of the committed CronJob's schedule), the lock period."""

from __future__ import annotations

import re

import yaml

from render import backup_storage, cron
from tests.support import ROOT

DOC = (ROOT / "docs/operations.md").read_text()
PLATFORM = yaml.safe_load((ROOT / "registry/platform.yaml").read_text())
NAMES = {"mongodb": "MongoDB", "redis": "Redis"}


def _section(title: str) -> str:
    start = DOC.index(f"\n{title}\n")
    end = DOC.index("\n#", start + len(title) + 2)
    return DOC[start:end]


def _committed_schedules() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for path in sorted((ROOT / "rendered").glob("*/cronjob-backup-*.yaml")):
        cronjob = next(d for d in yaml.safe_load_all(path.read_text()) if d)
        out.setdefault(cronjob["metadata"]["name"].removeprefix("backup-"), set()).add(cronjob["spec"]["schedule"])
    return out


def test_the_schedule_table_is_the_platforms() -> None:
    rows = {m[1].split(" (")[0]: (m[2], m[3]) for m in
            re.finditer(r"^\| (MongoDB[^|]*|Redis) \| [^|]+ \| `([^`]+)` \| (\d+) days \|", _section("## Backups"), re.M)}
    assert rows == {NAMES[ds]: (b["schedule"], str(b["retention_days"])) for ds, b in PLATFORM["backups"].items()}


def test_the_stated_rpo_is_the_rendered_schedules_longest_gap() -> None:
    schedules = _committed_schedules()
    assert set(schedules) == set(NAMES)
    rpo = {m[1]: int(m[2]) for m in re.finditer(r"^\| (MongoDB|Redis) \| up to (\d+) h", _section("### RPO and RTO"), re.M)}
    for ds, found in schedules.items():
        assert found == {PLATFORM["backups"][ds]["schedule"]}  # every tenant renders the platform's schedule
        (schedule,) = found
        assert rpo[NAMES[ds]] * 3600 == cron.longest_gap_s(schedule), (ds, schedule)


def test_the_stated_lock_period_is_the_rendered_one() -> None:
    days = backup_storage.lock_days(PLATFORM, list(PLATFORM["backups"]))
    assert f"the shortest `retention_days` ({days} days)" in " ".join(DOC.split())
    bucket = yaml.safe_load((ROOT / "rendered/acme/storagebucket-dp-data-acme-backups.yaml").read_text().split("---", 1)[1])
    assert bucket["spec"]["retentionPolicy"] == {"retentionPeriod": days * 86400, "isLocked": True}
