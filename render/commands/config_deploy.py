"""`dataplane config-deploy TENANT`: re-render one tenant from its current files and commit.

No image build: the tenant keeps its release. The workflow then syncs only the tenant's
ArgoCD Application (named by the `app=` output).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from render import git, layout
from render.problems import Problem, ProblemsError
from render.workflows import authority, deploy, events
from render.workflows.actions import add_summary, read_event, set_output
from render.workflows.release import release_data


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("config-deploy", help="re-render one tenant, commit, and name its ArgoCD Application",
                       description="Re-render TENANT from its committed files, bump config_deploy in its release.yaml "
                                   "(so its Ray worker groups restart from the overrides' values: manual scaling "
                                   "is reset), commit (only TENANT's release.yaml and output may change) and "
                                   "write app=tenant-TENANT to --output.")
    p.add_argument("tenant", nargs="?", metavar="TENANT", help="the tenant (or give --event)")
    p.add_argument("--event", type=Path, help="workflow_dispatch payload JSON ($GITHUB_EVENT_PATH)")
    p.add_argument("--push", action="store_true", help="push to origin main, retrying on a non-fast-forward")
    p.add_argument("--dry-run", action="store_true", help="print what would be committed and pushed; write nothing")
    p.add_argument("--output", dest="github_output", type=Path, help="append tenant= and app= here ($GITHUB_OUTPUT)")
    p.add_argument("--summary", type=Path, help="append a markdown report here ($GITHUB_STEP_SUMMARY)")
    p.set_defaults(writes=True, run=lambda a: config_deploy(root=a.repo, tenant=a.tenant, event=a.event, push=a.push,
                                                            output=a.github_output, summary=a.summary,
                                                            dry_run=a.dry_run))


CONFIG_DEPLOY = "config_deploy"


def next_config_deploy(release: dict[str, Any]) -> dict[str, Any]:
    """`release` with its config-deploy count bumped. Rendered as an annotation on the Ray pod
    templates, the new count makes KubeRay start a new RayCluster from the overrides' worker-group
    values, so every config deploy resets manual scaling even when nothing else changed."""
    count = release.get(CONFIG_DEPLOY)
    return {**release, CONFIG_DEPLOY: (count if isinstance(count, int) else 0) + 1}


def application_name(tenant: str) -> str:
    return layout.namespace(tenant)


def config_deploy(*, root: Path, tenant: str | None = None, event: Path | None = None, push: bool = False,
                  output: Path | None = None, summary: Path | None = None, dry_run: bool = False) -> int:
    name = events.config_deploy(read_event(event)) if event else events.tenant_name(tenant)
    if not (root / layout.tenant_dir(name)).is_dir():
        raise ProblemsError([Problem(layout.tenant_dir(name), 1, 1, "tenant", f"no tenant named {name!r}",
                                     f"tenants are folders under {layout.TENANTS_DIR}/")])
    authority.require(root, authority.CONFIG_DEPLOY, name)  # its own team, or the platform's

    uncommitted = git.dirty(root, *layout.INPUT_DIRS)
    if uncommitted:  # the commit would hold output that the committed inputs do not produce
        raise ProblemsError([Problem(path, 1, 1, "", "uncommitted change to an input of the render",
                                     "config-deploy renders the committed inputs: commit this change (through a pull "
                                     "request) or discard it (git restore / git clean), then deploy")
                             for path in uncommitted])

    def apply(work: Path) -> list[str]:
        repo = deploy.load_valid(work, [name])
        release = next_config_deploy(release_data(repo.tenants[name]))
        deploy.write_release(work, name, release)
        deploy.render(work, [name])
        return deploy.commit_tenant(work, name, f"config deploy {release[CONFIG_DEPLOY]}: re-render {name} and "
                                                "reset its worker groups to the overrides", release=True)

    result = deploy.push_change(root, apply, push=push, dry_run=dry_run)
    if result is None:
        return 1
    if dry_run:
        return 0
    set_output(output, "tenant", name)
    set_output(output, "app", application_name(name))
    done = f"commit {result.commits[0][:12]}" if result.commits else "nothing was committed"
    add_summary(summary, f"## Config deploy: {name}\n\nRe-rendered from its committed files ({done}); "
                         f"ArgoCD Application `{application_name(name)}` is synced next, and KubeRay starts a new "
                         "RayCluster whose worker groups start from the overrides (manual scaling is reset).\n")
    return 0
