"""The Jobs of a move's copy state, built on the backup and restore Jobs of render/backups.py.

Old placement (its Application, after the compute is at zero):
  wave 3  move-backup-<datastore>-<attempt>: the backup Job spec, writing to moves/<id>/
  wave 4  move-digest-<attempt>: per collection, the document count and a SHA-256 over the
          documents in _id order (canonical Extended JSON), to moves/<id>/source-digest.json
Target placement (its own Application, maybe on another cluster):
  wave 3  move-restore-<datastore>-<attempt>: waits until moves/<id>/ holds the backup,
          refuses more than one, and loads exactly that file with the restore Job's own step
  wave 4  move-verify-<attempt>: the same digest of the target, compared with the source's;
          prints the `verified` block for `dataplane move cutover` and fails on a difference

The bucket is the hand-over between the two Applications (sync waves order only inside
one). Pure.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from render import backups, clouds, layout
from render.context_types import BaseContext
from render.move import record

BACKUP_WAVE = "3"
CHECK_WAVE = "4"
POLL_S = 10
DIGEST_FILE = "source-digest.json"
# A placeholder backup name: restore_job needs one to pick the datastore; the move's own
# download step replaces the fixed object it would fetch.
_ANY_TIME = "19700101T000000Z"


def copied(move: dict[str, Any]) -> list[str]:
    """The datastores a move copies: MongoDB always; Redis (queues, cache) when the cluster changes."""
    cross = record.get(move, ("from", "cluster")) != record.get(move, ("to", "cluster"))
    return ["mongodb", "redis"] if cross else ["mongodb"]


def name(kind: str, move: dict[str, Any], datastore: str | None = None) -> str:
    return f"move-{kind}-{datastore + '-' if datastore else ''}{move['attempt']}"


def digest_js(database: str) -> str:
    """mongosh: {collection: {count, sha256}} of the tenant's database, as one JSON line."""
    return (f"const db = new Mongo(process.env.MONGO_URI).getDB({json.dumps(database)});\n"
            "const crypto = require('crypto');\n"
            "const digest = {};\n"
            "for (const n of db.getCollectionNames().filter((c) => !c.startsWith('system.')).sort()) {\n"
            "  const h = crypto.createHash('sha256');\n"
            "  let count = 0;\n"
            "  db.getCollection(n).find({}).sort({_id: 1}).forEach((d) => {\n"
            "    h.update(EJSON.stringify(d, {relaxed: false})); h.update('\\n'); count += 1;\n"
            "  });\n"
            "  digest[n] = {count: count, sha256: h.digest('hex')};\n"
            "}\n"
            "print(JSON.stringify(digest));\n")


def verify_js(database: str, job: str) -> str:
    """mongosh: the target's digest against the source's; the `verified` block; exit 1 on a difference."""
    return (digest_js(database)
            + "const source = JSON.parse(require('fs').readFileSync(process.env.BACKUP_DIR + "
            + json.dumps("/" + DIGEST_FILE) + ", 'utf8'));\n"
            "const names = [...new Set([...Object.keys(source), ...Object.keys(digest)])].sort();\n"
            "const differ = names.filter((n) => JSON.stringify(source[n]) !== JSON.stringify(digest[n]));\n"
            "for (const n of differ) print('differs: ' + n + ' source ' + JSON.stringify(source[n] || null) + "
            "' target ' + JSON.stringify(digest[n] || null));\n"
            "if (differ.length) quit(1);\n"
            f"print('verified:');\nprint('  job: {job}');\n"
            "for (const n of names) print('  # ' + n + ': ' + digest[n].count + ' documents, sha256 ' + digest[n].sha256);\n")


def _script(js: str, tail: str) -> str:
    return f"set -eu\ncat > \"$BACKUP_DIR/move.js\" <<'JS'\n{js}JS\n{tail}\n"


