"""A stand-in for the cloud's copy command of the backup and restore Jobs, on local folders.

    python -m tests.tools.bucket_cli gcloud storage cp [--quiet] SRC DST
    python -m tests.tools.bucket_cli aws s3 cp [--only-show-errors] SRC DST
    python -m tests.tools.bucket_cli gcloud storage ls FOLDER_URL
    python -m tests.tools.bucket_cli aws s3 ls FOLDER_URL

`gs://BUCKET/KEY` and `s3://BUCKET/KEY` are $STANDIN_BUCKETS/BUCKET/KEY. It allows what the
pod's identity is granted ($STANDIN_GRANT): `create` (the backup identity: write a new
object; an existing one is neither read nor replaced) or `read` (the restore identity:
read and list only), and refuses the rest with exit 1, as the cloud answers 403. `ls` prints
a folder's objects as each CLI does: gcloud one URL a line, aws `date time size name`. Only the cloud is
stood in for: the scripts that call it are the rendered ones.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

SCHEMES = ("gs://", "s3://")


def _local(url: str) -> Path | None:
    for scheme in SCHEMES:
        if url.startswith(scheme):
            return Path(os.environ["STANDIN_BUCKETS"]) / url[len(scheme):]
    return None


def _list(cli: str, url: str) -> int:
    """The objects directly in folder `url`, as the CLI prints them (it fails on none)."""
    folder = _local(url)
    if os.environ.get("STANDIN_GRANT") != "read":
        print(f"403: {os.environ.get('STANDIN_GRANT') or 'no'} grant may not list {url}", file=sys.stderr)
        return 1
    names = sorted(p.name for p in folder.iterdir() if p.is_file()) if folder is not None and folder.is_dir() else []
    if not names:
        print(f"ERROR: One or more URLs matched no objects: {url}", file=sys.stderr)
        return 1
    for name in names:
        size = (folder / name).stat().st_size if folder is not None else 0
        print(url + name if cli == "gcloud" else f"2026-01-01 00:00:00 {size:>10} {name}")
    return 0


def main(argv: list[str]) -> int:
    words = [w for w in argv if not w.startswith("--")]
    if words[:3] in (["gcloud", "storage", "ls"], ["aws", "s3", "ls"]) and len(words) == 4:
        return _list(words[0], words[3])
    if words[:3] not in (["gcloud", "storage", "cp"], ["aws", "s3", "cp"]) or len(words) != 5:
        print(f"stand-in: unsupported command {argv}", file=sys.stderr)
        return 2
    src, dst = words[3], words[4]
    grant = os.environ.get("STANDIN_GRANT", "")
    remote_src, remote_dst = _local(src), _local(dst)
    if remote_dst is not None:
        if grant != "create":
            print(f"403: {grant or 'no'} grant may not write {dst}", file=sys.stderr)
            return 1
        if remote_dst.exists():
            print(f"403: {dst} exists; the create-only grant may not replace it", file=sys.stderr)
            return 1
        remote_dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, remote_dst)
        return 0
    if remote_src is not None:
        if grant != "read":
            print(f"403: {grant or 'no'} grant may not read {src}", file=sys.stderr)
            return 1
        if not remote_src.is_file():
            print(f"404: {src}", file=sys.stderr)
            return 1
        shutil.copyfile(remote_src, dst)
        return 0
    print("stand-in: one side must be a bucket URL", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
