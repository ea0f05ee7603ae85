"""mongodump / mongorestore for the restore drill: the options the rendered backup and restore
Jobs use, writing and reading the mongodump archive format.

The real tools (github.com/mongodb/mongo-tools) are not served by the Go module proxy, so
the drill runs this pymongo implementation of the same archive format instead: magic
number, header, collection metadata, terminator, then per-collection segments and an EOF
header carrying the CRC-64-ECMA of the collection's documents (mongo-tools
common/archive/spec.md, commit 8fa3cfc8263b9cead37912d7b0447766143c3e3a). Documents are
copied as raw BSON, never decoded, so what is restored is byte for byte what was dumped.

    python -m tests.tools.mongo_archive mongodump --uri=URI --db=DB --archive=FILE [--gzip] [--quiet]
    python -m tests.tools.mongo_archive mongorestore --uri=URI --archive=FILE [--gzip] [--drop] [--nsInclude='DB.*'] [--quiet]
"""

from __future__ import annotations

import argparse
import fnmatch
import gzip
import struct
import sys
from typing import IO, Any

import bson
from bson.json_util import CANONICAL_JSON_OPTIONS, dumps
from bson.raw_bson import RawBSONDocument
from pymongo import MongoClient

MAGIC = 0x8199E26D
TERMINATOR = b"\xff\xff\xff\xff"
FORMAT_VERSION = "0.1"
TOOL_VERSION = "dataplane-drill"


def _crc64_table() -> list[int]:
    poly = 0xC96C5795D7870F42  # ECMA-182, reflected (Go's hash/crc64.ECMA)
    table = []
    for i in range(256):
        crc = i
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _crc64_table()


def crc64(crc: int, data: bytes) -> int:
    crc = ~crc & 0xFFFFFFFFFFFFFFFF
    for b in data:
        crc = _TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return ~crc & 0xFFFFFFFFFFFFFFFF


def _header(db: str, coll: str, eof: bool, crc: int) -> bytes:
    # CRC is a uint64 stored in an int64 field.
    return bson.encode({"db": db, "collection": coll, "EOF": eof, "CRC": bson.Int64(struct.unpack("<q", struct.pack("<Q", crc))[0])})


def dump(uri: str, db: str, out: IO[bytes]) -> None:
    client: MongoClient[RawBSONDocument] = MongoClient(uri, document_class=RawBSONDocument)
    database = client[db]
    names = sorted(n for n in database.list_collection_names() if not n.startswith("system."))
    out.write(struct.pack("<I", MAGIC))
    version = str(client.server_info().get("version", ""))
    out.write(bson.encode({"concurrent_collections": 1, "version": FORMAT_VERSION, "server_version": version,
                           "tool_version": TOOL_VERSION}))
    docs = {n: [bytes(d.raw) for d in database[n].find({}, sort=[("_id", 1)])] for n in names}
    for n in names:
        indexes = [dict(i) for i in database[n].list_indexes()]
        meta = dumps({"indexes": [{k: v for k, v in i.items() if k != "ns"} for i in indexes], "collectionName": n,
                      "type": "collection", "options": {}}, json_options=CANONICAL_JSON_OPTIONS)
        out.write(bson.encode({"db": db, "collection": n, "metadata": meta, "size": sum(len(d) for d in docs[n]),
                               "type": ""}))
    out.write(TERMINATOR)
    for n in names:
        crc = 0
        if docs[n]:
            out.write(_header(db, n, False, 0))
            for raw in docs[n]:
                out.write(raw)
                crc = crc64(crc, raw)
            out.write(TERMINATOR)
        out.write(_header(db, n, True, crc))
        out.write(TERMINATOR)


def _documents(data: bytes, pos: int) -> tuple[list[bytes], int]:
    """The BSON documents from `pos` up to a terminator, and the position after it."""
    out = []
    while data[pos:pos + 4] != TERMINATOR:
        size = struct.unpack("<i", data[pos:pos + 4])[0]
        out.append(data[pos:pos + size])
        pos += size
    return out, pos + 4


def read_archive(data: bytes) -> tuple[dict[str, Any], list[dict[str, Any]], dict[tuple[str, str], list[bytes]]]:
    """(header, collection metadata, documents by namespace); checks every CRC."""
    if struct.unpack("<I", data[:4])[0] != MAGIC:
        raise ValueError("not a mongodump archive (magic number)")
    size = struct.unpack("<i", data[4:8])[0]
    header, pos = bson.decode(data[4:4 + size]), 4 + size
    raws, pos = _documents(data, pos)
    metadata = [bson.decode(raw) for raw in raws]
    docs: dict[tuple[str, str], list[bytes]] = {(m["db"], m["collection"]): [] for m in metadata}
    crcs: dict[tuple[str, str], int] = {}
    while pos < len(data):
        size = struct.unpack("<i", data[pos:pos + 4])[0]
        ns_header, pos = bson.decode(data[pos:pos + size]), pos + size
        key = (ns_header["db"], ns_header["collection"])
        if ns_header["EOF"]:
            expected = struct.unpack("<Q", struct.pack("<q", int(ns_header["CRC"])))[0]
            if crcs.get(key, 0) != expected:
                raise ValueError(f"CRC mismatch in {key}")
            pos += 4
            continue
        raws, pos = _documents(data, pos)
        for raw in raws:
            docs.setdefault(key, []).append(raw)
            crcs[key] = crc64(crcs.get(key, 0), raw)
    return header, metadata, docs


def restore(uri: str, data: bytes, drop: bool, include: str | None) -> None:
    _, metadata, docs = read_archive(data)
    client: MongoClient[RawBSONDocument] = MongoClient(uri, document_class=RawBSONDocument)
    for (db, coll), raws in docs.items():
        if include and not fnmatch.fnmatchcase(f"{db}.{coll}", include):
            continue
        target = client[db][coll]
        if drop:
            target.drop()
        if raws:
            target.insert_many([RawBSONDocument(r) for r in raws], ordered=True)
        meta = next((m for m in metadata if (m["db"], m["collection"]) == (db, coll)), None)
        for index in (bson.json_util.loads(meta["metadata"])["indexes"] if meta else []):
            if index["name"] != "_id_":
                target.create_index(list(index["key"].items()), name=index["name"], unique=index.get("unique", False))


def main(argv: list[str]) -> int:
    tool, args = argv[0], argv[1:]
    p = argparse.ArgumentParser(prog=tool)
    p.add_argument("--uri", required=True)
    p.add_argument("--archive", required=True)
    p.add_argument("--gzip", action="store_true")
    p.add_argument("--quiet", action="store_true")
    if tool == "mongodump":
        p.add_argument("--db", required=True)
        a = p.parse_args(args)
        with (gzip.open if a.gzip else open)(a.archive, "wb") as out:
            dump(a.uri, a.db, out)
        return 0
    p.add_argument("--drop", action="store_true")
    p.add_argument("--nsInclude")
    a = p.parse_args(args)
    with (gzip.open if a.gzip else open)(a.archive, "rb") as f:
        data = f.read()
    restore(a.uri, data, a.drop, a.nsInclude)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
