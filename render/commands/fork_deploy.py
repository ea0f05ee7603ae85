"""Fork deploys: a tenant's own engine build, deployed to that tenant only.

Three steps, one per workflow job: `fork-inputs` validates the dispatch inputs,
`fork-image` names the image built from the fork's commit (the tenant's own package
<engine>-tenant-<name>, tag tenant-<name>-<full sha>), `fork-deploy` records the pushed
image's digest in that tenant's release.yaml, renders that tenant and commits; the
commit is refused if it would touch anything outside the tenant's scope.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from render import git, images, layout
from render.load import read_yaml
from render.problems import Problem, ProblemsError
from render.workflows import authority, deploy, events, image_records
from render.workflows.actions import add_summary, read_event, set_output
from render.workflows.release import fork_image, release_data


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("fork-inputs", help="validate a fork deploy's inputs and write them as step outputs",
                       description="Check tenant, fork repository and ref (from --event or the flags) and that "
                                   "the tenant exists; write tenant=, repository=, ref= to --output.")
    _event_args(p)
    p.add_argument("--output", dest="github_output", type=Path, help="append outputs here (in a workflow: $GITHUB_OUTPUT)")
    p.set_defaults(run=lambda a: fork_inputs(root=a.repo, event=a.event, tenant=a.tenant, repository=a.repository,
                                             ref=a.ref, output=a.github_output))

    p = sub.add_parser("fork-image", help="name the image of a fork build: <engine repository>-tenant-<name>:tenant-<name>-<sha>",
                       description="Print (and write as image=) the image reference for TENANT built from the "
                                   "fork commit checked out in --source (or given with --commit), in TENANT's own "
                                   "package (written as repository=; the build job pushes there only).")
    p.add_argument("--tenant", required=True)
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--source", type=Path, help="the fork's checkout; its HEAD commit is used")
    group.add_argument("--commit", help="the fork commit (40 hex characters)")
    p.add_argument("--output", dest="github_output", type=Path, help="append image=, repository= and commit= here ($GITHUB_OUTPUT)")
    p.set_defaults(run=lambda a: fork_image_command(root=a.repo, tenant=a.tenant, source=a.source,
                                                    commit=a.commit, output=a.github_output))

    p = sub.add_parser("fork-deploy", help="deploy a fork image to one tenant: release.yaml, render, commit",
                       description="Write TENANT's release.yaml (fork image and where it came from), render only "
                                   "that tenant and commit. The platform revision is kept (pinned to HEAD's if none). "
                                   "The commit may touch only tenants/TENANT/release.yaml, "
                                   "rendered/TENANT/ and argocd/tenants/TENANT/; anything else aborts it.")
    _event_args(p)
    p.add_argument("--commit", required=True, help="the fork commit the image was built from")
    p.add_argument("--digest", required=True,
                   help="the digest of the image the fork build job pushed to the tenant's own package "
                        "(sha256:<64 hex>): release.yaml runs the image by it and records it in fork_builds")
    p.add_argument("--push", action="store_true", help="push to origin main, retrying on a non-fast-forward")
    p.add_argument("--dry-run", action="store_true", help="print what would be committed, tagged and pushed; write nothing")
    p.add_argument("--summary", type=Path, help="append a markdown report here ($GITHUB_STEP_SUMMARY)")
    p.set_defaults(writes=True, run=lambda a: fork_deploy(
        root=a.repo, event=a.event, tenant=a.tenant, repository=a.repository, ref=a.ref, commit=a.commit,
        digest=a.digest, push=a.push, summary=a.summary, dry_run=a.dry_run))


def _event_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--event", type=Path, help="workflow_dispatch payload JSON ($GITHUB_EVENT_PATH)")
    p.add_argument("--tenant")
    p.add_argument("--repository", help="the fork, owner/name")
    p.add_argument("--ref", help="branch, tag or commit of the fork")


def _inputs(root: Path, event: Path | None, tenant: str | None, repository: str | None,
            ref: str | None) -> events.ForkDeploy:
    """The dispatch's inputs, bound to the tenant: the run must be allowed to deploy it
    (authority: its team, on main), and the repository one of the forks its tenant.yaml declares."""
    payload = read_event(event) if event else {"inputs": {"tenant": tenant, "repository": repository, "ref": ref}}
    inputs = events.fork_deploy(payload)
    if not (root / layout.tenant_dir(inputs.tenant)).is_dir():
        raise ProblemsError([Problem(events.INPUTS, 1, 1, "tenant", f"no tenant named {inputs.tenant!r}",
                                     f"tenants are folders under {layout.TENANTS_DIR}/")])
    authority.require(root, authority.FORK_DEPLOY, inputs.tenant)
    doc = read_yaml(root, layout.tenant_file(inputs.tenant, layout.TENANT_FILE))
    forks = [f for f in (doc.data.get("forks") or []) if isinstance(f, str)]
    if inputs.repository.lower() not in {f.lower() for f in forks}:  # GitHub names ignore case
        raise ProblemsError([Problem(events.INPUTS, 1, 1, "repository", f"{inputs.repository} is not a fork "
                                     f"{inputs.tenant} may deploy from", f"{doc.file} `forks` lists "
                                     f"{', '.join(forks) or 'none'}; the platform team adds one by pull request")])
    return inputs


def fork_inputs(*, root: Path, event: Path | None = None, tenant: str | None = None, repository: str | None = None,
                ref: str | None = None, output: Path | None = None) -> int:
    inputs = _inputs(root, event, tenant, repository, ref)
    bound = authority.bind_fork_ref(authority.current_run(os.environ), inputs.repository, inputs.ref)
    for key, value in (("tenant", inputs.tenant), ("repository", inputs.repository), ("ref", inputs.ref),
                       ("commit", bound or inputs.ref)):
        set_output(output, key, value)
    print(f"fork deploy of {inputs.tenant} from {inputs.repository}@{inputs.ref}" + (f" ({bound})" if bound else ""))
    return 0


def _image(root: Path, tenant: str, commit: str) -> str:
    platform = read_yaml(root, layout.PLATFORM_FILE).data
    return fork_image(str(platform["engine"]["repository"]), tenant, commit)


def fork_image_command(*, root: Path, tenant: str, source: Path | None = None, commit: str | None = None,
                       output: Path | None = None) -> int:
    name = events.tenant_name(tenant)
    try:
        sha = events.commit(git.head(source) if source is not None else commit)
    except git.GitError as e:
        raise ProblemsError([Problem(str(source), 1, 1, "", f"not a git checkout: {e}", "")]) from None
    image = _image(root, name, sha)
    set_output(output, "commit", sha)
    set_output(output, "image", image)
    set_output(output, "repository", images.parse(image).repository)  # the tenant's own package: the attestation's subject
    print(image)
    return 0


def fork_deploy(*, root: Path, event: Path | None = None, tenant: str | None = None, repository: str | None = None,
                ref: str | None = None, commit: str, digest: str | None = None, push: bool = False,
                summary: Path | None = None, dry_run: bool = False) -> int:
    inputs = _inputs(root, event, tenant, repository, ref)
    sha = events.commit(commit)
    pushed = image_records.fork_digest(digest)
    name = inputs.tenant

    def apply(work: Path) -> list[str]:
        repo = deploy.load_valid(work, [name])
        engine = str(repo.current.platform.data["engine"]["repository"])
        release = {**image_records.record_fork_build(release_data(repo.tenants[name]), engine, name, sha, pushed),
                   "fork": {"repository": inputs.repository, "ref": inputs.ref, "commit": sha}}
        image = release["image"]
        # A fork tenant is held on platform updates: pin the platform it renders from
        # now (HEAD's, the same files), so later template merges leave it alone.
        if "platform_revision" not in release:  # recorded as a release: a pin names only those
            target = deploy.current_target(work, repo)
            deploy.release(work, target)
            release["platform_revision"] = target.revision
        deploy.write_release(work, name, release)
        deploy.render(work, [name])
        return deploy.commit_tenant(work, name, f"fork deploy: {name} runs {image}\n\n"
                                                f"Built from {inputs.repository}@{inputs.ref} ({sha}).", release=True)

    result = deploy.push_change(root, apply, push=push, dry_run=dry_run)
    if result is None:
        return 1
    if dry_run:
        return 0
    add_summary(summary, f"## Fork deploy: {name}\n\nImage `{_image(root, name, sha)}@{pushed}` built from "
                         f"`{inputs.repository}` at `{sha}`.\n\n"
                         f"{'Commit ' + result.commits[0][:12] if result.commits else 'Already deployed; nothing to commit'}.\n")
    return 0
