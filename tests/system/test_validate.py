"""Validation: schemas, semantic rules on effective values, fleet claims and reporting."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

from render import layout
from render.load import load_repo
from render.merge import merge_tenant
from render.problems import Problem
from render.validate import fleet_rules, validate_repo
from render.validate.schemas import inline_refs, schema
from tests.support import ROOT, copy_repo
from tests.validation_repo import run

SCHEMAS = ("overrides", "tenant", "release", "platform", "extractors", "rollout", "rollout_state")
OV = "tenants/acme/overrides.yaml"


def problems(root: Path) -> list[Problem]:
    return validate_repo(load_repo(root))


def write(root: Path, rel: str, text: str) -> None:
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    (root / rel).write_text(text, encoding="utf-8")


def replace(root: Path, rel: str, old: str, new: str) -> None:
    text = (root / rel).read_text(encoding="utf-8")
    assert old in text, old
    write(root, rel, text.replace(old, new, 1))


# -- the examples ----------------------------------------------------------------------

def test_examples_are_valid_and_validate_prints_nothing() -> None:
    assert run(ROOT, "validate") == (0, "", "")


def test_every_input_file_names_its_schema() -> None:
    files = [ROOT / layout.EXTRACTORS_FILE, ROOT / layout.PLATFORM_FILE] + sorted((ROOT / layout.TENANTS_DIR).glob("*/*.yaml"))
    for path in files:
        first = path.read_text(encoding="utf-8").splitlines()[0]
        m = re.fullmatch(r"# yaml-language-server: \$schema=(\S+)", first)
        assert m, f"{path}: first line must be the yaml-language-server schema line"
        target = (path.parent / m[1]).resolve()
        assert target.parent == (ROOT / layout.SCHEMA_DIR).resolve() and target.is_file(), path
        assert target.name.split(".")[0] in {path.stem, "tenant", "overrides", "release"}


def test_new_tenant_files_name_their_schema_and_validate(tmp_path: Path) -> None:
    root = copy_repo(tmp_path, outputs=False)
    assert run(root, "new-tenant", "hooli", "--cloud", "aws", "--region", "us-east-1", "--organization-id",
               "org_h00l1", "--cloud-account", "123456789012")[0] == 0
    for file in layout.TENANT_FILES:
        first = (root / layout.tenant_file("hooli", file)).read_text(encoding="utf-8").splitlines()[0]
        assert first == f"# yaml-language-server: $schema=../../render/schemas/{file.removesuffix('.yaml')}.schema.json"
    assert run(root, "validate") == (0, "", "")


# -- the schemas -----------------------------------------------------------------------

def _undescribed(node: object, path: str) -> list[str]:
    if not isinstance(node, dict):
        return []
    out = [path] if path and "description" not in node else []
    for key, sub in node.get("properties", {}).items():
        out += _undescribed(sub, f"{path}.{key}")
    for key in ("additionalProperties", "items", "propertyNames"):
        out += _undescribed(node.get(key), f"{path}<{key}>")
    return out


@pytest.mark.parametrize("name", SCHEMAS)
def test_schema_is_draft_2020_12_and_every_property_is_described(name: str) -> None:
    s = schema(name)
    assert s["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(s)
    assert _undescribed(inline_refs(s, s), "") == []


@pytest.mark.parametrize("name", SCHEMAS)
def test_objects_reject_unknown_keys(name: str) -> None:
    def open_objects(node: object, path: str) -> list[str]:
        if not isinstance(node, dict):
            return []
        out = []
        if node.get("type") == "object" and "properties" in node and node.get("additionalProperties") is not False:
            out.append(path)
        for key, sub in node.get("properties", {}).items():
            out += open_objects(sub, f"{path}.{key}")
        return out + open_objects(node.get("additionalProperties"), f"{path}<*>")
    assert open_objects(inline_refs(schema(name), schema(name)), "") == []


def test_published_schemas_are_the_packaged_ones() -> None:
    for name in SCHEMAS:
        published = json.loads((ROOT / layout.SCHEMA_DIR / f"{name}.schema.json").read_text(encoding="utf-8"))
        assert published == schema(name)


# -- rules on effective values ---------------------------------------------------------

def test_gpu_extractor_enabled_explicitly_while_gpu_group_is_empty(tmp_path: Path) -> None:
    root = copy_repo(tmp_path, outputs=False)
    write(root, OV, "disabled: [image_extractor, face_identity_extractor]\n"
                    "cluster:\n  cpu-workers:\n    min_replicas: 0\n    max_replicas: 0\n"
                    "overrides:\n  scrolling_text_extractor:\n    enabled: true\n")
    found = [p for p in problems(root) if p.line == 8]
    assert found == [Problem(OV, 8, 14, "overrides.scrolling_text_extractor.enabled",
                             "scrolling_text_extractor_v1 runs on cpu-workers, whose max_replicas is 0: it could never start",
                             "raise cluster.cpu-workers.max_replicas, or leave this extractor off")]


def test_empty_gpu_group_is_fine_when_gpu_extractors_are_off(tmp_path: Path) -> None:
    root = copy_repo(tmp_path, outputs=False)
    write(root, OV, "disabled: [image_extractor]\noverrides:\n  face_identity_extractor:\n    enabled: false\n"
                    "cluster:\n  gpu-workers:\n    max_replicas: 0\n")
    assert problems(root) == []


def test_enabled_false_and_disabled_agree_with_merge(tmp_path: Path) -> None:
    root = copy_repo(tmp_path, outputs=False)
    write(root, OV, "disabled: [web_scraper_v1]\noverrides:\n  face_identity_extractor:\n    enabled: false\n"
                    "  scrolling_text_extractor:\n    enabled: true\n")
    repo = load_repo(root)
    assert validate_repo(repo) == []
    ext = merge_tenant(repo.current.platform, repo.current.extractors, repo.tenants["acme"]).values["extractors"]
    assert [ext[i]["enabled"] for i in ("web_scraper_v1", "face_identity_extractor_v1", "scrolling_text_extractor_v1")] == [
        False, False, True]


def test_no_effective_rules_while_a_file_has_schema_problems(tmp_path: Path) -> None:
    root = copy_repo(tmp_path, outputs=False)
    write(root, OV, "overrides:\n  text_extractor:\n    min_replicas: 9\n    max_replicas: many\n")
    assert [p.message for p in problems(root)] == ['expected a whole number, got "many"']


def test_effective_rules_run_beside_other_semantic_problems(tmp_path: Path) -> None:
    """An unknown name or a protected env key does not hide a min > max in the same run."""
    root = copy_repo(tmp_path, outputs=False)
    write(root, OV, "disabled: [web_scrapr]\noverrides:\n  text_extractor:\n    min_replicas: 5\n"
                    "    max_replicas: 2\nenv:\n  MONGO_URI: x\n")
    found = [(p.line, p.pointer) for p in problems(root) if p.file == OV]
    assert found == [(1, "disabled[0]"), (5, "overrides.text_extractor.max_replicas"), (7, "env.MONGO_URI")]


def test_registry_rules_point_at_the_registry_once(tmp_path: Path) -> None:
    root = copy_repo(tmp_path, outputs=False)
    replace(root, layout.PLATFORM_FILE, "    max_replicas: 3\n    replicas: 0\n    cpu: \"7\"\n    memory: 26Gi\n    gpus: 1",
            "    max_replicas: 0\n    replicas: 0\n    cpu: \"7\"\n    memory: 26Gi\n    gpus: 1")
    replace(root, layout.EXTRACTORS_FILE, "  universal_extractor_v1:\n    name: universal_extractor\n",
            "  universal_extractor_v1:\n    name: universal_extracter\n")
    found = problems(root)
    assert [(p.file, p.pointer) for p in found] == [
        (layout.EXTRACTORS_FILE, "extractors.universal_extractor_v1"),
        (layout.PLATFORM_FILE, "worker_groups.gpu-workers.max_replicas"),
        # globex raises gpu-workers' max itself; acme and initech inherit the 0.
    ]
    assert found[0].hint == "ids are <name>_<version>: rename it 'universal_extracter_v1'"


def test_registry_schema_problem_skips_tenant_rules(tmp_path: Path) -> None:
    root = copy_repo(tmp_path, outputs=False)
    replace(root, layout.PLATFORM_FILE, "  bucket_prefix: dp-data", "  bucket_prefx: dp-data")
    assert {(p.file, p.message) for p in problems(root)} == {
        (layout.PLATFORM_FILE, "unknown key 'bucket_prefx'"), (layout.PLATFORM_FILE, "missing required key 'bucket_prefix'")}


# -- names and the fleet ---------------------------------------------------------------

def test_folder_name_must_be_a_dns_label(tmp_path: Path) -> None:
    root = copy_repo(tmp_path, outputs=False)
    (root / "tenants/acme").rename(root / "tenants/Acme_Corp")
    found = problems(root)
    assert found[0] == Problem("tenants/Acme_Corp", 1, 1, "",
                               "tenant folder name 'Acme_Corp' is not a DNS-1123 label of at most 40 characters",
                               "use lower-case letters, digits and '-', starting and ending with a letter or digit")
    assert found[1].message == "name 'acme' differs from the folder name 'Acme_Corp'"


def test_duplicate_organization_points_at_both_files(tmp_path: Path) -> None:
    root = copy_repo(tmp_path, outputs=False)
    replace(root, "tenants/initech/tenant.yaml", "org_19c5e6f0", "org_7f3a9c21")
    assert [p.format() for p in problems(root)] == [
        "tenants/acme/tenant.yaml:5:18: organization_id: organization id 'org_7f3a9c21' is also claimed by "
        "tenants/initech/tenant.yaml:5\n    hint: every tenant needs its own organization id",
        "tenants/initech/tenant.yaml:5:18: organization_id: organization id 'org_7f3a9c21' is also claimed by "
        "tenants/acme/tenant.yaml:5\n    hint: every tenant needs its own organization id",
    ]


def test_partial_validation_still_sees_the_fleet(tmp_path: Path) -> None:
    root = copy_repo(tmp_path, outputs=False)
    replace(root, "tenants/initech/tenant.yaml", "org_19c5e6f0", "org_7f3a9c21")
    write(root, "tenants/globex/overrides.yaml", "not: [valid\n")  # not ours to report
    code, out, _ = run(root, "validate", "acme", "--format", "json")
    assert code == 2
    assert [(p["file"], p["line"]) for p in json.loads(out)] == [("tenants/acme/tenant.yaml", 5)]


def test_every_tenant_claims_its_bucket_database_and_vector_prefix() -> None:
    repo = load_repo(ROOT)
    got = {(what, value) for what, value, _, _ in fleet_rules.claims("acme", repo.tenants["acme"].tenant, repo.current.platform)}
    assert got == {("organization id", "org_7f3a9c21"), ("database", "dp_acme"), ("bucket", "dp-data-acme"),
                   ("vector collection prefix", "acme__"), ("queue prefix", "acme."), ("Redis key prefix", "acme:")}


def test_own_fork_image_is_fine(tmp_path: Path) -> None:
    root = copy_repo(tmp_path, outputs=False)
    digest = "sha256:" + "f" * 64
    write(root, "tenants/acme/release.yaml", f'platform_version: "2026.11.3"\n'
          f'image: "ghcr.io/dataplane-platform/engine-tenant-acme:tenant-acme-3f9a1c2@{digest}"\n'
          f'fork_builds:\n  - {{sha: "3f9a1c2", digest: "{digest}"}}\n')
    assert problems(root) == []


# -- reporting -------------------------------------------------------------------------

@pytest.fixture()
def broken(tmp_path: Path) -> Path:
    root = copy_repo(tmp_path, outputs=False)
    write(root, OV, "overrides:\n  text_extractor:\n    memory: 8GB\n")
    write(root, "tenants/globex/release.yaml", "platform_version: x\nimage: ghcr.io/dataplane-platform/engine:tenant-acme-3f9a1c2\n")
    replace(root, "tenants/acme/tenant.yaml", "cloud: gcp", "cloud: gpc")
    return root


def test_all_problems_of_all_files_sorted_by_file_and_line(broken: Path) -> None:
    code, out, err = run(broken, "--format", "text", "validate")
    assert (code, out) == (2, "")
    assert err == (
        "tenants/acme/overrides.yaml:3:13: overrides.text_extractor.memory: '8GB' is not a Kubernetes quantity\n"
        "    hint: write '8Gi'\n"
        "tenants/acme/tenant.yaml:6:8: cloud: \"gpc\" is not one of: gcp, aws\n"
        "    hint: did you mean 'gcp'?\n"
        "tenants/globex/release.yaml:2:8: image: image 'ghcr.io/dataplane-platform/engine:tenant-acme-3f9a1c2' is a fork "
        "build of tenant acme\n"
        "    hint: a fork image runs only in its own tenant; use tenant-globex-<sha> or the platform image\n"
        "3 problems found.\n")  # validate writes nothing, so it does not say so


def test_json_format(broken: Path) -> None:
    code, out, _ = run(broken, "validate", "--format", "json")
    assert code == 2
    assert json.loads(out)[0] == {"file": OV, "line": 3, "column": 13, "pointer": "overrides.text_extractor.memory",
                                  "message": "'8GB' is not a Kubernetes quantity", "hint": "write '8Gi'"}


def test_github_annotations_under_github_actions(broken: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    code, out, _ = run(broken, "validate")
    assert code == 2
    assert out.splitlines()[0] == (f"::error file={OV},line=3,col=13::overrides.text_extractor.memory: "
                                   "'8GB' is not a Kubernetes quantity (hint: write '8Gi')")
    assert len(out.splitlines()) == 3


def test_invalid_input_and_stale_output_have_different_exit_codes(broken: Path, tmp_path: Path) -> None:
    assert run(broken, "render", "--check")[0] == 2
    root = copy_repo(tmp_path / "stale", outputs=True)
    replace(root, OV, "{}", "env: {LOG_LEVEL: DEBUG}")
    assert run(root, "render", "--check")[0] == 1


def test_docs_show_every_overrides_key_and_extractor() -> None:
    docs = (ROOT / "docs" / "tenants.md").read_text(encoding="utf-8")

    def keys(node: dict[str, object]) -> set[str]:
        props = node.get("properties", {})
        assert isinstance(props, dict)
        out = set(props)
        for sub in list(props.values()) + [node.get("additionalProperties")]:
            if isinstance(sub, dict):
                out |= keys(sub)
        return out

    missing = [k for k in sorted(keys(inline_refs(schema("overrides"), schema("overrides")))) if f"{k}:" not in docs]
    assert missing == []
    extractors = load_repo(ROOT).current.extractors.data["extractors"]
    assert [i for i in extractors if f"`{i}`" not in docs] == []


def test_name_overrides_still_apply_while_one_version_is_disabled(tmp_path: Path) -> None:
    root = copy_repo(tmp_path, outputs=False)
    write(root, OV, "disabled: [multimodal_extractor_v1]\noverrides:\n  multimodal_extractor:\n    max_replicas: 3\n")
    assert problems(root) == []
    write(root, OV, "disabled: [multimodal_extractor_v1, multimodal_extractor_v2]\n"
                    "overrides:\n  multimodal_extractor:\n    max_replicas: 3\n")
    assert [p.message for p in problems(root)] == [
        "'multimodal_extractor' is disabled (line 1), so these overrides would never apply"]


def test_github_annotation_escapes_properties_and_text() -> None:
    p = Problem("tenants/a,b:c.yaml", 3, 5, "env.X", "50% done\nnext", "h")
    assert p.github() == "::error file=tenants/a%2Cb%3Ac.yaml,line=3,col=5::env.X: 50%25 done%0Anext (hint: h)"


def test_missing_registry_suggests_the_repository_root(tmp_path: Path) -> None:
    code, _, err = run(tmp_path, "validate")
    assert code == 2
    assert "registry/platform.yaml:1:1: file is missing\n    hint: is " in err
