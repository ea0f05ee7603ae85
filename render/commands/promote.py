"""`dataplane promote TENANT`: move one held tenant to the newest platform release, for a pull request."""

from __future__ import annotations

import argparse
from pathlib import Path

from render import layout
from render.pipeline import effective
from render.workflows import deploy, events, preconditions
from render.workflows.change_summary import tenant_changes
from render.workflows.release import is_fork, moved, release_data, release_text


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("promote", help="move one tenant to the current platform (release.yaml + re-render)",
                       description="Point TENANT's release.yaml at the newest platform release HEAD contains "
                                   "(platform_version, engine image, platform_revision) and re-render it, merging its "
                                   "overrides with that release's registry. Commit the result and open a pull request; nothing is pushed.")
    p.add_argument("tenant", metavar="TENANT")
    p.add_argument("--keep-image", action="store_true",
                   help="keep the tenant's fork image (it was rebased on the current platform)")
    p.add_argument("--dry-run", action="store_true", help="print the release.yaml it would write and what changes; "
                                                          "write nothing")
    p.set_defaults(writes=True, run=lambda a: promote(root=a.repo, tenant=a.tenant, keep_image=a.keep_image,
                                                      dry_run=a.dry_run))


def promote(*, root: Path, tenant: str, keep_image: bool = False, dry_run: bool = False) -> int:
    name = events.tenant_name(tenant)
    paths = [layout.tenant_file(name, layout.RELEASE_FILE), *layout.tenant_scopes(name)]
    preconditions.check_paths_clean(root, paths)  # the files it writes hold no work of the user's
    repo = deploy.load_valid(root, [name], require_pins=False)  # promote is how an unpinned tenant gets a pin
    target = deploy.latest_release(root)  # a tenant may pin only a platform release
    files = repo.tenants[name]
    release = release_data(files)
    new = moved(release, target, keep_image=keep_image and is_fork(release))
    if new == release:
        print(f"{name} already runs platform {target.platform_version} at {target.revision[:12]}")
        return 0
    before = effective(files, repo.inputs_for(name))
    if dry_run:
        print(f"dry run: nothing was written\nwould move {name} to platform {target.platform_version} at "
              f"{target.revision[:12]}; {layout.tenant_file(name, layout.RELEASE_FILE)} would read:")
        print("".join(f"    {line}\n" for line in release_text(new).splitlines()), end="")
        print(f"and {', '.join(layout.tenant_scopes(name))} would be re-rendered from that release")
        return 0
    deploy.write_release(root, name, new)
    deploy.render(root, [name])
    after_repo = deploy.load_valid(root, [name])
    after = effective(after_repo.tenants[name], after_repo.inputs_for(name))
    print(f"{name} moves to platform {target.platform_version} at {target.revision[:12]}:")
    for line in tenant_changes(before, after):
        print(f"  - {line}")
    print(f"wrote {layout.tenant_file(name, layout.RELEASE_FILE)} and re-rendered {', '.join(layout.tenant_scopes(name))}")
    print(f"next: git add {' '.join(paths)} && git commit, then open a pull request")
    return 0
