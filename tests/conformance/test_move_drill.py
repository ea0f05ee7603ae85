"""The move drill: two MongoDB-protocol servers, the old placement's and the target's, and
the scripts of a cluster move's rendered copy-state Jobs, run as their pods run them:
the final backup (dump, upload to moves/<id>/), the source digest, the target's restore
(wait for exactly that backup, download, load) and its verification. The bucket is a
folder behind tests/tools/bucket_cli.py, which allows each pod only its identity's grant
(the backup Jobs create, the restore Jobs read and list): the cloud is the one thing not real.

Data written before the freeze is on the target after the copy, byte for byte per
document (raw BSON); the verification passes on that copy and fails on a changed document;
a second backup in the move's folder is refused. MongoDB: FerretDB (tests/conformance/test_backup_drill.py);
the digest and verification run in the real mongosh (npm package, $DATAPLANE_MONGOSH).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conformance.test_backup_drill import _documents, _ferretdb_binary, _shims, ferretdb
from tests.support import ROOT, copy_repo, dataplane, missing, need

MONGOSH_CACHE = Path.home() / ".cache/dataplane/tools/mongosh-2.12.0/node_modules/.bin/mongosh"


def _cloud_shims(bin_dir: Path) -> None:
    """gcloud and aws on PATH: tests/tools/bucket_cli.py (local folders, the pod's grant)."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    for cli in ("gcloud", "aws"):
        (bin_dir / cli).write_text(f'#!/bin/sh\nexec "{sys.executable}" -m tests.tools.bucket_cli {cli} "$@"\n')
        (bin_dir / cli).chmod(0o755)


def _mongosh() -> str:
    path = os.environ.get("DATAPLANE_MONGOSH") or str(MONGOSH_CACHE)
    if not Path(path).is_file():
        missing("mongosh 2.12.0", "`.ci/tools.sh mongosh` installs it from the npm registry and prints its path (DATAPLANE_MONGOSH)")
    return path


def _scripts(job: Path) -> dict[str, str]:
    """container name -> its shell script, of the rendered Job in `job`."""
    pod = yaml.safe_load(job.read_text())["spec"]["template"]["spec"]
    return {c["name"]: c["command"][2] for c in pod["initContainers"] + pod["containers"]}


def _run(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", "-c", script], env={**os.environ, **env}, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def copy_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository whose acme is in the copy state of a move to dp-gke-us-east4, rendered."""
    root = copy_repo(tmp_path_factory.mktemp("move") / "repo")
    assert dataplane(root, "move", "prepare", "acme", "--cluster", "dp-gke-us-east4", "--on", "2026-01-05") == 0
    assert dataplane(root, "move", "copy", "acme", "--on", "2026-01-06") == 0
    assert dataplane(root, "render") == 0
    return root


def test_the_target_holds_every_document_written_before_the_freeze(copy_state: Path, tmp_path: Path) -> None:
    need("pymongo")
    from bson.raw_bson import RawBSONDocument
    from pymongo import MongoClient

    binary, mongosh = _ferretdb_binary(), _mongosh()
    old, new = copy_state / "rendered/acme", copy_state / "rendered/acme/move"
    backup, digest = _scripts(old / "job-move-backup-mongodb-1.yaml"), _scripts(old / "job-move-digest-1.yaml")
    restore, verify = _scripts(new / "job-move-restore-mongodb-1.yaml"), _scripts(new / "job-move-verify-1.yaml")
    bin_dir = _shims(tmp_path)
    _cloud_shims(bin_dir)
    (bin_dir / "mongosh").symlink_to(mongosh)
    buckets, source_pod, target_pod = tmp_path / "buckets", tmp_path / "source-pod", tmp_path / "target-pod"
    for d in (buckets, source_pod, target_pod):
        d.mkdir()
    base = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "PYTHONPATH": str(ROOT), "STANDIN_BUCKETS": str(buckets)}
    db = "dp_acme"
    with ferretdb(binary, tmp_path / "old") as old_uri, ferretdb(binary, tmp_path / "target") as new_uri:
        src: MongoClient[RawBSONDocument] = MongoClient(old_uri, document_class=RawBSONDocument)
        for name, docs in _documents().items():
            src[db][name].insert_many(docs)
        # The old placement: the final backup, then the digest (the engine is at zero: no writes between).
        # As the pods' identities: the backup Jobs create only, the restore Jobs read and list only.
        on_old = {**base, "BACKUP_DIR": str(source_pod), "MONGO_URI": old_uri + db, "STANDIN_GRANT": "create"}
        for script in (backup["dump"], backup["upload"], digest["digest"], digest["upload"]):
            done = _run(script, on_old)
            assert done.returncode == 0, done.stderr
        folder = buckets / "dp-data-acme-backups/moves/2026-01-05-1"  # the backup bucket
        stored = sorted(p.name for p in folder.iterdir())
        assert len(stored) == 2 and stored[0].startswith("mongodb-") and stored[1] == "source-digest.json"
        src[db]["documents"].insert_one({"_id": "after-the-freeze"})  # never copied: not in the backup
        # The target: exactly that backup, loaded; then the verification against the digest.
        on_new = {**base, "BACKUP_DIR": str(target_pod), "MONGO_URI": new_uri + db, "STANDIN_GRANT": "read"}
        for script in (restore["download"], restore["restore"]):
            done = _run(script, on_new)
            assert done.returncode == 0, done.stderr
        assert "restored mongodb of move 2026-01-05-1" in done.stdout
        dst: MongoClient[RawBSONDocument] = MongoClient(new_uri, document_class=RawBSONDocument)
        for name, docs in _documents().items():
            copied = [d.raw for d in dst[db][name].find({}, sort=[("_id", 1)])]
            written = [d.raw for d in src[db][name].find({"_id": {"$ne": "after-the-freeze"}}, sort=[("_id", 1)])]
            assert len(copied) == len(docs) and copied == written, name
        assert dst[db]["documents"].count_documents({"_id": "after-the-freeze"}) == 0
        for script in (verify["download"], verify["verify"]):
            done = _run(script, on_new)
            assert done.returncode == 0, done.stdout + done.stderr
        assert "verified:\n  job: move-verify-1\n" in done.stdout
        assert "  # documents: 50 documents, sha256 " in done.stdout
        # One changed field on the target: the verification fails and names the collection.
        dst[db]["extractions"].update_one({"_id": "x-3"}, {"$set": {"document": 4}})
        done = _run(verify["verify"], on_new)
        assert done.returncode != 0 and "differs: extractions" in done.stdout, done.stdout + done.stderr
        # A second backup in the move's folder: the restore refuses to choose.
        (folder / "mongodb-20260106T000001Z.archive.gz").write_bytes(b"")
        done = _run(restore["download"], on_new)
        assert done.returncode != 0 and "more than one object matches" in done.stdout


def test_the_restore_waits_for_the_backup(copy_state: Path, tmp_path: Path) -> None:
    """The two Applications (two clusters) are ordered through the bucket: until the old
    placement's backup is there, the target's restore waits instead of loading anything."""
    restore = _scripts(copy_state / "rendered/acme/move/job-move-restore-mongodb-1.yaml")
    bin_dir = tmp_path / "bin"
    _cloud_shims(bin_dir)
    env: dict[str, Any] = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "PYTHONPATH": str(ROOT), "STANDIN_BUCKETS": str(tmp_path),
                           "BACKUP_DIR": str(tmp_path), "STANDIN_GRANT": "read"}
    with pytest.raises(subprocess.TimeoutExpired):
        subprocess.run(["sh", "-c", restore["download"]], env={**os.environ, **env}, capture_output=True, timeout=3)
    assert not (tmp_path / "mongodb.archive.gz").exists()
