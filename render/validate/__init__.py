"""Stage 2, validate: JSON Schemas, then semantic rules. Collects every problem.

Pure: takes loaded documents, returns problems. The parts, by what each checks:
schemas (each file against its JSON Schema), file_rules (single files beyond a schema:
names, quantities, env, cluster, secret store), image_rules (images by digest: releases.yaml,
the platform's images, each tenant's image), effective_rules (a
tenant's merged values and the registry: ranges, fits) and fleet_rules (claims no two
tenants may share). The contract rules read the built pods: they run after build
(render/pipeline.py built_problems).

Order, per tenant: each file against its schema; checks of single files (names,
quantities, env, release image); then, only when the tenant's files are schema-valid,
the rules over its effective (merged) values; last, fleet-wide claims.
"""

from __future__ import annotations

from dataclasses import replace

from render import migration, quotas
from render.argocd import sizing
from render.load import Document, PlatformInputs, Repo, TenantFiles
from render.merge import merge_tenant
from render.move import record as move_record
from render.problems import Problem
from render.validate import (
    cloud_rules,
    data_rules,
    effective_rules,
    extractor_names,
    file_rules,
    fleet_rules,
    image_rules,
    misplaced,
    placement_rules,
)
from render.validate.schemas import check_schema, tree

__all__ = ["validate_prices", "validate_repo", "validate_tenant", "warnings"]


def validate_repo(repo: Repo) -> list[Problem]:
    """Every problem in every input file of the repository."""
    releases = image_rules.check_releases(repo.current.releases)
    problems = _registry_problems(repo.current, releases)
    registry_ok: dict[str | None, bool] = {None: not problems}
    problems += releases
    for rev, pinned in repo.revisions.items():  # the registry of each pinned platform revision
        found = _registry_problems(pinned, releases)
        registry_ok[rev] = not found
        problems += found
    for files in repo.tenants.values():
        pin = repo.pin(files.name)
        if pin is not None and pin not in repo.revisions:  # load_repo reads them; a hand-built Repo may not
            problems.append(files.release.problem(("platform_revision",), "this platform revision was not loaded",
                                                  "load the repository with render.load.load_repo"))
            continue
        view = repo if pin is None else replace(repo, current=repo.revisions[pin])
        problems += validate_tenant(files, view if registry_ok.get(pin) else None)
    tenant_docs = {name: files.tenant for name, files in repo.tenants.items()} | repo.peers
    all_claims = [c for name, doc in sorted(tenant_docs.items()) for c in fleet_rules.claims(name, doc, repo.current.platform)]
    peer_files = {doc.file for doc in repo.peers.values()}
    problems += [p for p in fleet_rules.fleet_conflicts(all_claims) + fleet_rules.prefix_conflicts(all_claims)
                 if p.file not in peer_files]
    if registry_ok[None]:  # cloud quotas: the tenants validated count after every other tenant
        mine = [files.tenant for files in repo.tenants.values()]
        problems += [p for p in quotas.fleet_problems(list(repo.peers.values()), mine, repo.current.platform)
                     if p.file not in peer_files]
    return sorted(set(problems))


def validate_tenant(files: TenantFiles, repo: Repo | None) -> list[Problem]:
    """Problems of one tenant's files; `repo` is None when the registry itself is broken.
    A setting at the wrong indentation level is reported once; the problems it causes are not."""
    wrong_level = [(misplaced.find(doc, tree(name)), doc.file)
                   for doc, name in ((files.tenant, "tenant"), (files.overrides, "overrides"))]
    problems = _tenant_problems(files, repo)
    return [p for found, _ in wrong_level for p in found.problems] + [
        p for p in problems if not any(found.covers(p, file) for found, file in wrong_level)]


