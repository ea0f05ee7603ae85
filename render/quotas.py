"""Cloud quotas as inputs: what each tenant adds to its `cloud_account`, against the limits
registry/platform.yaml `cloud_accounts` states, so a full account is refused at validate
time, naming the account and the limit, not by the cloud's API in the middle of a sync.

What a tenant adds is its cloud's `quota_usage` (render/clouds/), counted from the same
values the templates render from; tests/system/test_quotas.py checks that it
equals what the tenant's rendered objects hold, for every example tenant and a generated fleet.
Pure: documents in, problems or numbers out.
"""

from __future__ import annotations

from typing import Any

from render import backup_storage, clouds, layout, migration, tenant_secrets
from render.clouds import CLOUDS
from render.load import Document
from render.problems import Problem

KEY = "cloud_accounts"


def _backup_identities(platform: dict[str, Any]) -> int:
    """The backup and restore identities (render/backup_storage.py ROLES), on a platform with backups."""
    return len(backup_storage.ROLES) if "backups" in platform else 0


def usage(t: dict[str, Any], platform: dict[str, Any]) -> dict[str, int]:
    """What one tenant (tenant.yaml data) adds to its cloud account, by quota: its cloud's
    count of the objects the templates render from the same values."""
    # Without the platform's shared_platform there is no source to grant: migration.check
    # reports the tenant (a problem with file and key), so this counts no such grant.
    migrating = migration.state_of(t) in migration.WRITES_PAUSED and "shared_platform" in platform
    own, source = tenant_secrets.secret_prefixes(t, platform, migrating)
    return clouds.get(t["cloud"]).quota_usage(t, platform, own, source, _backup_identities(platform))


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def limits(platform: dict[str, Any], cloud: str, account: str) -> dict[str, int]:
    """The account's limits: the cloud's, with the account's own entries over them."""
    entry = _mapping(_mapping(platform.get(KEY)).get(cloud))
    own = _mapping(_mapping(entry.get("accounts")).get(account))
    return {**_mapping(entry.get("limits")), **own}


def limit_key(platform: dict[str, Any], cloud: str, account: str, quota: str) -> str:
    """Where a limit is written: the account's own entry, else the cloud's."""
    own = _mapping(_mapping(_mapping(_mapping(platform.get(KEY)).get(cloud)).get("accounts")).get(account))
    where = f"{cloud}.accounts.{account}" if quota in own else f"{cloud}.limits"
    return f"{layout.PLATFORM_FILE} {KEY}.{where}.{quota}"


def registry_problems(platform: Document) -> list[Problem]:
    """The shapes the schema cannot state: clouds and quota names of render/clouds/, account
    ids in their cloud's format. (A limit below 1 is the schema's.)"""
    out = []
    for cloud, entry in sorted(_mapping(_mapping(platform.data).get(KEY)).items()):
        if cloud not in CLOUDS:
            out.append(platform.problem((KEY, cloud), f"unknown cloud {cloud!r}", f"clouds: {', '.join(sorted(CLOUDS))}"))
            continue
        spec = CLOUDS[cloud]
        known = sorted(q for q, _ in spec.quotas)
        limit_names = sorted(_mapping(_mapping(entry).get("limits")))
        if limit_names != known:
            out.append(platform.problem((KEY, cloud, "limits"), f"{cloud} limits name {', '.join(limit_names) or 'nothing'}",
                                        f"state exactly the quotas a {cloud} tenant uses: {', '.join(known)}"))
        for account, own in sorted(_mapping(_mapping(entry).get("accounts")).items()):
            if not spec.account.fullmatch(str(account)):
                out.append(platform.problem((KEY, cloud, "accounts", account),
                                            f"unknown account {account!r}: not a {spec.account_noun}", spec.account_hint))
            out += [platform.problem((KEY, cloud, "accounts", account, quota), f"{quota!r} is no {cloud} quota",
                                     f"{cloud} quotas: {', '.join(known)}")
                    for quota in sorted(_mapping(own)) if quota not in known]
    return out


def _tenant_data(doc: Document) -> dict[str, Any] | None:
    data = doc.data if isinstance(doc.data, dict) else {}
    ok = clouds.known(data.get("cloud")) and all(isinstance(data.get(k), str) for k in ("cloud_account", "name", "organization_id"))
    return data if ok else None


