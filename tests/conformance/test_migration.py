"""The migration state machine (render/migration.py), its validation and its rendered Jobs."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from render import migration
from render.load import load_repo, parse_yaml
from render.pipeline import render_repo
from render.problems import Problem, ProblemsError
from render.validate import validate_repo
from tests.lifecycle_repo import make_repo
from tests.support import crds_dir, need, need_binary, pin_to_first_commit, set_pin, tenant_yaml

ORG = "org_5d2c8e47"
FILE = "tenants/umbrella/tenant.yaml"
COPIED = "  copied:\n    job: migrate-copy-1\n"
VERIFIED = ("  verified:\n    job: migrate-verify-1\n    collections:\n"
            "      assets: {source: 120, target: 120}\n      namespaces: {source: 3, target: 3}\n")
STATES = {
    "copying": "routing: shared\nmigration:\n  state: copying\n  attempt: 1\n",
    "verifying": "routing: shared\nmigration:\n  state: verifying\n  attempt: 1\n" + COPIED,
    "cut_over": "routing: dedicated\nmigration:\n  state: cut_over\n  attempt: 1\n" + COPIED + VERIFIED,
    "rolled_back": ("routing: shared\nmigration:\n  state: rolled_back\n  attempt: 1\n" + COPIED + VERIFIED
                    + "  rolled_back:\n    reason: p99 latency doubled after cut-over\n"),
}


def problems(extra: str, tmp_path: Path) -> list[Problem]:
    repo = load_repo(make_repo(tmp_path, {"umbrella": tenant_yaml("umbrella", ORG, extra)}))
    return validate_repo(repo)


@pytest.mark.parametrize("state", sorted(STATES))
def test_every_state_with_its_evidence_is_valid(state: str, tmp_path: Path) -> None:
    assert problems(STATES[state], tmp_path) == []


def test_cut_over_before_verifying_is_rejected_at_the_state_line(tmp_path: Path) -> None:
    extra = "routing: dedicated\nmigration:\n  state: cut_over\n  attempt: 1\n" + COPIED
    # tenant_yaml has 11 lines; `routing` is line 12, `state` line 14.
    assert problems(extra, tmp_path) == [Problem(
        FILE, 14, 3, "migration.state", "state cut_over needs the `verified` step recorded first",
        "set state: verifying and paste the output of migrate-verify-1 as `verified`")]


def test_verifying_before_copying_is_rejected(tmp_path: Path) -> None:
    extra = "routing: shared\nmigration:\n  state: verifying\n  attempt: 1\n"
    (p,) = problems(extra, tmp_path)
    assert (p.pointer, p.message) == ("migration.state", "state verifying needs the `copied` step recorded first")
    assert "migrate-copy-1" in p.hint


def test_cut_over_must_flip_routing_in_the_same_commit(tmp_path: Path) -> None:
    extra = STATES["cut_over"].replace("routing: dedicated", "routing: shared")
    assert problems(extra, tmp_path) == [Problem(
        FILE, 12, 1, "routing", "migration state cut_over needs routing: dedicated, not shared",
        "set routing: dedicated in the same commit as state: cut_over")]


def test_routing_left_out_means_dedicated_which_copying_forbids(tmp_path: Path) -> None:
    (p,) = problems("migration:\n  state: copying\n  attempt: 1\n", tmp_path)
    assert (p.pointer, p.line) == ("migration.state", 13)
    assert p.message == "migration state copying needs routing: shared, not dedicated"


def test_evidence_from_an_earlier_attempt_is_rejected(tmp_path: Path) -> None:
    extra = STATES["verifying"].replace("attempt: 1", "attempt: 2")
    (p,) = problems(extra, tmp_path)
    assert p.pointer == "migration.copied.job"
    assert p.message == "evidence is from 'migrate-copy-1', not from attempt 2's Job 'migrate-copy-2'"


def test_differing_document_counts_block_the_cut_over(tmp_path: Path) -> None:
    extra = STATES["cut_over"].replace("assets: {source: 120, target: 120}", "assets: {source: 120, target: 119}")
    (p,) = problems(extra, tmp_path)
    assert (p.pointer, p.line) == ("migration.verified.collections.assets", 21)
    assert p.message == "collection 'assets' has 120 documents in the source but 119 in the target"


def test_a_later_step_cannot_be_recorded_early(tmp_path: Path) -> None:
    (p,) = problems(STATES["copying"] + COPIED, tmp_path)
    assert (p.pointer, p.message) == ("migration.copied", "`copied` cannot be recorded in state copying")


def test_rolled_back_needs_a_reason(tmp_path: Path) -> None:
    extra = "routing: shared\nmigration:\n  state: rolled_back\n  attempt: 1\n"
    (p,) = problems(extra, tmp_path)
    assert p.message == "state rolled_back needs the `rolled_back` step recorded first"


def test_unknown_state_is_a_schema_problem_with_a_suggestion(tmp_path: Path) -> None:
    (p,) = problems("routing: shared\nmigration:\n  state: cutover\n  attempt: 1\n", tmp_path)
    assert (p.pointer, p.hint) == ("migration.state", "did you mean 'cut_over'?")


def test_shared_routing_needs_the_shared_platform_section(tmp_path: Path) -> None:
    root = make_repo(tmp_path, {"umbrella": tenant_yaml("umbrella", ORG, "routing: shared\n")})
    platform = (root / "registry/platform.yaml").read_text(encoding="utf-8")
    head, rest = platform.split("\nshared_platform:")
    tail = rest.split("\n\n", 1)[1] if "\n\n" in rest else ""  # the sections after shared_platform stay
    (root / "registry/platform.yaml").write_text(head + "\n\n" + tail, encoding="utf-8")
    (p,) = validate_repo(load_repo(root))
    assert (p.file, p.pointer) == (FILE, "routing")
    assert "shared_platform" in p.message


# --- transitions between two committed versions -------------------------------------------

def _version(state: str | None, attempt: int = 1) -> str:
    if state is None:
        return "routing: dedicated\n"
    return STATES[state].replace("attempt: 1", f"attempt: {attempt}").replace("-1\n", f"-{attempt}\n")


LEGAL = [(None, "copying"), ("copying", "verifying"), ("verifying", "cut_over"), ("cut_over", "rolled_back"),
         ("cut_over", "verifying"), ("copying", "rolled_back"), ("verifying", "rolled_back"), ("cut_over", None)]
ILLEGAL = [(None, "verifying"), (None, "cut_over"), ("copying", "cut_over"), ("rolled_back", "cut_over"),
           ("rolled_back", "verifying"), ("copying", None)]


@pytest.mark.parametrize(("old", "new"), LEGAL)
def test_legal_transitions(old: str | None, new: str | None) -> None:
    before = yaml.safe_load(tenant_yaml("umbrella", ORG, _version(old)))
    after = parse_yaml(tenant_yaml("umbrella", ORG, _version(new)), FILE)
    assert migration.check_transition(before, after) == []


@pytest.mark.parametrize(("old", "new"), ILLEGAL)
def test_illegal_transitions(old: str | None, new: str | None) -> None:
    before = yaml.safe_load(tenant_yaml("umbrella", ORG, _version(old)))
    after = parse_yaml(tenant_yaml("umbrella", ORG, _version(new)), FILE)
    (p,) = migration.check_transition(before, after)
    assert p.message == f"migration cannot go from {old or 'no migration'} to {new or 'no migration'}"


def test_a_new_copy_after_rollback_is_the_next_attempt() -> None:
    before = yaml.safe_load(tenant_yaml("umbrella", ORG, _version("rolled_back")))
    again = parse_yaml(tenant_yaml("umbrella", ORG, _version("copying", 2)), FILE)
    same = parse_yaml(tenant_yaml("umbrella", ORG, _version("copying", 1)), FILE)
    assert migration.check_transition(before, again) == []
    (p,) = migration.check_transition(before, same)
    assert (p.pointer, p.message) == ("migration.attempt", "a new copy must be attempt 2, not 1")


@pytest.mark.parametrize(("before", "after"), [
    ("routing: dedicated\n", "routing: shared\n"),
    ("routing: shared\n", "routing: dedicated\n"),  # a cut-over without copying
    (STATES["cut_over"], "routing: shared\n"),  # finishing, but back on shared
    (STATES["rolled_back"], "routing: dedicated\n"),  # abandoning, but routed to the copy
])
def test_routing_moves_only_through_a_migration(before: str, after: str) -> None:
    old = yaml.safe_load(tenant_yaml("umbrella", ORG, before))
    (p,) = migration.check_transition(old, parse_yaml(tenant_yaml("umbrella", ORG, after), FILE))
    assert (p.pointer, p.line) == ("routing", 12)
    assert p.message.startswith("routing cannot change from ")


def test_finishing_keeps_the_routing_of_the_last_state() -> None:
    for state, routing in (("cut_over", "dedicated"), ("rolled_back", "shared")):
        old = yaml.safe_load(tenant_yaml("umbrella", ORG, STATES[state]))
        assert migration.check_transition(old, parse_yaml(tenant_yaml("umbrella", ORG, f"routing: {routing}\n"), FILE)) == []


# --- rendered Jobs and routing ----------------------------------------------------------

def render(extra: str, tmp_path: Path) -> dict[str, dict]:
    outputs = render_repo(load_repo(make_repo(tmp_path, {"umbrella": tenant_yaml("umbrella", ORG, extra)})))
    return {path: yaml.safe_load(data) for files in outputs.values() for path, data in files.items()}


def jobs(objects: dict[str, dict]) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in objects.values() if o["kind"] == "Job"}


def route(objects: dict[str, dict]) -> dict:
    cm = objects["control-plane/routing/umbrella/configmap-routing-umbrella.yaml"]
    return json.loads(cm["data"][f"{ORG}.json"])


def test_copying_renders_the_copy_job_only_and_pauses_writes(tmp_path: Path) -> None:
    objects = render(STATES["copying"], tmp_path)
    (job,) = jobs(objects).values()
    assert job["metadata"]["name"] == "migrate-copy-1"
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["image"].startswith("docker.io/library/mongo:7.0.21@sha256:")  # images.mongodb_tools, by digest
    script = container["command"][2]
    assert "mongodump --uri=\"$SOURCE_URI\" --db=org_5d2c8e47 --archive" in script
    assert "--nsInclude='org_5d2c8e47.*' --nsFrom='org_5d2c8e47.*' --nsTo='dp_umbrella.*'" in script
    subprocess.run(["bash", "-n", "-c", script], check=True)
    env = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"] if "valueFrom" in e}
    assert env == {"SOURCE_URI": {"name": "migration-source-credentials", "key": "uri"},
                   "TARGET_URI": {"name": "mongodb-credentials", "key": "uri"}}
    source = objects["rendered/umbrella/externalsecret-migration-source-credentials.yaml"]
    # Read through the tenant's own store; GCP Secret Manager ids hold no '/'.
    assert source["spec"]["secretStoreRef"] == {"kind": "SecretStore", "name": "tenant-secrets"}
    assert source["spec"]["data"][0]["remoteRef"]["key"] == f"dataplane_shared_organizations_{ORG}_mongodb"
    policy = objects["rendered/umbrella/networkpolicy-allow-migration-source.yaml"]
    assert policy["spec"]["egress"][0]["to"][0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "shared-platform"}
    r = route(objects)
    assert (r["routing"], r["writes_paused"], r["migration"]) == ("shared", True, {"state": "copying", "attempt": 1})
    assert r["endpoints"]["database"]["database"] == ORG


def test_verifying_renders_only_the_verification_job(tmp_path: Path) -> None:
    objects = render(STATES["verifying"], tmp_path)
    assert sorted(jobs(objects)) == ["migrate-verify-1"]
    assert route(objects)["writes_paused"] is True


@pytest.mark.parametrize("state", ["cut_over", "rolled_back"])
def test_after_the_copy_nothing_migration_related_is_rendered(state: str, tmp_path: Path) -> None:
    objects = render(STATES[state], tmp_path)
    assert not [p for p, o in objects.items() if o["metadata"]["labels"].get("app.kubernetes.io/component") == "migration"]
    r = route(objects)
    expected = ("dedicated", "dp_umbrella") if state == "cut_over" else ("shared", ORG)
    assert (r["routing"], r["endpoints"]["database"]["database"]) == expected
    assert r["writes_paused"] is False


@pytest.mark.parametrize("state", ["copying", "verifying"])
def test_jobs_are_valid_kubernetes(state: str, tmp_path: Path) -> None:
    kubernetes_validate = need("kubernetes_validate")
    for job in jobs(render(STATES[state], tmp_path)).values():
        kubernetes_validate.validate(job, "1.33.0", strict=True)


VERIFY_HARNESS = """
const data = JSON.parse(process.argv[2]);
globalThis.Mongo = class { constructor(uri) { this.uri = uri; }
  getDB(name) { const colls = (data[this.uri] || {})[name] || {};
    return { getCollectionNames: () => Object.keys(colls),
             getCollection: (n) => ({ countDocuments: () => colls[n] || 0 }) }; } };
