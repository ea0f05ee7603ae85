"""The pure middle of the pipeline: validated inputs -> output bytes per scope.

load (I/O) -> validate -> merge -> build -> dump here -> emit (I/O). Each tenant is
rendered from its own files plus the shared platform inputs, so tenants can be rendered
independently (and in parallel, and cached).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import jinja2
import yaml

from render import build, context, emit, entries, layout, pods, routing, storage_classes, templates
from render.admission import params, policies
from render.argocd import tenant_apps
from render.context_types import TenantContext
from render.load import PlatformInputs, Repo, TenantFiles, pinned_revision
from render.merge import Effective, merge_tenant
from render.monitoring import control_plane as monitoring_control_plane
from render.move import apps as move_apps
from render.move import record as move_record
from render.move import target as move_target
from render.problems import Problem, ProblemsError
from render.validate import effective_rules, validate_repo


def effective(files: TenantFiles, shared: PlatformInputs) -> Effective:
    return merge_tenant(shared.platform, shared.extractors, files)


def _placement(files: TenantFiles, shared: PlatformInputs, env: jinja2.Environment,
               tenant: dict[str, Any], *, check: bool = False) -> tuple[Effective, TenantContext, dict[str, dict[str, Any]]]:
    """The effective values, template context and objects of one placement of the tenant
    (its tenant.yaml data as given: a moving tenant renders two, render/move/target.py).
    `check`: also the rules over the built objects (the contract); their problems raise."""
    files = replace(files, tenant=replace(files.tenant, data=tenant))
    eff = effective(files, shared)
    ctx = _context(eff, shared)
    objects = build.build_tenant(ctx, env, shared.templates_for(ctx["cloud"]))
    if check:
        problems = effective_rules.contract_rules(files, shared.platform, shared.extractors, pods.of_objects(objects.values()))
        if problems:
            raise ProblemsError(problems)
    return eff, ctx, build.with_object(objects, params.configmap(files, shared), files.name)  # whatever the pin


def _context(eff: Effective, shared: PlatformInputs) -> TenantContext:
    try:
        return context.tenant_context(eff, shared.platform.data, shared.releases.data)
    except entries.Missing as e:  # a key the schema leaves optional, which the build reads
        raise ProblemsError([e.problem(shared.platform)]) from None


def built(files: TenantFiles, shared: PlatformInputs,
          env: jinja2.Environment | None = None) -> tuple[Effective, TenantContext, dict[str, dict[str, Any]]]:
    """The tenant as its engine runs it (the engine's placement), checked after build:
    what `dataplane footprint` and the contract read. Raises ProblemsError."""
    env = env or templates.environment(shared.templates)
    return _placement(files, shared, env, move_target.engine_tenant(files.tenant.data), check=True)


def pod_list(eff: Effective, shared: PlatformInputs) -> tuple[TenantContext, list[pods.Pod]]:
    """The template context and the pods of one tenant's effective values, built as rendered.
    Raises ProblemsError."""
    ctx = _context(eff, shared)
    objects = build.build_tenant(ctx, templates.environment(shared.templates), shared.templates_for(ctx["cloud"]))
    return ctx, pods.of_objects(objects.values())


def built_problems(repo: Repo, found: list[Problem]) -> list[Problem]:
    """The problems of the rules that read built objects (render/validate/effective_rules.py
    contract_rules), and of registry keys the build reads and does not find, of every tenant
    of `repo` whose files have none of the problems `found` before build (none is built when
    a problem lies outside the tenants' folders: the registry itself may not build)."""
    if any(not layout.is_inside(p.file, layout.TENANTS_DIR) for p in found):
        return []
    broken = {name for name in repo.tenants for p in found if layout.is_inside(p.file, layout.tenant_dir(name))}
    envs: dict[str | None, jinja2.Environment] = {}
    out: list[Problem] = []
    for name in sorted(set(repo.tenants) - broken):
        files, shared, rev = repo.tenants[name], repo.inputs_for(name), pinned_revision(repo.tenants[name])
        if rev not in envs:
            envs[rev] = templates.environment(shared.templates)
        try:
            built(files, shared, envs[rev])
        except ProblemsError as e:
            out += e.problems
    return out


def render_tenant(files: TenantFiles, shared: PlatformInputs, env: jinja2.Environment) -> emit.Outputs:
    """All output scopes of one tenant: rendered/<name>/, argocd/tenants/<name>/ and
    control-plane/routing/<name>/ and control-plane/monitoring/<name>/ (a moving tenant's
    control-plane entries follow its engine: the target's from cutover on)."""
    t = files.tenant.data
    eff, ctx, objects = _placement(files, shared, env, move_target.engine_tenant(t), check=True)
    routed, extra_files, extra_apps = (eff, ctx), {}, []
    if move_target.active(t):
        other_eff, other_ctx, other = _placement(files, shared, env, move_target.other_tenant(t))
        if move_target.same_cluster(t["move"]):
            objects = move_target.beside(objects, other)
        else:
            objects = move_target.kept_on_delete(move_target.trusting_target(objects, other), shared.platform.data)
            target = move_target.target_objects(other, other_eff.values["tenant"], shared.platform.data)
            extra_files = {f"{move_apps.move_dir(files.name)}/{f}": emit.dump(o) for f, o in target.items()}
            extra_apps = move_apps.objects(other_eff.values, target, shared.platform)
            routed = (other_eff, other_ctx) if move_target.active(t) == "cutover" else routed
    outputs = {layout.rendered_dir(files.name): {**{path: emit.dump(obj) for path, obj in objects.items()}, **extra_files}}
    apps = tenant_apps.build_tenant(files, eff, objects, shared.platform)
    scope = layout.argocd_tenant_dir(files.name)
    if move_record.state_of(t) == "retire" and not move_target.same_cluster(t["move"]):
        apps[scope] = {p: emit.dump(move_apps.adopting(yaml.safe_load(b))) for p, b in apps[scope].items()}
    apps[scope].update({f"{scope}/{layout.object_file(o['kind'], o['metadata']['name'])}": emit.dump(o) for o in extra_apps})
    outputs.update(apps)
    outputs.update(routing.build_tenant(routed[0], shared.platform.data))
    outputs.update(monitoring_control_plane.build_tenant(routed[1]))
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
        rev = repo.pin(name)
        if rev not in envs:
            envs[rev] = templates.environment(shared.templates)
        try:
            outputs.update(render_tenant(files, shared, envs[rev]))
        except ProblemsError as e:  # the rules over built objects: every tenant's, at once
            problems += e.problems
    if problems:
        raise ProblemsError(problems)
    for builder in FLEET_BUILDERS:
        outputs.update(builder(repo))
    return outputs
