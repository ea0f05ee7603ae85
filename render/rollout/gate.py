"""The health gate: from the ArgoCD status of every tenant moved so far, decide what
`dataplane rollout advance` does now. Pure: state, health and the time in; a decision out.

- any moved tenant Degraded: halt, naming it;
- a tenant of the current wave not Healthy and Synced (to a revision holding its move)
  once the gate's timeout has passed since the wave moved: halt, naming it;
- any moved tenant not Healthy and Synced yet: wait (and the soak starts over);
- all Healthy and Synced: soak; once they have been so for the wave's soak time, the
  next wave moves (or, after the last, the rollout is complete).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from render.rollout.argocd_api import AppStatus
from render.rollout.plan import minutes_text
from render.rollout.state import State

HALT, WAIT, SOAK, ADVANCE, COMPLETE = "halt", "wait", "soak", "advance", "complete"


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


def decide(state: State, health: dict[str, TenantHealth], now: datetime) -> Decision:
    current = state.waves[state.current]
    checked = [h for t in state.moved_tenants() if (h := health.get(t)) is not None]
    for h in sorted(checked, key=lambda h: h.tenant not in current.tenants):  # the current wave first
        app = h.degraded
        if app is not None:
            return Decision(HALT, f"tenant {h.tenant}: Application {app.name} is Degraded"
                                  + (f" ({app.message})" if app.message else ""), h.tenant)
    late = [h for h in checked if h.tenant in current.tenants and not h.ok]
    assert current.moved_at is not None
    if late and now - current.moved_at >= timedelta(minutes=state.timeout_minutes):
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