def _wait_and_fetch(ctx: BaseContext, folder: str, pattern: str, dest: str, exactly_one: bool) -> str:
    """Wait until the old placement's Job wrote `pattern` to `folder`; copy it to `dest`."""
    tool = clouds.get(ctx["cloud"]).backup_tool
    url = f"{ctx['names']['backup_bucket_url']}/{folder}"
    check = ('[ "$(printf \'%s\\n\' "$found" | wc -l)" -eq 1 ] || '
             f'{{ echo "more than one object matches in {url}: $found"; exit 1; }}\n') if exactly_one else ""
    return ("set -eu\n"
            f"until found=\"$({{ {clouds.get(ctx['cloud']).list_command(url)} || true; }} | grep -E '{pattern}' || true)\"; "
            f"[ -n \"$found\" ]; do sleep {POLL_S}; done\n"
            f"{check}"
            f'{tool.copy} "$found" "{dest}"\n'
            'echo "fetched $found"\n')


def source_jobs(ctx: BaseContext, move: dict[str, Any]) -> list[dict[str, Any]]:
    """The final backups and the source digest, on the old placement."""
    folder = record.bucket_folder(move)
    jobs = [{"name": name("backup", move, ds), "wave": BACKUP_WAVE,
             "spec": backups.job_spec(ctx, ds, to=folder, app=name("backup", move, ds))} for ds in copied(move)]
    spec = backups.job_spec(ctx, "mongodb", to=folder, app=name("digest", move))
    pod = spec["template"]["spec"]
    (init,), (main,) = pod["initContainers"], pod["containers"]
    init["name"], main["name"] = "digest", "upload"
    init["command"] = ["sh", "-c", _script(digest_js(ctx["names"]["database"]),
                                           'mongosh --quiet --nodb "$BACKUP_DIR/move.js" > "$BACKUP_DIR/digest.json"')]
    tool = clouds.get(ctx["cloud"]).backup_tool
    main["command"] = ["sh", "-c", f'set -eu\n{tool.copy} "$BACKUP_DIR/digest.json" '
                                   f'"{ctx["names"]["backup_bucket_url"]}/{folder}{DIGEST_FILE}"\necho "digest uploaded"\n']
    return [*jobs, {"name": name("digest", move), "wave": CHECK_WAVE, "spec": spec}]


def target_jobs(ctx: BaseContext, move: dict[str, Any]) -> list[dict[str, Any]]:
    """The restores from exactly the final backups, and the verification, on the target."""
    folder = record.bucket_folder(move)
    out = []
    for ds in copied(move):
        job = backups.restore_job(ctx, f"{ds}-{_ANY_TIME}")
        spec = _relabel(job["spec"], name("restore", move, ds))
        d = backups.DATASTORES[ds]
        pattern = f"/{ds}-[0-9]{{8}}T[0-9]{{6}}Z{d.suffix.replace('.', '[.]')}$"
        pod = spec["template"]["spec"]
        pod["initContainers"][0]["command"] = ["sh", "-c", _wait_and_fetch(ctx, folder, pattern, f"$BACKUP_DIR/{d.file}", True)]
        restore = pod["containers"][0]
        restore["command"] = ["sh", "-c", restore["command"][2].replace(f"restored {ds}-{_ANY_TIME}", f"restored {ds} of move {record.move_id(move)}")]
        out.append({"name": name("restore", move, ds), "wave": BACKUP_WAVE, "spec": spec})
    verify = record.verify_job(int(move["attempt"]))
    spec = _relabel(backups.restore_job(ctx, f"mongodb-{_ANY_TIME}")["spec"], verify)
    pod = spec["template"]["spec"]
    fetch, check = pod["initContainers"][0], pod["containers"][0]
    fetch["command"] = ["sh", "-c", _wait_and_fetch(ctx, folder, f"/{DIGEST_FILE.replace('.', '[.]')}$",
                                                    f"$BACKUP_DIR/{DIGEST_FILE}", True)]
    check["name"] = "verify"
    check["command"] = ["sh", "-c", _script(verify_js(ctx["names"]["database"], verify), 'mongosh --quiet --nodb "$BACKUP_DIR/move.js"')]
    out.append({"name": verify, "wave": CHECK_WAVE, "spec": spec})
    return out


def _relabel(spec: dict[str, Any], job: str) -> dict[str, Any]:
    spec = copy.deepcopy(spec)
    spec["template"]["metadata"]["labels"][layout.LABEL_NAME] = job
    return spec
