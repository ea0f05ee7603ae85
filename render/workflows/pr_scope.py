"""What a pull request may change, by owner (registry/ownership.yaml). Pure: paths in,
findings out; `check-scope --base` and the merge gate read the same rules.

Rules, by name (docs/security.md cites them):

- `generated-by-automation`: rendered/, argocd/, control-plane/, the automation-owned
  files (every tenant's release.yaml) and rollout/ are written by the platform's
  automation on main; no pull request carries them, whoever opens it.
- `one-tenant`: a pull request that changes a tenant-owned file changes those of one
  tenant only...
- `tenant-files-only`: ...and nothing platform-owned beside them (the platform reviews
  its own changes in pull requests of their own).
- `plain-path`: a path with a control character, a backslash or a non-NFC form is
  refused before it is compared with anything.
"""

from __future__ import annotations

from dataclasses import dataclass

from render import layout, ownership
from render.workflows.scope import clean_path

GENERATED_RULE, ONE_TENANT, TENANT_ONLY, PLAIN_PATH = (
    "generated-by-automation", "one-tenant", "tenant-files-only", "plain-path")


@dataclass(frozen=True, order=True)
class Finding:
    rule: str
    path: str
    message: str

    def line(self) -> str:
        return f"refused by rule {self.rule}: {self.path!r} {self.message}"


def _owners(paths: list[str], own: ownership.Ownership, added: frozenset[str] = frozenset(),
            removed: frozenset[str] = frozenset()) -> tuple[list[Finding], dict[str, ownership.Owner]]:
    findings, owners = [], {}
    for path in sorted(set(paths)):
        if not clean_path(path):
            findings.append(Finding(PLAIN_PATH, path, "is not a plain repository path"))
            continue
        owner = ownership.owner_of(path, own)
        if owner.kind in (ownership.AUTOMATION, ownership.TENANT) and owner.tenant is not None and \
                layout.tenant_file(owner.tenant, layout.TENANT_FILE) in added:
            owner = ownership.Owner(ownership.PLATFORM)  # onboarding: the platform writes a new tenant's first files
        if owner.kind in (ownership.AUTOMATION, ownership.TENANT) and owner.tenant is not None and \
                path in removed and layout.tenant_file(owner.tenant, layout.TENANT_FILE) in removed:
            owner = ownership.Owner(ownership.PLATFORM)  # offboarding: the platform removes a tenant's last files
        if owner.kind in (ownership.GENERATED, ownership.AUTOMATION):
            findings.append(Finding(GENERATED_RULE, path, "is written by the platform's automation on main, "
                                                          "never taken from a pull request"))
        owners[path] = owner
    return findings, owners


def _tenant_rules(owners: dict[str, ownership.Owner], *, require_tenant: bool) -> tuple[str | None, list[Finding]]:
    tenants = sorted({o.tenant for o in owners.values() if o.kind == ownership.TENANT and o.tenant})
    if not tenants and not require_tenant:
        return None, []
    findings = []
    if len(tenants) > 1:
        findings += [Finding(ONE_TENANT, p, f"belongs to tenant {o.tenant}; this pull request changes the files of "
                                            f"{', '.join(tenants)}") for p, o in owners.items() if o.tenant != tenants[0]
                     and o.kind == ownership.TENANT]
    findings += [Finding(TENANT_ONLY, p, "is platform-owned; a tenant's pull request changes only its tenant-owned "
                                         "files") for p, o in owners.items() if o.kind == ownership.PLATFORM]
    if not tenants:
        findings.append(Finding(TENANT_ONLY, "", "no tenant-owned file changed: not a tenant's pull request"))
    return (tenants[0] if len(tenants) == 1 else None), findings


def pull_request_findings(paths: list[str], own: ownership.Ownership, added: frozenset[str] = frozenset(),
                          removed: frozenset[str] = frozenset()) -> list[Finding]:
    """What `check-scope --base` refuses in any pull request: generated or automation-owned
    files (but the release.yaml of a tenant the pull request adds, or the files of one it
    removes: `dataplane offboard --delete`), and a tenant's files mixed with another
    tenant's or the platform's."""
    findings, owners = _owners(paths, own, added, removed)
    return sorted(findings + _tenant_rules(owners, require_tenant=False)[1])


def tenant_pull_request(paths: list[str], own: ownership.Ownership) -> tuple[str | None, list[Finding]]:
    """The merge gate's scope: (the one tenant whose tenant-owned files are all it changes,
    findings). A tenant is returned only when there are no findings."""
    findings, owners = _owners(paths, own)
    tenant, more = _tenant_rules(owners, require_tenant=True)
    findings = sorted(findings + more)
    return (None if findings else tenant), findings
