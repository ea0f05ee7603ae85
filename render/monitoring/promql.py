"""PromQL selectors pinned to one tenant, so no dashboard or rule can read another's data.

Every metric a tenant's dashboards and alerts read goes through `Scope.sel`, which always
adds the tenant's matcher first: `namespace="tenant-<name>"` for series scraped inside the
tenant's namespace (Ray, exporters, kube-state-metrics, cAdvisor), `tenant="<name>"` for
the shared gateway's series. Pure string building; parsing is checked in tests.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

# Label the shared API gateway puts on its request metrics (see docs/operations.md).
GATEWAY_TENANT_LABEL = "tenant"


def quote(value: str) -> str:
    """A PromQL string literal (PromQL accepts Go/JSON double-quoted escapes)."""
    return json.dumps(value, ensure_ascii=False)


@dataclass(frozen=True)
class Scope:
    """The label that pins a selector to the tenant: namespace for in-namespace series."""

    label: str
    value: str

    def sel(self, metric: str, **matchers: str) -> str:
        """`metric{<pin>, k="v", ...}`; a value starting with '~' or '!' is a regex / negation."""
        parts = [f"{self.label}={quote(self.value)}"]
        for key, raw in matchers.items():
            op, value = _operator(raw)
            parts.append(f"{key}{op}{quote(value)}")
        return f"{metric}{{{','.join(parts)}}}"


def _operator(raw: str) -> tuple[str, str]:
    if raw.startswith("!~"):
        return "!~", raw[2:]
    if raw.startswith("~"):
        return "=~", raw[1:]
    if raw.startswith("!"):
        return "!=", raw[1:]
    return "=", raw


def namespace_scope(namespace: str) -> Scope:
    return Scope("namespace", namespace)


def gateway_scope(tenant: str) -> Scope:
    return Scope(GATEWAY_TENANT_LABEL, tenant)


def regex_alternatives(values: list[str]) -> str:
    """An anchored regex matching exactly these literal values (PromQL regexes are anchored)."""
    return "|".join(_regex_escape(v) for v in values)


def _regex_escape(value: str) -> str:
    return "".join("\\" + c if c in r".^$*+?()[]{}|\/" else c for c in value)
