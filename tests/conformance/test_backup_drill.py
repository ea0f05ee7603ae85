"""Restore drills: the committed backup CronJobs' own scripts dump a real server, the
rendered restore Job's script loads the dump into an empty one, and every document (BSON)
or key (its value's bytes, by type) is compared byte for byte.

MongoDB: FerretDB v1.24.2 (MongoDB wire protocol, SQLite backend), built from its Go module
by .ci/tools.sh ($DATAPLANE_FERRETDB); mongodump/mongorestore are tests/tools/mongo_archive.py
(the mongodump archive format; mongo-tools is not on the Go module proxy). Redis: the real
redis-server and redis-cli. Between dump and restore the file goes through the backup bucket:
the committed `upload` script as the create-only backup identity, the restore Job's
`download` script as the read-only restore identity, the cloud CLI stood in for by
tests/tools/bucket_cli.py on a local folder. docs/operations.md says what differs from production.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from render import backups, layout
from render.context import tenant_context
from render.load import load_repo
from render.pipeline import effective
from tests.processes import free_port, redis_server, stop, wait_redis
from tests.support import ROOT, missing, need, need_binary

TENANT = "acme"
FERRETDB_CACHE = Path.home() / ".cache/dataplane/tools/ferretdb-v1.24.2/ferretdb"


@functools.cache
def _ctx() -> dict[str, Any]:
    """acme's template context (read-only: the functions under test are pure)."""
    repo = load_repo(ROOT, [TENANT])
    inputs = repo.inputs_for(TENANT)
    return tenant_context(effective(repo.tenants[TENANT], inputs), inputs.platform.data)


def _committed_script(datastore: str, container: str) -> str:
    """The script of a container of the committed CronJob backup-<datastore>."""
    path = ROOT / layout.rendered_dir(TENANT) / f"cronjob-backup-{datastore}.yaml"
    cron = next(d for d in yaml.safe_load_all(path.read_text()) if d)
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (c,) = [c for c in pod["initContainers"] + pod["containers"] if c["name"] == container]
    return str(c["command"][2])


def _restore_script(ctx: dict[str, Any], backup: str) -> str:
    pod = backups.restore_job(ctx, backup)["spec"]["template"]["spec"]
    return str(pod["containers"][0]["command"][2])


def _sh(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["sh", "-c", script], env={**os.environ, **env}, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done


def _ferretdb_binary() -> str:
    path = os.environ.get("DATAPLANE_FERRETDB") or str(FERRETDB_CACHE)
    if not Path(path).is_file():
        missing("FerretDB v1.24.2", ".ci/tools.sh builds it and prints its path (DATAPLANE_FERRETDB)")
    return path


@contextlib.contextmanager
def ferretdb(binary: str, workdir: Path) -> Iterator[str]:
    from pymongo import MongoClient

    workdir.mkdir()
    port = free_port()
    log = (workdir / "log").open("wb")
    process = subprocess.Popen([binary, "--handler=sqlite", f"--sqlite-url=file:{workdir}/", f"--state-dir={workdir}",
                                f"--listen-addr=127.0.0.1:{port}", "--debug-addr=-", "--telemetry=disable",
                                "--log-level=ERROR"], stdout=log, stderr=subprocess.STDOUT)
    uri = f"mongodb://127.0.0.1:{port}/"
    try:
        client: MongoClient[dict[str, Any]] = MongoClient(uri, serverSelectionTimeoutMS=20000)
        client.admin.command("ping")
        yield uri
    finally:
        stop(process)
        log.close()


def _shims(tmp: Path) -> Path:
    """mongodump and mongorestore on PATH, as the rendered scripts call them."""
    bin_dir = tmp / "bin"
    bin_dir.mkdir()
    for tool in ("mongodump", "mongorestore"):
        shim = bin_dir / tool
        shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m tests.tools.mongo_archive {tool} "$@"\n')
        shim.chmod(0o755)
    return bin_dir


def _through_the_bucket(ctx: dict[str, Any], datastore: str, dumped: Path, tmp: Path) -> tuple[str, Path]:
    """Upload the dump in `dumped` with the committed CronJob's `upload` script as the backup
    identity, then download it with the restore Job's `download` script as the restore identity
    into a fresh folder: (the backup's name, that folder)."""
    bin_dir = tmp / "cloud-bin"
    bin_dir.mkdir(parents=True)
    for cli in ("gcloud", "aws"):
        (bin_dir / cli).write_text(f'#!/bin/sh\nexec "{sys.executable}" -m tests.tools.bucket_cli {cli} "$@"\n')
        (bin_dir / cli).chmod(0o755)
    buckets = tmp / "buckets"
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "PYTHONPATH": str(ROOT), "STANDIN_BUCKETS": str(buckets),
           "BACKUP_DIR": str(dumped), "STANDIN_GRANT": "create"}
    upload = _committed_script(datastore, "upload")
    assert upload == backups.upload_script(ctx, datastore)
    backup = _sh(upload, env).stdout.split()[-1]  # "backup <name>"
    stored = sorted(p.relative_to(buckets).as_posix() for p in buckets.rglob("*") if p.is_file())
    assert stored == [f"{ctx['names']['backup_bucket']}/{backups.object_key(backup)}"]  # the backup bucket only
    again = subprocess.run(["sh", "-c", upload], env={**os.environ, **env}, capture_output=True, text=True, timeout=120)
    assert again.returncode != 0 and "may not replace" in again.stderr  # a second upload of that name is refused
    fresh = tmp / "downloaded"
    fresh.mkdir()
    (download,) = backups.restore_job(ctx, backup)["spec"]["template"]["spec"]["initContainers"]
    _sh(download["command"][2], {**env, "BACKUP_DIR": str(fresh), "STANDIN_GRANT": "read"})
    return backup, fresh


