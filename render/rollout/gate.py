"""The health gate: from the ArgoCD status of every tenant moved so far, decide what
`dataplane rollout advance` does now. Pure: state, health and the time in; a decision out.

- any moved tenant Degraded: halt, naming it; unless only what the tenant alone controls is
  Degraded (one of its own Serve applications, which its overrides, its fork or its Ray
  Jobs can break: `tenant_breakable`). Then, in an earlier wave, that tenant alone is held
  (its own promotion stops; the fleet goes on); in the current wave the wave waits for it
  until the gate's timeout, then holds it, unless every tenant of the wave is Degraded
  (then the release is the common cause: halt). One tenant delays the fleet by one wave
  at most;
- a tenant of the current wave not Healthy and Synced (to a revision holding its move)
  once the gate's timeout has passed since the wave moved: halt, naming it;
- any moved tenant not Healthy and Synced yet: wait (and the soak starts over);
- all Healthy and Synced: soak; once they have been so for the wave's soak time, the
  next wave moves (or, after the last, the rollout is complete).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from render import layout
from render.rollout.argocd_api import AppStatus
from render.rollout.plan import minutes_text
from render.rollout.state import State

HALT, WAIT, SOAK, ADVANCE, COMPLETE, HOLD = "halt", "wait", "soak", "advance", "complete", "hold"
# What render/argocd/lua/rayservice.lua reports for a failed Serve application of the tenant.
OWN_SERVE_FAILURE = re.compile(r"(active|pending) Serve application \S+ is (DEPLOY_FAILED|UNHEALTHY)\b.*")


@dataclass(frozen=True)
class TenantHealth:
    tenant: str
    apps: tuple[AppStatus, ...]
    at_wave: bool  # every app's synced revision holds the commit that moved the tenant

    @property
    def ok(self) -> bool:
        return self.at_wave and all(a.ok for a in self.apps)

    @property
    def degraded(self) -> AppStatus | None:
        return next((a for a in self.apps if a.health == "Degraded"), None)

    def describe(self) -> str:
        bad = [a for a in self.apps if not a.ok]
        parts = [f"Application {a.name} is {a.health} and {a.sync}" + (f" ({a.message})" if a.message else "")
                 for a in bad]
        if not bad and not self.at_wave:
            parts.append("ArgoCD has not synced the commit that moved it yet")
        return "; ".join(parts)


@dataclass(frozen=True)
class Decision:
    kind: str
    message: str
    tenant: str = ""


def tenant_breakable(h: TenantHealth) -> bool:
    """Degraded only by what the tenant alone controls: its workloads Application reports one
    of its own Serve applications failed, and nothing else of it is Degraded."""
    bad = [a for a in h.apps if a.health == "Degraded"]
    return len(bad) == 1 and bad[0].name == layout.namespace(h.tenant) and bool(OWN_SERVE_FAILURE.fullmatch(bad[0].message))


def decide(state: State, health: dict[str, TenantHealth], now: datetime) -> Decision:
    current = state.waves[state.current]
    checked = [h for t in state.moved_tenants() if t not in state.held and (h := health.get(t)) is not None]
    assert current.moved_at is not None
    timed_out = now - current.moved_at >= timedelta(minutes=state.timeout_minutes)
    mine = [h for h in checked if h.tenant in current.tenants]
    for h in sorted(checked, key=lambda h: h.tenant not in current.tenants):  # the current wave first
        app = h.degraded
        if app is None:
            continue
        said = f"tenant {h.tenant}: Application {app.name} is Degraded" + (f" ({app.message})" if app.message else "")
        if not tenant_breakable(h) or (timed_out and h in mine and all(m.degraded for m in mine)):
            return Decision(HALT, said, h.tenant)
        if h not in mine or timed_out:
            return Decision(HOLD, f"{said}: only its own Serve application, so only its promotion stops", h.tenant)
    late = [h for h in mine if not h.ok]
    if late and timed_out:
        h = late[0]
        return Decision(HALT, f"tenant {h.tenant}: not Healthy and Synced within {minutes_text(state.timeout_minutes)} "
                              f"of wave {current.name}: {h.describe()}", h.tenant)
    waiting = [h for h in checked if not h.ok]
    if waiting:
        return Decision(WAIT, "waiting for " + "; ".join(f"{h.tenant}: {h.describe()}" for h in waiting))
    since = current.healthy_since or now
    left = since + timedelta(minutes=current.soak_minutes) - now
    if left > timedelta(0):
        return Decision(SOAK, f"wave {current.name} is Healthy and Synced; soaking, "
                              f"{minutes_text(int(left.total_seconds() + 59) // 60)} left")
    if state.current + 1 < len(state.waves):
        return Decision(ADVANCE, f"wave {current.name} soaked {minutes_text(current.soak_minutes)}: "
                                 f"moving wave {state.waves[state.current + 1].name}")
    return Decision(COMPLETE, f"wave {current.name} soaked {minutes_text(current.soak_minutes)}: the rollout is complete")
