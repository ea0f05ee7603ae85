"""The pull-request comment: per tenant, what the change does, then the rendered diff.

Pure: the rendered files of both sides and each tenant's effective configuration in,
markdown out. One comment per pull request is kept up to date; MARKER finds it again.

Order: changes to platform-owned files first (they need a platform reviewer), then per
tenant every effective value that changes and its footprint, then the diff. A changed
input is always mentioned, even when no effective value or rendered file changes.

Each tenant's section is the concatenation of SECTION_BUILDERS' lines, in order: to add
a section (a footprint or cost change, say), append a builder to that tuple.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from render import footprint, layout, pipeline, placement
from render.load import PlatformInputs
from render.merge import Effective
from render.rollout.schedule import Schedule
from render.workflows.change_summary import describe

MARKER = "<!-- dataplane:pr-report -->"
MAX_COMMENT = 60_000  # GitHub refuses comments over 65,536 characters
PLATFORM_HEADING = "### Platform-owned changes: need platform review"
NO_PLATFORM_REVIEW = "No platform-owned file changes: no platform review needed."


@dataclass(frozen=True)
class TenantChange:
    """One tenant on both sides of a pull request (None: absent on that side)."""

    name: str
    before: Effective | None
    after: Effective | None
    before_shared: PlatformInputs | None
    after_shared: PlatformInputs | None
    files: list[str] = field(default_factory=list)  # rendered paths that change
    later: str = ""  # when the pull request's platform change reaches the tenant (`when`)
    prices: dict[str, Any] | None = None  # registry/prices.yaml of the head, for the footprint section
    inputs: list[str] = field(default_factory=list)  # the tenant's input files that change

    def shown(self) -> bool:
        return bool(self.files or self.later or self.inputs or describe(self.before, self.after).tenant
                    or describe(self.before, self.after).platform)


SectionBuilder = Callable[[TenantChange], list[str]]


def plain_words(change: TenantChange) -> list[str]:
    """Every effective value the tenant sets or receives that changes, before -> after."""
    found = describe(change.before, change.after)
    lines = [f"- {line}" for line in found.tenant]
    if not lines and not found.platform:
        if change.inputs:
            lines.append(f"- {', '.join(f'`{p}`' for p in change.inputs)} change(s), but no effective value "
                         "does (comments, order or spelling of the same values).")
        if change.files:
            lines.append(f"- {len(change.files)} rendered file(s) change with every configuration value unchanged: "
                         "the change comes from the platform's templates or the engine.")
    if change.later:
        lines.append(f"- {change.later}")
    return lines


def when(name: str, plan: Schedule) -> str:
    """When a platform change merged to main reaches `name` (it pins a release: never at merge)."""
    if name in plan.held:
        return f"Held: {held_words(name, plan.held[name])}."
    i = plan.wave_of(name)
    if i is None:
        return "Takes this platform change once it is in a platform release it is moved to."
    if not plan.planned:
        return "Moves later: `dataplane platform-update` on merge moves every auto_deploy tenant to it."
    wave = plan.waves[i]
    if i == 0:
        return f"Moves later: wave {wave.name}, moved by `dataplane platform-update` on merge."
    return (f"Moves later: wave {wave.name} ({i + 1} of {len(plan.waves)}), moved by `dataplane rollout advance` "
            f"once the waves before it are Healthy and Synced for their soak time.")


def held_words(name: str, reason: str) -> str:
    """Why a tenant is in no wave, and what moves it."""
    if reason.startswith("runs its fork image"):
        return (f"{reason}: rebase the fork, `dataplane fork-deploy`, then `dataplane promote {name} --keep-image` "
                "moves it")
    return f"{reason}: only `dataplane promote {name}` moves it, in a pull request of its own"


def schedule_notes(now: list[str], plan: Schedule) -> list[str]:
    """The platform section's lines on a platform change: who moves in this pull request,
    who later and in which wave, who is held."""
    lines = [f"- Moves now, in this pull request: {', '.join(now)} (their own files or release change)." if now else
             "- Moves now, in this pull request: no tenant. Every tenant renders from the platform release it pins, "
             "so merging this changes no tenant's output until a release moves it."]
    if plan.waves and not plan.planned:
        lines.append(f"- Moves later: `dataplane platform-update` on merge moves {', '.join(plan.waves[0].tenants)} "
                     "at once (no rollout plan).")
    elif plan.waves:
        first, rest = plan.waves[0], plan.waves[1:]
        lines.append(f"- Moves later, by wave ({layout.ROLLOUT_PLAN_FILE}): {first.name} ({', '.join(first.tenants)}) "
                     "by `dataplane platform-update` on merge"
                     + ("; then " + ", ".join(f"{w.name} ({', '.join(w.tenants)})" for w in rest)
                        + " by `dataplane rollout advance`, each once the waves before it soak Healthy and Synced"
                        if rest else "") + ".")
    if plan.held:
        lines.append("- Held: " + "; ".join(f"{n} ({held_words(n, r)})" for n, r in sorted(plan.held.items())) + ".")
    return lines


def platform_owned(change: TenantChange) -> list[str]:
    """Changes to files only the platform may change (tenant.yaml, release.yaml) and to routing."""
    lines = describe(change.before, change.after).platform
    routing = [p for p in change.files if layout.is_inside(p, layout.routing_dir(change.name))]
    if routing:
        lines.append(f"The control plane's routing changes ({', '.join(f'`{p}`' for p in routing)}).")
    return [f"- **{change.name}**: {line}" for line in lines]


def footprint_change(change: TenantChange) -> list[str]:
    """The compute and cost the change frees or adds (always-on and ceiling), when it does."""
    if change.prices is None:
        return []

    def of(eff: Effective | None, shared: PlatformInputs | None) -> footprint.Footprint | None:
        if eff is None or shared is None:
            return None
        ctx, pod_list = pipeline.pod_list(eff, shared)
        return footprint.compute(footprint.Tenant.of(ctx), pod_list, eff.values["extractors"], change.prices or {})

    before, after = of(change.before, change.before_shared), of(change.after, change.after_shared)
    if before and after and (before.always_on, before.ceiling) == (after.always_on, after.ceiling):
        return []
    return [""] + footprint.footprint_change_markdown(before, after).splitlines()


def reach_change(change: TenantChange) -> list[str]:
    """Extractors whose reachable maximum (render/placement.py) the change lowers or raises."""
    if change.before is None or change.after is None:
        return []
    before = {r.extractor: r for r in placement.place(change.before.values).extractors}
    lines = []
    for r in placement.place(change.after.values).extractors:
        old = before.get(r.extractor)
        if old is None or old.reachable == r.reachable:
            continue
        verb = "lowers" if r.reachable < old.reachable else "raises"
        tail = f" (max_replicas {r.max_replicas}; its group {r.group} is full)" if r.reachable < r.max_replicas else ""
        lines.append(f"- This change {verb} {r.name}'s reachable maximum from {old.reachable} to {r.reachable}{tail}.")
    return lines


SECTION_BUILDERS: tuple[SectionBuilder, ...] = (plain_words, reach_change, footprint_change)


def tenant_of(path: str) -> str | None:
    """The tenant whose output folder (layout.tenant_scopes) holds `path`, if any."""
    for name in PurePosixPath(path).parts[1:-1]:
        if any(layout.is_inside(path, scope) for scope in layout.tenant_scopes(name)):
            return name
    return None


def changed_files(before: dict[str, bytes], after: dict[str, bytes]) -> list[str]:
    return sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))


def unified_diff(before: dict[str, bytes], after: dict[str, bytes], paths: list[str]) -> str:
    out: list[str] = []
    for path in paths:
        a = before.get(path, b"").decode("utf-8", "replace").splitlines(keepends=True)
        b = after.get(path, b"").decode("utf-8", "replace").splitlines(keepends=True)
        out += difflib.unified_diff(a, b, f"a/{path}" if path in before else "/dev/null",
                                    f"b/{path}" if path in after else "/dev/null")
        if out and not out[-1].endswith("\n"):
            out[-1] += "\n"
    return "".join(out)


def comment(changes: list[TenantChange], before: dict[str, bytes], after: dict[str, bytes],
            notes: list[str] | None = None, limit: int = MAX_COMMENT) -> str:
    """The whole comment body: header, platform-owned changes, a section per changed tenant, the diff.
    `notes` are platform-wide changes (base/, registry/, platform output) for the platform section."""
    paths = changed_files(before, after)
    lines = [MARKER, "## dataplane: what this pull request changes"]
    platform = (notes or []) + [line for c in changes for line in platform_owned(c)]
    if platform:
        lines += ["", PLATFORM_HEADING, ""] + platform
    else:
        lines += ["", NO_PLATFORM_REVIEW]
    shown = [c for c in changes if c.shown()]
    if not shown and not platform:
        lines += ["", "No input, effective value or rendered file changes."]
    for change in shown:
        body = [line for builder in SECTION_BUILDERS for line in builder(change)]
        if not body:
            continue  # its only changes are platform-owned, listed above
        lines += ["", f"### {change.name}", ""] + body
    head = "\n".join(lines) + "\n"
    if not paths:
        return head
    diff = unified_diff(before, after, paths).replace("```", "`\u200b``")
    opening = f"\n<details><summary>Rendered diff: {len(paths)} file(s)</summary>\n\n```diff\n"
    closing = "```\n\n</details>\n"
    room = limit - len(head) - len(opening) - len(closing) - 200
    if len(diff) > room:
        cut = diff[: max(room, 0)].rsplit("\n", 1)[0] + "\n"
        diff = cut + f"... diff truncated ({len(diff) - len(cut)} more characters); run `dataplane render` locally.\n"
    return head + opening + diff + closing
