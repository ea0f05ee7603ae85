"""registry/tombstones.yaml: what offboarded tenants held, never to be taken again.

A deleted tenant leaves things behind on purpose (its bucket is abandoned, not deleted;
its secret keys and vector collections stay until their retention ends), so a new tenant
of the same name, organization, bucket or prefix would inherit them. Each entry records
them; every tenant's claims (render/validate/fleet_rules.py) are checked against them.
Pure but for `load`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from render import clouds, layout, tenant_secrets
from render.load import Document, read_yaml
from render.problems import Problem, ProblemsError
from render.validate import fleet_rules
from render.validate.schemas import check_schema

FILE = layout.TOMBSTONES_FILE
HINT = "choose another name or organization id: a tombstoned one is never reused (docs/operations.md, offboarding)"
# Entry key -> the claim (render/validate/fleet_rules.py) it forbids, and whether it is a prefix.
CLAIMS = {"name": ("tenant name", False), "organization_id": ("organization id", False), "bucket": ("bucket", False),
          "secret_prefix": ("secret key prefix", True), "vector_prefix": ("vector collection prefix", True)}


def load(root: Path) -> Document:
    """registry/tombstones.yaml, or an empty list when the file does not exist yet."""
    if not (root / FILE).is_file():
        return Document(FILE, {"tombstones": []}, {})
    return read_yaml(root, FILE)


def entries(doc: Document) -> list[dict[str, Any]]:
    items = doc.data.get("tombstones") if isinstance(doc.data, dict) else None
    return [e for e in items if isinstance(e, dict)] if isinstance(items, list) else []


def names(doc: Document) -> set[str]:
    return {str(e.get("name")) for e in entries(doc)}


def entry(name: str, tenant: dict[str, Any], bucket_prefix: str, deleted_on: str, approved_by: str) -> dict[str, Any]:
    """The tombstone of tenant `name` (tenant.yaml `tenant`)."""
    return {"name": name, "organization_id": tenant["organization_id"], "bucket": layout.bucket_name(bucket_prefix, name),
            "secret_prefix": tenant_secrets.tenant_prefix(tenant["cloud"], name), "vector_prefix": layout.vector_prefix(name),
            "deleted_on": deleted_on, "approved_by": approved_by}


def tenant_claims(name: str, tenant: Document, platform: Document) -> list[fleet_rules.Claim]:
    """What tenant `name` takes: the fleet's claims plus its name and secret key prefix."""
    out = [*fleet_rules.claims(name, tenant, platform), ("tenant name", name, tenant, ("name",))]
    cloud = tenant.data.get("cloud") if isinstance(tenant.data, dict) else None
    if clouds.known(cloud):
        for c in clouds.CLOUDS:  # a key prefix is refused in every cloud's spelling
            out.append(("secret key prefix", tenant_secrets.tenant_prefix(c, name), tenant, ("name",)))
    return out


def reuse_problems(doc: Document, tenants: dict[str, Document], platform: Document, *,
                   at_tombstone: bool = False) -> list[Problem]:
    """A problem at each tenant line that takes what a tombstone holds (`at_tombstone`: at
    the tombstone's line instead, for a tenant that has no file yet)."""
    problems = check_schema(doc, "tombstones")
    if problems:
        return problems
    out = []
    for i, e in enumerate(entries(doc)):
        for key, (what, prefix) in CLAIMS.items():
            value = str(e[key])
            line, column = doc.mark(("tombstones", i, key))
            for name, tenant in sorted(tenants.items()):
                for claim, taken, where, path in tenant_claims(name, tenant, platform):
                    if claim != what or not (taken == value or (prefix and (taken.startswith(value) or value.startswith(taken)))):
                        continue
                    message = (f"{what} {taken!r} belonged to the offboarded tenant {e['name']} ({FILE}:{line}); "
                               "reusing it would inherit that tenant's data")
                    if at_tombstone:
                        out.append(Problem(FILE, line, column, f"tombstones.{i}.{key}", f"tenant {name}: {message}", HINT))
                    else:
                        out.append(where.problem(path, message, HINT, at_value=True))
    return sorted(set(out))


def problems(root: Path, tenants: dict[str, Document], platform: Document, *, at_tombstone: bool = False) -> list[Problem]:
    """For `dataplane validate` and `new-tenant`: the file's schema and every reuse."""
    try:
        doc = load(root)
    except ProblemsError as e:
        return e.problems
    return reuse_problems(doc, tenants, platform, at_tombstone=at_tombstone)
