"""Does the pull-request gate agree with the real API server? One change of the inputs (a
tenant's overrides.yaml, a registry value) is judged twice: by the PR checks
(`dataplane validate` and `validate --against REF`, render/gate/) and by the API server,
which receives every object the change alters, in ArgoCD's order, by server-side apply with
dryRun=All over the output of REF already on the cluster. Whatever the API server refuses,
the gate must refuse first; and an immutable field the gate refuses on a built-in kind
must be one the API server refuses too.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from render import layout
from render.cluster import api, upgrade
from render.gate import against, immutable
from render.gate.rules import RULES
from render.load import PlatformInputs, Repo, TenantFiles, parse_yaml
from render.pipeline import render_repo
from render.problems import Problem, ProblemsError

IMMUTABLE_DATA_KINDS = (("", "ConfigMap"), ("", "Secret"))  # with `immutable: true` (render/gate/immutable.py)


@dataclass
class Verdict:
    refused_by_checks: list[Problem] = field(default_factory=list)  # validate or validate --against
    refused_by_api: list[upgrade.Refusal] = field(default_factory=list)
    sent: int = 0  # objects the change alters, each sent to the API server
    immutable: dict[str, list[str]] = field(default_factory=dict)  # file -> fields the gate calls immutable

    @property
    def gate_missed(self) -> list[str]:
        """What the API server refused although every PR check passed: a gate defect."""
        return [str(r) for r in self.refused_by_api] if not self.refused_by_checks else []

    def gate_over_strict(self) -> list[str]:
        """Immutable fields of built-in kinds the gate refused and the API server accepted."""
        refused = {r.item.path for r in self.refused_by_api}
        return [f"{path}: {', '.join(fields)}" for path, fields in sorted(self.immutable.items()) if path not in refused]

    def summary(self) -> str:
        checks = "; ".join(f"{p.file} {p.pointer}: {p.message}" for p in self.refused_by_checks[:3])
        api_side = "; ".join(str(r) for r in self.refused_by_api[:3])
        return (f"PR checks: {'refused: ' + checks if checks else 'passed'}; API server ({self.sent} objects): "
                f"{'refused: ' + api_side if api_side else 'accepted'}")


def api_rule(kind: tuple[str, str]) -> bool:
    """Rules of the gate's table that the API server itself enforces (not a cloud controller's)."""
    rule = RULES.get(kind)
    return rule is not None and rule.source.startswith("Validate")


def judge(root: Path, repo: Repo, base_ref: str, base: upgrade.Base, admin: api.Api, deploy: api.Api) -> Verdict:
    """The PR checks' and the API server's verdicts on moving from `base` (REF's committed
    output, on the cluster) to what `repo` renders."""
    verdict = Verdict()
    try:
        outputs = render_repo(repo)
    except ProblemsError as e:  # `validate` refuses the inputs: the pull request never merges
        verdict.refused_by_checks = list(e.problems)
        return verdict
    head, altered = upgrade.overlay(base, outputs)
    if not altered:
        return verdict  # nothing reaches the cluster
    # The gate on the files that differ (equal bytes hold no change): the altered ones and
    # those the render no longer writes.
    differ = altered | {p for p in base.files if p not in head}
    verdict.refused_by_checks = against.check(
        root, repo, base_ref, rendered={"": {p: raw for files in outputs.values() for p, raw in files.items() if p in differ}},
        base_files={p: raw for p, raw in base.files.items() if p in differ})
    items = upgrade.in_order(head, altered)
    upgrade.namespaces_of(admin, head)  # made by the install, not a sync
    verdict.sent = len(items)
    verdict.refused_by_api = upgrade.sync(deploy, items, dry_run=True)
    for path in sorted(altered & base.tree.keys()):
        if len(base.tree[path]) != 1 or len(head[path]) != 1:
            continue
        old, new = base.tree[path][0], head[path][0]
        kind = immutable.group_kind(new)
        fields = immutable.changed_fields(kind, old, new)
        builtin = api_rule(kind) or (kind in IMMUTABLE_DATA_KINDS and old.get("immutable") is True)
        if fields and builtin:
            verdict.immutable[path] = fields
    return verdict


def _document(data: Any, rel: str) -> Any:
    return parse_yaml(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), rel)


def with_overrides(repo: Repo, tenant: str, overrides: dict[str, Any]) -> Repo:
    """`repo` with `tenant`'s overrides.yaml replaced (as a pull request would)."""
    files = repo.tenants[tenant]
    changed = TenantFiles(tenant, files.tenant, _document(overrides, layout.tenant_file(tenant, layout.OVERRIDES_FILE)),
                          files.release)
    return replace(repo, tenants={**repo.tenants, tenant: changed})


def with_registry(repo: Repo, file: str, data: Any) -> Repo:
    """`repo` with registry/platform.yaml or registry/extractors.yaml replaced."""
    doc = _document(data, file)
    current: PlatformInputs = repo.current
    if file == layout.PLATFORM_FILE:
        current = replace(current, platform=doc)
    elif file == layout.EXTRACTORS_FILE:
        current = replace(current, extractors=doc)
    else:
        raise ValueError(f"not a registry file a platform change edits: {file}")
    return replace(repo, current=current)