def _documents() -> dict[str, list[dict[str, Any]]]:
    import bson

    when = dt.datetime(2026, 12, 7, 12, 17, 5, 123000, tzinfo=dt.UTC)
    return {
        "documents": [{"_id": bson.ObjectId(f"6571a0c0{i:016x}"), "title": f"doc {i}", "pages": i, "size": bson.Int64(2**40 + i),
                       "score": i / 3, "tags": ["a", "ü", {"nested": [1, 2.5, None]}], "created": when,
                       "blob": bson.Binary(bytes(range(i, i + 16))), "ok": i % 2 == 0} for i in range(50)],
        "extractions": [{"_id": f"x-{i}", "document": i, "result": {"text": "ß" * i, "spans": [{"start": 0, "end": i}]}}
                        for i in range(20)],  # FerretDB v1: no Decimal128, no nested arrays (docs/operations.md)
    }


def test_mongodb_restore_drill_is_byte_for_byte(tmp_path: Path) -> None:
    need("pymongo")
    from bson.raw_bson import RawBSONDocument
    from pymongo import MongoClient

    binary = _ferretdb_binary()
    ctx = _ctx()
    db = ctx["names"]["database"]
    dump = _committed_script("mongodb", "dump")
    assert dump == backups.dump_script(ctx, "mongodb")  # the committed CronJob is what job_spec renders
    env = {"BACKUP_DIR": str(tmp_path), "PATH": f"{_shims(tmp_path)}:{os.environ['PATH']}", "PYTHONPATH": str(ROOT)}
    with ferretdb(binary, tmp_path / "source") as source, ferretdb(binary, tmp_path / "target") as target:
        src: MongoClient[RawBSONDocument] = MongoClient(source, document_class=RawBSONDocument)
        for name, docs in _documents().items():
            src[db][name].insert_many(docs)
        src[db]["documents"].create_index("title", name="title_1")
        _sh(dump, {**env, "MONGO_URI": source + db})
        src[db]["documents"].insert_one({"_id": "after-the-backup"})  # not in the backup
        backup, downloaded = _through_the_bucket(ctx, "mongodb", tmp_path, tmp_path / "bucket")
        assert backup == f"mongodb-{(tmp_path / 'started-at').read_text().strip()}"
        out = _sh(_restore_script(ctx, backup), {**env, "BACKUP_DIR": str(downloaded), "MONGO_URI": target + db})
        assert f"restored {backup}" in out.stdout
        dst: MongoClient[RawBSONDocument] = MongoClient(target, document_class=RawBSONDocument)
        for name, docs in _documents().items():
            restored = [d.raw for d in dst[db][name].find({}, sort=[("_id", 1)])]
            written = [d.raw for d in src[db][name].find({"_id": {"$ne": "after-the-backup"}}, sort=[("_id", 1)])]
            assert len(restored) == len(docs) and restored == written, name
        assert dst[db]["documents"].count_documents({"_id": "after-the-backup"}) == 0
        assert "title_1" in dst[db]["documents"].index_information()


