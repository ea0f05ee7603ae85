"""The pure middle of the pipeline: validated inputs -> output bytes per scope.

load (I/O) -> validate -> merge -> build -> dump here -> emit (I/O). Each tenant is
rendered from its own files plus the shared platform inputs, so tenants can be rendered
independently (and in parallel, and cached).
"""

from __future__ import annotations

from collections.abc import Callable

import jinja2

from render import build, context, emit, layout, routing, storage_classes, templates
from render.admission import params, policies
from render.argocd import tenant_apps
from render.load import PlatformInputs, Repo, TenantFiles, pinned_revision
from render.merge import Effective, merge_tenant
from render.monitoring import control_plane as monitoring_control_plane
from render.problems import ProblemsError
from render.validate import validate_repo


def effective(files: TenantFiles, shared: PlatformInputs) -> Effective:
    return merge_tenant(shared.platform, shared.extractors, files)


def render_tenant(files: TenantFiles, shared: PlatformInputs, env: jinja2.Environment) -> emit.Outputs:
    """All output scopes of one tenant: rendered/<name>/, argocd/tenants/<name>/ and
    control-plane/routing/<name>/ and control-plane/monitoring/<name>/."""
    eff = effective(files, shared)
    ctx = context.tenant_context(eff, shared.platform.data)
    objects = build.build_tenant(ctx, env, shared.template_names)
    objects = build.with_object(objects, params.configmap(files, shared), files.name)  # whatever the pin
    outputs = {layout.rendered_dir(files.name): {path: emit.dump(obj) for path, obj in objects.items()}}
    outputs.update(tenant_apps.build_tenant(files, eff, objects, shared.platform))
    outputs.update(routing.build_tenant(eff, shared.platform.data))
    outputs.update(monitoring_control_plane.build_tenant(ctx))
    return outputs


# Builders of the platform's own outputs (argocd/platform/): a function of the working
# tree's platform inputs only, never of a tenant, so rendering any subset of tenants (or
# one tenant, incrementally) leaves them correct. Everything of a tenant comes from
# render_tenant.
FleetBuilder = Callable[[Repo], emit.Outputs]
FLEET_BUILDERS: tuple[FleetBuilder, ...] = (tenant_apps.build_platform, policies.build, storage_classes.build,
                                             monitoring_control_plane.build_platform)


def render_repo(repo: Repo) -> emit.Outputs:
    """Validate, then render every tenant in `repo`. Raises ProblemsError on any problem."""
    problems = validate_repo(repo)
    if problems:
        raise ProblemsError(problems)
    envs: dict[str | None, jinja2.Environment] = {}  # one per platform revision
    outputs: emit.Outputs = {}
    for name in sorted(repo.tenants):
        files = repo.tenants[name]
        shared = repo.inputs_for(name)
        rev = pinned_revision(files)
        if rev not in envs:
            envs[rev] = templates.environment(shared.templates)
        outputs.update(render_tenant(files, shared, envs[rev]))
    for builder in FLEET_BUILDERS:
        outputs.update(builder(repo))
    return outputs
