"""The pure middle of the pipeline: validated inputs -> output bytes per scope.

load (I/O) -> validate -> merge -> build -> dump here -> emit (I/O). Each tenant is
rendered from its own files plus the shared platform inputs, so tenants can be rendered
independently (and in parallel, and cached).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import jinja2

from render import admission, argocd, build, context, emit, layout, routing, templates
from render.load import Document, Repo, TenantFiles, pinned_revision
from render.merge import Effective, merge_tenant
from render.problems import ProblemsError
from render.validate import validate_repo


@dataclass(frozen=True)
class Shared:
    """Inputs every tenant renders from: registry, platform defaults and templates."""

    platform: Document
    extractors: Document
    templates: dict[str, str]

    @property
    def template_names(self) -> list[str]:
        return sorted(self.templates)


def shared_of(repo: Repo) -> Shared:
    """The working tree's platform inputs (tenants that pin no platform_revision)."""
    return Shared(repo.platform, repo.extractors, repo.templates)


def shared_for(repo: Repo, tenant_name: str) -> Shared:
    """The platform inputs one tenant renders from: those of its pinned revision, if any."""
    rev = pinned_revision(repo.tenants[tenant_name])
    if rev is None:
        return shared_of(repo)
    pinned = repo.revisions[rev]
    return Shared(pinned.platform, pinned.extractors, pinned.templates)


def effective(files: TenantFiles, shared: Shared) -> Effective:
    return merge_tenant(shared.platform, shared.extractors, files)


def render_tenant(files: TenantFiles, shared: Shared, env: jinja2.Environment) -> emit.Outputs:
    """All output scopes of one tenant: rendered/<name>/, argocd/tenants/<name>/ and
    control-plane/routing/<name>/."""
    eff = effective(files, shared)
    objects = build.build_tenant(context.tenant_context(eff, shared.platform.data), env, shared.template_names)
    outputs = {layout.rendered_dir(files.name): {path: emit.dump(obj) for path, obj in objects.items()}}
    outputs.update(argocd.build_tenant(files, eff, objects, shared.platform))
    outputs.update(routing.build_tenant(eff, shared.platform.data))
    return outputs


# Builders of the platform's own outputs (argocd/platform/): a function of the working
# tree's platform inputs only, never of a tenant, so rendering any subset of tenants (or
# one tenant, incrementally) leaves them correct. Everything of a tenant comes from
# render_tenant.
FleetBuilder = Callable[[Repo], emit.Outputs]
FLEET_BUILDERS: tuple[FleetBuilder, ...] = (argocd.build_platform, admission.build)


def render_repo(repo: Repo) -> emit.Outputs:
    """Validate, then render every tenant in `repo`. Raises ProblemsError on any problem."""
    problems = validate_repo(repo)
    if problems:
        raise ProblemsError(problems)
    envs: dict[str | None, jinja2.Environment] = {}  # one per platform revision
    outputs: emit.Outputs = {}
    for name in sorted(repo.tenants):
        files = repo.tenants[name]
        shared = shared_for(repo, name)
        rev = pinned_revision(files)
        if rev not in envs:
            envs[rev] = templates.environment(shared.templates)
        outputs.update(render_tenant(files, shared, envs[rev]))
    for builder in FLEET_BUILDERS:
        outputs.update(builder(repo))
    return outputs
