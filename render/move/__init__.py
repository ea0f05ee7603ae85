"""Moving a tenant's data: a new `cluster`, `region` or `database.mode`, copied first.

`dataplane move STEP TENANT` writes tenant.yaml `move` one state at a time, each a pull
request the gate (`validate --against`) holds to this order:

    prepare   the target placement rendered beside the old one: its datastores only (engine,
              Ray and Celery at zero, no backups); on another cluster, through a second pair
              of ArgoCD Applications, tenant-<name>-move(-guardrails)
    copy      write freeze: the old placement's compute at zero; a final backup Job there, a
              restore Job on the target from exactly that backup (moves/<id>/ in the bucket),
              a digest Job on the old and a verification Job on the target (counts, hashes)
    cutover   the engine runs on the target (routing follows); the old placement kept with
              compute at zero and its volumes, until grace_until
    retire    after grace_until, with retire_approved_by: top-level cluster/region/mode are
              the target's, the old placement no longer rendered (its volumes Retain)

`dataplane move finish TENANT` then removes the record. record.py: the file's rules and
the transitions; jobs.py: the copy Jobs; target.py: the target placement's objects;
apps.py: its Applications.
"""