globalThis.print = (s) => console.log(s);
globalThis.quit = (code) => process.exit(code);
process.env.SOURCE_URI = "src"; process.env.TARGET_URI = "dst";
new Function(process.argv[1])();
"""


def run_verify(script: str, source: dict[str, int], target: dict[str, int]) -> subprocess.CompletedProcess[str]:
    """The verification script under node, with an in-memory stand-in for two databases."""
    data = {"src": {ORG: source}, "dst": {"dp_umbrella": target}}
    return subprocess.run(["node", "-e", VERIFY_HARNESS, script, json.dumps(data)], capture_output=True, text=True)


def test_verification_output_is_the_evidence_tenant_yaml_accepts(tmp_path: Path) -> None:
    need_binary("node", "apt-get install nodejs")  # runs the mongosh script
    script = migration.verify_script(ORG, "dp_umbrella", "migrate-verify-1")
    same = run_verify(script, {"assets": 120, "system.views": 1, "namespaces": 3}, {"assets": 120, "namespaces": 3})
    assert same.returncode == 0, same.stderr
    extra = "routing: dedicated\nmigration:\n  state: cut_over\n  attempt: 1\n" + COPIED + "  " + same.stdout.replace("\n", "\n  ")
    assert problems(extra.rstrip() + "\n", tmp_path) == []
    differ = run_verify(script, {"assets": 120}, {"assets": 119})
    assert differ.returncode == 1
    assert '"assets": {source: 120, target: 119}' in differ.stdout


def test_reverting_the_cut_over_commit_routes_back_to_shared(tmp_path: Path) -> None:
    root = make_repo(tmp_path, {"umbrella": tenant_yaml("umbrella", ORG, STATES["verifying"])})
    git = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    _commit(root, "verifying")
    (root / FILE).write_text(tenant_yaml("umbrella", ORG, STATES["cut_over"]), encoding="utf-8")
    subprocess.run([*git, "commit", "-qam", "cut over"], check=True)
    assert route(_objects(root))["routing"] == "dedicated"
    subprocess.run([*git, "revert", "--no-edit", "HEAD"], check=True, capture_output=True)
    after = _objects(root)
    assert route(after)["routing"] == "shared"
    assert sorted(jobs(after)) == ["migrate-verify-1"]  # never the copy: it would overwrite new writes


def _objects(root: Path) -> dict[str, dict]:
    outputs = render_repo(load_repo(root))
    return {path: yaml.safe_load(data) for files in outputs.values() for path, data in files.items()}


def test_invalid_migration_stops_the_render(tmp_path: Path) -> None:
    root = make_repo(tmp_path, {"umbrella": tenant_yaml("umbrella", ORG, "routing: dedicated\nmigration:\n  state: cut_over\n  attempt: 1\n")})
    with pytest.raises(ProblemsError):
        render_repo(load_repo(root))


# --- `dataplane migration --against REF` ----------------------------------------------------

def _commit(root: Path, message: str) -> None:
    git = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    first = not (root / ".git").exists()
    if first:
        subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", message], check=True)
    if first:  # in a repository every tenant pins a platform release
        pin_to_first_commit(root)


def test_migration_command_checks_transitions_against_a_commit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from render.commands.migration import show

    root = make_repo(tmp_path, {"umbrella": tenant_yaml("umbrella", ORG, STATES["copying"])})
    _commit(root, "start copying")
    (root / FILE).write_text(tenant_yaml("umbrella", ORG, STATES["verifying"]), encoding="utf-8")
    assert show(root=root, tenants=[], against="HEAD") == 0
    out = capsys.readouterr().out
    assert "umbrella: routing shared, migration verifying (attempt 1), writes paused" in out
    # Skipping verification: the file alone is valid (evidence present), the history is not.
    (root / FILE).write_text(tenant_yaml("umbrella", ORG, STATES["cut_over"]), encoding="utf-8")
    assert validate_repo(load_repo(root)) == []
    with pytest.raises(ProblemsError) as e:
        show(root=root, tenants=[], against="HEAD")
    (p,) = e.value.problems
    assert (p.file, p.line, p.pointer) == (FILE, 14, "migration.state")
    assert p.message == "migration cannot go from copying to cut_over"


def test_a_tenant_new_since_the_commit_starts_without_a_migration_or_copying(tmp_path: Path) -> None:
    from render.commands.migration import show

    root = make_repo(tmp_path, {"acme": tenant_yaml("acme", "org_a1")})
    _commit(root, "acme")
    from tests.lifecycle_repo import write_tenant
    write_tenant(root, "umbrella", tenant_yaml("umbrella", ORG, STATES["copying"]))
    set_pin(root, "umbrella", yaml.safe_load((root / "tenants/acme/release.yaml").read_text())["platform_revision"])
    assert show(root=root, tenants=[], against="HEAD") == 0


@pytest.mark.crds
def test_source_credentials_match_the_external_secrets_crd(tmp_path: Path) -> None:
    import jsonschema

    folder = crds_dir()
    crd = next(d for p in sorted((folder / "external-secrets").glob("*.yaml"))
               for d in yaml.safe_load_all(p.read_text(encoding="utf-8"))
               if d and d.get("kind") == "CustomResourceDefinition" and d["spec"]["names"]["kind"] == "ExternalSecret")
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1"]
    secret = render(STATES["copying"], tmp_path)["rendered/umbrella/externalsecret-migration-source-credentials.yaml"]
    assert secret["apiVersion"] == "external-secrets.io/v1"
    errors = list(jsonschema.Draft7Validator(version["schema"]["openAPIV3Schema"]).iter_errors(secret))
    assert [e.message for e in errors] == []
