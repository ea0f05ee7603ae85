"""`dataplane crds vendor --from DIR` and `dataplane crds where`: the CRDs `validate --deep` uses."""

from __future__ import annotations

import argparse
from pathlib import Path

from render import crds


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("crds", help="the CustomResourceDefinitions validate --deep checks custom resources with",
                       description="The CRDs of every custom kind the output uses are vendored in render/crds/ at "
                                   "pinned upstream versions (render/crds/SOURCES.md). `where` prints the folder "
                                   "--deep uses (--crds, else $DATAPLANE_CRDS, else the vendored copy); `vendor` "
                                   "refreshes the copy from an upstream folder laid out as ../shared/crds.")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    where = actions.add_parser("where", help="print the CRD folder validate --deep uses")
    where.add_argument("--crds", type=Path, metavar="DIR", help="an explicit folder (as validate --deep takes)")
    where.set_defaults(run=lambda a: crds_where(crds_dir=a.crds))
    vendor = actions.add_parser("vendor", help="copy the CRDs the rendered output uses from DIR into render/crds/")
    vendor.add_argument("--from", dest="source", type=Path, required=True, metavar="DIR",
                        help="upstream CRD folder with a SOURCES.md (e.g. ../shared/crds)")
    vendor.add_argument("--dry-run", action="store_true", help="list the files it would vendor; write nothing")
    vendor.set_defaults(writes=True, run=lambda a: crds_vendor(root=a.repo, source=a.source, dry_run=a.dry_run))


def crds_where(*, crds_dir: Path | None) -> int:
    print(crds.locate(crds_dir))
    return 0


def crds_vendor(*, root: Path, source: Path, dry_run: bool = False) -> int:
    from render.crds import vendor  # reads megabytes of CRDs: only when asked

    if dry_run:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            files = vendor.vendor(root, source, Path(tmp))
        print("would vendor into render/crds/:\n" + "\n".join(f"  {f}" for f in files))
        return 0
    files = vendor.vendor(root, source)
    print(f"vendored {len(files)} CRD files into render/crds/ (render/crds/SOURCES.md):\n"
          + "\n".join(f"  {f}" for f in files))
    return 0