def _tenant_problems(files: TenantFiles, repo: Repo | None) -> list[Problem]:
    release_shape = check_schema(files.release, "release")
    shape = check_schema(files.tenant, "tenant") + check_schema(files.overrides, "overrides") + release_shape
    problems = shape + file_rules.check_tenant_name(files)
    if not release_shape:  # a malformed image is reported once, by the schema
        problems += image_rules.check_release_image(files, repo.current.platform if repo else None,
                                                    repo.current.releases if repo else None)
    sizes = file_rules.check_quantities(files.overrides, "overrides")
    problems += sizes
    problems += migration.check(files.tenant, repo.current.platform.data.get("shared_platform") if repo is not None else {})
    if repo is None:
        return problems
    protected = repo.current.platform.data.get("protected_env") or []
    problems += file_rules.check_extractor_names(files.overrides, repo.current.extractors)
    problems += file_rules.check_env(files.overrides, protected)
    if not shape:
        problems += file_rules.check_cluster(files.tenant, repo.current.platform)
        problems += cloud_rules.tenant_problems(files.tenant, repo.current.platform) + cloud_rules.endpoint_problems(files.tenant)
        problems += data_rules.lifecycle_problems(files.tenant, repo.current.platform.data)
        problems += file_rules.check_restore(files.tenant)
        problems += move_record.check(files.tenant, repo.current.platform.data.get("clusters") or {})
    problems += file_rules.check_secret_store(files.tenant, repo.current.platform)
    # Rules on the merged values need well-shaped files and readable sizes; other mistakes
    # (an unknown name, a protected env key) do not stop them, so all are reported at once.
    if not shape and not sizes:
        platform, extractors = repo.current.platform, repo.current.extractors
        values = merge_tenant(platform, extractors, files).values  # merged once for both rule sets
        problems += effective_rules.tenant_rules(files, platform, extractors, values)
        if not problems:  # placement and the peak are only meaningful over values every other rule accepts
            problems += placement_rules.tenant_problems(files, platform, extractors, values)[0]
    return problems


def _registry_problems(shared: PlatformInputs, releases: list[Problem]) -> list[Problem]:
    """Problems of the platform files of one revision: schemas first, then their rules.
    `releases`: the problems of registry/releases.yaml (its digests are checked only without)."""
    platform, extractors = shared.platform, shared.extractors
    problems = (check_schema(platform, "platform") + check_schema(extractors, "extractors")
                + file_rules.check_quantities(platform, "platform") + file_rules.check_quantities(extractors, "extractors"))
    if not problems:
        problems += cloud_rules.address_problems(platform)
        problems += placement_rules.pool_problems(platform)
        problems += effective_rules.registry_rules(platform, extractors)
        problems += [] if problems else placement_rules.registry_problems(platform, extractors)[0]
        problems += file_rules.check_env(platform, [])
        problems += file_rules.check_backup_schedules(platform)
        problems += extractor_names.check_aliases(extractors)
        problems += image_rules.check_platform_images(platform, shared.releases if not releases else Document("", {}, {}))
        problems += data_rules.volume_problems(platform)
        problems += quotas.registry_problems(platform)
    return problems


def validate_prices(repo: Repo, prices: Document) -> list[Problem]:
    """registry/prices.yaml against its schema, and the regions placed on it: every cluster
    of the current platform names a priced region, and so does every tenant."""
    problems = check_schema(prices, "prices")
    usable = None if problems else prices
    problems += cloud_rules.cluster_problems(repo.current.platform, usable)
    if usable is not None:
        for files in repo.tenants.values():
            if not check_schema(files.tenant, "tenant"):  # a malformed region is the schema's to report
                problems += cloud_rules.priced_problems(files.tenant, usable)
    return problems


def warnings(repo: Repo) -> list[Problem]:
    """What is valid but will not behave as written: maxima the worker groups cannot reach
    (render/validate/placement_rules.py). Only meaningful when validate_repo found nothing."""
    found = placement_rules.registry_problems(repo.current.platform, repo.current.extractors)[1]
    found += sizing.fleet_warnings(repo.current.platform, len(repo.tenants) + len(repo.peers))
    for files in repo.tenants.values():
        shared = repo.inputs_for(files.name) if repo.pin(files.name) in (None, *repo.revisions) else repo.current
        found += placement_rules.tenant_problems(files, shared.platform, shared.extractors)[1]
    return sorted(set(found))
