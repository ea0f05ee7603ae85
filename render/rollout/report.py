"""What a platform engineer reads about a rollout: terminal lines, the job summary and a
GitHub annotation when it halts. Pure, except `annotate` (it prints)."""

from __future__ import annotations

import os

from render.rollout.plan import minutes_text
from render.rollout.state import COMPLETE, HALTED, ROLLING, State, WaveState, timestamp

STATUS_CONTEXT = "dataplane/rollout"


def state_lines(state: State) -> list[str]:
    lines = [f"rollout of platform {state.label()} (image {state.image}): {state.status}, started {timestamp(state.started)}, "
             f"gate {minutes_text(state.timeout_minutes)}"]
    if state.reason:
        lines.append(f"  reason: {state.reason}")
    if state.supersedes:
        lines.append(f"  supersedes: {state.supersedes}")
    for i, w in enumerate(state.waves):
        lines.append(f"  {i + 1}. {w.name}: {_wave_status(w)}; soak {minutes_text(w.soak_minutes)}; "
                     f"{', '.join(w.tenants) or 'no tenant'}")
    lines += [f"  not moved: {name}: {why}" for name, why in sorted(state.held.items())]
    return lines


def _wave_status(w: WaveState) -> str:
    if w.moved_at is None:
        return "waiting"
    if w.rolled_back:
        return f"rolled back (had moved {timestamp(w.moved_at)})"
    return f"moved {timestamp(w.moved_at)}" + (f", healthy since {timestamp(w.healthy_since)}" if w.healthy_since else "")


def state_markdown(state: State | None, headline: str, commits: list[str]) -> str:
    lines = [f"## {headline}", ""]
    if state is not None:
        lines += ["```", *state_lines(state), "```", ""]
    lines.append(f"Commits: {', '.join(c[:12] for c in commits) or 'none'}.")
    if state is not None and state.status == HALTED:
        lines += ["", "No further wave moves. Roll the wave back with the rollout workflow (action `rollback`, or "
                      "`dataplane rollout rollback`), or fix forward with a new release, which supersedes this rollout."]
    return "\n".join(lines) + "\n"


def annotate(message: str) -> None:
    """An error annotation on the workflow run, under GitHub Actions."""
    if os.environ.get("GITHUB_ACTIONS") == "true":
        text = message.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
        print(f"::error title=Rollout halted::{text}")


def commit_state(state: State) -> str:
    """The commit status of a rollout: pending while it rolls, success once complete."""
    return {ROLLING: "pending", COMPLETE: "success", HALTED: "failure"}.get(state.status, "error")