def totals(docs: list[Document], platform: dict[str, Any]) -> dict[tuple[str, str], dict[str, int]]:
    """(cloud, account) -> what its tenants use, by quota."""
    out: dict[tuple[str, str], dict[str, int]] = {}
    for doc in docs:
        if (t := _tenant_data(doc)) is not None:
            used = out.setdefault((t["cloud"], t["cloud_account"]), {})
            for quota, n in usage(t, platform).items():
                used[quota] = used.get(quota, 0) + n
    return out


def room(platform: dict[str, Any], cloud: str, account: str, used: dict[str, int], per_tenant: dict[str, int]) -> int:
    """How many more tenants like `per_tenant` the account holds."""
    lim = limits(platform, cloud, account)
    return min(((lim[q] - used.get(q, 0)) // n for q, n in per_tenant.items() if n and q in lim), default=0)


def with_room(platform: dict[str, Any], cloud: str, docs: list[Document], per_tenant: dict[str, int]) -> list[tuple[str, int]]:
    """The accounts registry/platform.yaml lists for `cloud`, with room for one more tenant,
    most room first: (account, tenants it still holds)."""
    return _with_room(platform, cloud, totals(docs, platform), per_tenant)


def listed(platform: dict[str, Any], cloud: str) -> list[str]:
    """The accounts registry/platform.yaml lists for `cloud`."""
    return sorted(str(a) for a in _mapping(_mapping(_mapping(platform.get(KEY)).get(cloud)).get("accounts")))


def _with_room(platform: dict[str, Any], cloud: str, used: dict[tuple[str, str], dict[str, int]],
               per_tenant: dict[str, int]) -> list[tuple[str, int]]:
    out = [(a, room(platform, cloud, a, used.get((cloud, a), {}), per_tenant)) for a in listed(platform, cloud)]
    return sorted(((a, n) for a, n in out if n > 0), key=lambda x: (-x[1], x[0]))


def fleet_problems(first: list[Document], then: list[Document], platform: Document) -> list[Problem]:
    """Every tenant that would take its account past a limit. Tenants count in order: `first`
    (the others), then `then` (the ones being validated), each group by name; the tenant whose
    share crosses a limit, and every one after it, is refused. Linear in the tenants."""
    p = _mapping(platform.data)
    ordered = [(doc, t, usage(t, p)) for doc in sorted(first, key=lambda d: d.file) + sorted(then, key=lambda d: d.file)
               if (t := _tenant_data(doc)) is not None]
    everyone: dict[tuple[str, str], dict[str, int]] = {}
    for _, t, use in ordered:
        acc = everyone.setdefault((t["cloud"], t["cloud_account"]), {})
        for quota, n in use.items():
            acc[quota] = acc.get(quota, 0) + n
    used: dict[tuple[str, str], dict[str, int]] = {}
    hints: dict[tuple[str, str, tuple[tuple[str, int], ...]], str] = {}
    out = []
    for doc, t, use in ordered:
        cloud, account = t["cloud"], t["cloud_account"]
        mine = used.setdefault((cloud, account), {})
        lim = limits(p, cloud, account)
        over = []
        for quota, n in sorted(use.items()):
            mine[quota] = mine.get(quota, 0) + n
            if quota in lim and mine[quota] > lim[quota]:
                over.append(f"{mine[quota]} {quota.replace('_', ' ')}, over its limit of {lim[quota]} "
                            f"({limit_key(p, cloud, account, quota)})")
        if over:  # one problem per tenant, naming every limit it crosses
            key = (cloud, account, tuple(sorted(use.items())))
            if key not in hints:
                hints[key] = _hint(p, cloud, account, _with_room(p, cloud, everyone, use))
            out.append(doc.problem(("cloud_account",), f"{CLOUDS[cloud].account_noun} {account} would hold "
                                   + "; and ".join(over), hints[key]))
    return out


def _hint(platform: dict[str, Any], cloud: str, account: str, candidates: list[tuple[str, int]]) -> str:
    others = [(a, n) for a, n in candidates if a != account]
    move = (f"move the tenant to {others[0][0]} (room for {others[0][1]} more)" if others else
            f"add a new {CLOUDS[cloud].account_noun} under {layout.PLATFORM_FILE} {KEY}.{cloud}.accounts")
    return f"{move}, or raise the quota with the cloud and state the new limit under {KEY}.{cloud}.accounts.{account}"