def test_the_archive_reader_refuses_a_corrupted_document(tmp_path: Path) -> None:
    need("pymongo")
    import gzip
    import io

    from tests.tools import mongo_archive

    binary = _ferretdb_binary()
    with ferretdb(binary, tmp_path / "source") as source:
        from pymongo import MongoClient

        MongoClient(source)["dp_acme"]["c"].insert_one({"_id": 1, "v": "abcdef"})
        buf = io.BytesIO()
        mongo_archive.dump(source + "dp_acme", "dp_acme", buf)
    data = bytearray(buf.getvalue())
    data[data.index(b"abcdef")] = ord("X")
    with pytest.raises(ValueError, match="CRC"):
        mongo_archive.read_archive(bytes(data))
    assert gzip.decompress(gzip.compress(buf.getvalue())) == buf.getvalue()


def _value(client: Any, key: bytes) -> tuple[bytes, Any]:
    """A key's type and value, as bytes (a set's members in order: Redis keeps no order)."""
    kind = client.type(key)
    read = {b"string": client.get, b"hash": client.hgetall, b"list": lambda k: client.lrange(k, 0, -1),
            b"set": lambda k: sorted(client.smembers(k)), b"zset": lambda k: client.zrange(k, 0, -1, withscores=True)}
    return kind, read[kind](key)


def test_redis_restore_drill_is_byte_for_byte(tmp_path: Path) -> None:
    redis = need("redis")
    need_binary("redis-cli", "apt-get install redis-tools")
    ctx = _ctx()
    dump = _committed_script("redis", "dump")
    assert dump == backups.dump_script(ctx, "redis")
    (tmp_path / "source").mkdir()
    with redis_server(tmp_path / "source") as (port, process):
        wait_redis(port, process)
        src = redis.Redis(port=port)
        src.config_set("requirepass", "pw")  # as production's: the dump authenticates
        src = redis.Redis(port=port, password="pw")
        src.set("acme:s", b"\x00\xffbytes")
        src.hset("acme:h", mapping={"a": "1", "b": "ü"})
        src.rpush("acme:l", *[str(i) for i in range(100)])
        src.sadd("acme:set", "x", "y")
        src.zadd("acme:z", {"m": 1.5, "n": -2})
        src.set("acme:ttl", "v", ex=86400)
        _sh(dump, {"BACKUP_DIR": str(tmp_path), "REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(port), "REDISCLI_AUTH": "pw"})
        src.set("acme:after", "not in the backup")
        written = {k: _value(src, k) for k in src.keys() if k != b"acme:after"}  # noqa: SIM118 - a Redis client is not iterable
    backup, downloaded = _through_the_bucket(ctx, "redis", tmp_path, tmp_path / "bucket")
    data = tmp_path / "data"
    (data / "appendonlydir").mkdir(parents=True)  # the old append-only files, set aside
    _sh(_restore_script(ctx, backup), {"BACKUP_DIR": str(downloaded), "DATA_DIR": str(data)})
    assert (data / "restored-aside").is_dir() and not (data / "dump.rdb").exists()  # the data is in the new AOF
    # Production's Redis: appendonly on, starting from the volume the Job wrote.
    with redis_server(data, "--appendonly", "yes") as (port, process):
        wait_redis(port, process)
        dst = redis.Redis(port=port)
        assert {k: _value(dst, k) for k in dst.keys()} == written  # noqa: SIM118
        assert 0 < int(dst.ttl("acme:ttl")) <= 86400
    stop(process)
