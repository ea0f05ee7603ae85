"""Clouds behind one interface (render/clouds/): every per-cloud decision is a member of
`Cloud`, each cloud one module registered in `CLOUDS`, and nothing else branches on a
cloud's name.

A cloud missing a member is a type error (mypy, as tests/conformance/test_lint.py runs it) and an
import error; code or a shared template that names a cloud is found here by its syntax
tree; the schemas' cloud lists are written from the registered clouds, so a tenant naming
another is a problem at its `cloud` key.
"""

from __future__ import annotations

import ast
import copy
import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import jinja2
import pytest
from jinja2 import nodes

from render import clouds, generated, layout, prerequisites, templates
from render.clouds import base
from render.load import read_templates
from tests.support import ROOT, copy_repo, dataplane, edit, need, need_binary

ENGINE = ROOT / layout.ENGINE_DIR
CLOUD_MODULES = ENGINE / "clouds"
NAMES = set(clouds.CLOUDS)


# -- no branch on a cloud's name outside render/clouds/ ---------------------------------

def _names_a_cloud(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and node.value in NAMES


def cloud_branches(source: str, rel: str) -> list[str]:
    """Where Python code decides by a cloud's name: a comparison with one (`== "gcp"`,
    `in ("gcp", "aws")`), a mapping keyed by one, or a collection listing one."""
    out = []
    for node in ast.walk(ast.parse(source)):
        what = ""
        if isinstance(node, ast.Compare) and any(_names_a_cloud(n) for n in [node.left, *node.comparators]):
            what = "compares with a cloud's name"
        elif isinstance(node, ast.Dict) and any(k is not None and _names_a_cloud(k) for k in node.keys):
            what = "a mapping keyed by a cloud's name"
        elif isinstance(node, ast.Tuple | ast.List | ast.Set) and any(_names_a_cloud(e) for e in node.elts):
            what = "lists a cloud's name"
        elif isinstance(node, ast.Compare) and any(isinstance(c, ast.Tuple | ast.List | ast.Set)
                                                   and any(_names_a_cloud(e) for e in c.elts) for c in node.comparators):
            what = "tests membership in cloud names"
        if what:
            out.append(f"{rel}:{getattr(node, 'lineno', 0)}: {what}; make it a member of render/clouds/base.py Cloud")
    return out


def _engine_sources() -> Iterator[tuple[str, str]]:
    for path in sorted(ENGINE.rglob("*.py")):
        if CLOUD_MODULES in path.parents:
            continue
        yield path.relative_to(ROOT).as_posix(), path.read_text(encoding="utf-8")


def test_no_engine_module_outside_render_clouds_branches_on_a_cloud_name() -> None:
    sources = dict(_engine_sources())
    assert len(sources) > 150  # the whole engine, not an empty glob
    found = [f for rel, text in sources.items() for f in cloud_branches(text, rel)]
    assert not found, "\n".join(found)


@pytest.mark.parametrize(("code", "what"), [
    ('if t["cloud"] == "gcp":\n    pass\n', "compares with a cloud's name"),
    ('x = "s3://" if cloud != "aws" else "gs://"\n', "compares with a cloud's name"),
    ('if cloud in ("gcp", "aws"):\n    pass\n', "tests membership in cloud names"),
    ('SYNC = {"gcp": 1, "aws": 2}\n', "a mapping keyed by a cloud's name"),
    ('for c in ["gcp", "aws"]:\n    pass\n', "lists a cloud's name"),
])
def test_the_branch_finder_finds_each_form(code: str, what: str) -> None:
    assert any(what in f for f in cloud_branches(code, "x.py")), cloud_branches(code, "x.py")


def test_the_branch_finder_leaves_lookups_through_the_registry_alone() -> None:
    code = 'cloud = clouds.get(t["cloud"])\nurl = f"{cloud.bucket_scheme}{bucket}"\nkey = "gcp_project_numbers"\n'
    assert cloud_branches(code, "x.py") == []


# -- templates: shared ones name no cloud; each cloud has the same set of its own -------

def _jinja_names(source: str, name: str) -> list[str]:
    tree = templates.environment({name: source}).parse(source, name=name)
    out = []
    for node in tree.find_all((nodes.Const, nodes.Getattr)):
        value = node.value if isinstance(node, nodes.Const) else node.attr
        if value in NAMES:
            out.append(f"{name}:{node.lineno}: names cloud {value!r}; move it to base/clouds/{value}/ "
                       "or make it a value of the cloud's context (render/clouds/)")
    return out


def test_no_shared_template_names_a_cloud() -> None:
    shared = {n: t for n, t in read_templates(ROOT).items() if layout.template_cloud(n) is None}
    assert len(shared) >= 15
    found = [f for name, text in shared.items() for f in _jinja_names(text, name)]
    assert not found, "\n".join(found)


def test_the_template_check_finds_a_cloud_branch() -> None:
    text = '{% if cloud == "gcp" %}\na: {{ secrets.aws.role | j }}\n{% endif %}\n'
    found = _jinja_names(text, "base/x.yaml.j2")
    assert len(found) == 2 and "'gcp'" in found[0] and "'aws'" in found[1]


def test_every_registered_cloud_has_its_templates_and_no_other_folder_is_there() -> None:
    folder = ROOT / layout.CLOUD_TEMPLATES_DIR
    assert {p.name for p in folder.iterdir() if p.is_dir()} == NAMES
    own = {c: sorted(p.name for p in (folder / c).glob("*" + layout.TEMPLATE_SUFFIX)) for c in NAMES}
    first = next(iter(own.values()))
    assert first and all(names == first for names in own.values()), own


def test_a_tenant_renders_the_shared_templates_and_its_own_clouds_only() -> None:
    from render.load import load_repo

    shared = load_repo(ROOT).current
    assert {layout.template_cloud(n) for n in shared.templates} == {None, *NAMES}
    env = templates.environment(shared.templates)
    for cloud in NAMES:
        names = shared.templates_for(cloud)
        assert {layout.template_cloud(n) for n in names} == {None, cloud}
        assert isinstance(env.get_template(f"{layout.CLOUD_TEMPLATES_DIR}/{cloud}/storage.yaml.j2"), jinja2.Template)


# -- a cloud missing a member -----------------------------------------------------------

def test_each_registered_cloud_implements_every_member() -> None:
    assert {"backup_objects", "secret_store_rule", "storage_context", "quota_usage", "name"} <= set(base.members())
    for name, cloud in clouds.CLOUDS.items():
        assert cloud.name == name
        assert all(hasattr(cloud, m) for m in base.members()), name


def test_registering_a_cloud_missing_a_member_fails_at_import() -> None:
    gcp = clouds.CLOUDS["gcp"]
    incomplete = type("Incomplete", (), {m: getattr(gcp, m) for m in base.members() if m != "list_command"})
    with pytest.raises(TypeError, match="list_command"):
        clouds._check({"gcp": incomplete()})
    with pytest.raises(TypeError, match="its name is 'gcp'"):
        clouds._check({"gcx": gcp})


def _mypy(folder: Path, source: str) -> str:
    """mypy --strict on `source` (a cloud module) with a registration of its class appended."""
    fixture = folder / "render" / "clouds" / "fixture.py"
    fixture.parent.mkdir(parents=True, exist_ok=True)
    fixture.write_text(source + "\n\nfrom render.clouds.base import Cloud\n\nREGISTERED: Cloud = AWS()\n", encoding="utf-8")
    done = subprocess.run([need_binary("mypy"), "--strict", "--follow-imports=silent", "--no-incremental", str(fixture)],
                          cwd=ROOT, capture_output=True, text=True, check=False, env={"MYPYPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    return done.stdout


def test_mypy_refuses_a_cloud_class_missing_a_method(tmp_path: Path) -> None:
    """A cloud is registered as a `Cloud` (the registry's type): the AWS module type-checks
    there as it is, and without its `list_command` it does not (mypy strict)."""
    source = (CLOUD_MODULES / "aws.py").read_text(encoding="utf-8")
    assert "Success" in _mypy(tmp_path / "whole", source)
    start = source.index("    def list_command(")
    end = source.index("\n\n", start)
    out = _mypy(tmp_path / "partial", source[:start] + source[end + 2:])
    assert out.count("error:") == 1 and 'type "AWS", variable has type "Cloud"' in out, out
    assert 'missing following "Cloud" protocol member' in out and "list_command" in out, out


def test_mypy_refuses_a_cloud_class_missing_its_schema_blocks(tmp_path: Path) -> None:
    """Its blocks in the schemas are a member as any other (the whole module type-checks:
    the test above)."""
    source = (CLOUD_MODULES / "aws.py").read_text(encoding="utf-8")
    start = source.index("    schema_blocks = SchemaBlocks(")
    end = source.index("\n    )\n", start)
    out = _mypy(tmp_path, source[:start] + source[end + 7:])
    assert out.count("error:") == 1 and 'missing following "Cloud" protocol member' in out, out
    assert "schema_blocks" in out, out


# -- the schemas' cloud lists are written from the registered clouds -----------------------

def _walk(node: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], list[str]]]:
    """(key path, names) of every enum, `required` list and `properties` mapping of a schema
    that names a registered cloud."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("enum", "required") and isinstance(value, list) and set(value) & set(clouds.CLOUDS):
                yield (*path, key), value
            elif key == "properties" and isinstance(value, dict) and set(value) & set(clouds.CLOUDS):
                yield (*path, key), list(value)
            yield from _walk(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, (*path, str(i)))


def _cloud_lists(files: dict[str, bytes]) -> dict[str, list[tuple[tuple[str, ...], list[str]]]]:
    return {rel: list(_walk(json.loads(data), ())) for rel, data in files.items() if rel.endswith(".schema.json")}


def test_every_cloud_list_of_the_schemas_names_exactly_the_registered_clouds() -> None:
    """Each list names the clouds in registration order (a prerequisite's may add the
    management cluster), and the committed schemas are the generated ones."""
    files = generated.files(ROOT)
    lists = _cloud_lists(files)
    assert {rel for rel, found in lists.items() if found} == {f"{layout.SCHEMA_DIR}/{n}.schema.json"
                                                              for n in ("platform", "prices", "routing", "tenant")}
    for rel, found in lists.items():
        for path, named in found:
            assert [n for n in named if n != prerequisites.MANAGEMENT] == list(clouds.CLOUDS), (rel, path)
        assert (ROOT / rel).read_bytes() == files[rel], f"{rel} is stale: run `dataplane render`"


def test_a_third_registered_cloud_is_in_every_cloud_list_with_its_own_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    aws = clouds.CLOUDS["aws"]
    third = copy.copy(aws)
    third.name = "xcloud"
    third.schema_blocks = replace(aws.schema_blocks, storage_class={"description": "XKS storage class.", "type": "string"},
                                  prices=base.region_prices("XCloud"))
    monkeypatch.setitem(clouds.CLOUDS, "xcloud", third)
    files = generated.files(ROOT)
    stale = {rel for rel, data in files.items() if (ROOT / rel).read_bytes() != data}
    assert stale == {f"{layout.SCHEMA_DIR}/{n}.schema.json" for n in ("platform", "prices", "routing", "tenant")}
    lists = _cloud_lists(files)
    assert sum(len(found) for found in lists.values()) == 18  # every place the registered clouds had
    for rel, found in lists.items():
        for path, named in found:
            assert [n for n in named if n != prerequisites.MANAGEMENT] == ["gcp", "aws", "xcloud"], (rel, path)
    schema = {rel.split("/")[-1].split(".")[0]: json.loads(data) for rel, data in files.items() if rel.endswith(".json")}
    assert schema["tenant"]["properties"]["cloud"]["enum"] == ["gcp", "aws", "xcloud"]
    datastores = schema["platform"]["properties"]["datastores"]["properties"]
    assert datastores["storage_class"]["properties"]["xcloud"] == {"description": "XKS storage class.", "type": "string"}
    assert datastores["storage_provisioners"]["properties"]["xcloud"]["description"].startswith("EKS")  # AWS's copy
    assert schema["prices"]["properties"]["clouds"]["properties"]["xcloud"]["description"] == "XCloud regions."
    machine = schema["platform"]["$defs"]["worker_group"]["properties"]["machine"]["properties"]
    assert machine["xcloud"]["description"] == aws.machine_words
    prerequisite = schema["platform"]["properties"]["cluster_prerequisites"]["additionalProperties"]
    assert prerequisite["properties"]["clusters"]["description"].startswith("gcp, aws, xcloud (data-plane clusters")


def test_a_cloud_list_edited_by_hand_is_written_back(tmp_path: Path) -> None:
    """The generation writes each block, not only the names: a block or enum edited in the
    file is stale, and only that file."""
    copied = tmp_path / layout.SCHEMA_DIR
    shutil.copytree(ROOT / layout.SCHEMA_DIR, copied)
    (tmp_path / "docs").mkdir()
    shutil.copy(ROOT / generated.DOCS_FILE, tmp_path / generated.DOCS_FILE)
    for name, old, new in (("platform", '"description": "EKS storage class."', '"description": "S3."'),
                           ("routing", '"aws"\n', '"azure"\n')):
        path = copied / f"{name}.schema.json"
        text = path.read_text(encoding="utf-8")
        assert old in text
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
    files = generated.files(tmp_path)
    assert {rel for rel, data in files.items() if (tmp_path / rel).read_bytes() != data} == {
        f"{layout.SCHEMA_DIR}/platform.schema.json", f"{layout.SCHEMA_DIR}/routing.schema.json"}
    assert all((ROOT / rel).read_bytes() == data for rel, data in files.items())


@pytest.mark.parametrize("value", ["azure", "[gcp]", "{gcp: true}"])
def test_a_tenant_on_an_unregistered_cloud_is_a_problem_at_its_cloud_key(tmp_path: Path, value: str,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    # A list or mapping is no cloud name either (the fuzzer found `cloud: []` crashing the
    # secret-store rule before the schema's verdict was read).
    root = copy_repo(tmp_path)
    edit(root, "tenants/acme/tenant.yaml", "cloud: gcp", f"cloud: {value}")
    assert dataplane(root, "validate", "acme") == 2
    err = capsys.readouterr()
    text = err.out + err.err
    assert "tenants/acme/tenant.yaml:6" in text and "cloud" in text and "Traceback" not in text


# -- data keyed by cloud names only registered clouds ------------------------------------

def test_every_flow_limited_to_some_clouds_names_registered_ones() -> None:
    from render.conformance import reachability

    flows = reachability.load_flows()
    limited = [f for kind in flows.values() for f in kind if f.clouds != tuple(clouds.CLOUDS)]
    assert limited  # the EC2 metadata flow, at least
    assert all(set(f.clouds) <= NAMES for f in limited)
    assert all(f.clouds == tuple(clouds.CLOUDS) for kind in flows.values() for f in kind if f not in limited)


def test_the_keep_on_delete_annotations_come_from_every_cloud() -> None:
    from render.move import target

    assert len(target.KEEP_ON_DELETE) == len(clouds.CLOUDS)


def test_reachability_fails_a_tenant_no_flow_applies_to() -> None:
    """Checking nothing is not a pass: a tenant on a cloud the flows leave out fails (before,
    it checked 0 flows and printed ok)."""
    need("nca.nca_cli")
    import yaml

    from render.conformance import reachability
    from render.conformance.manifests import collect

    manifests, _ = collect(ROOT, ["initech"])
    platform = yaml.safe_load((ROOT / layout.PLATFORM_FILE).read_text(encoding="utf-8"))
    tenant = yaml.safe_load((ROOT / "tenants/initech/tenant.yaml").read_text(encoding="utf-8"))
    ok = reachability.check(manifests, platform, {"tenant-initech": tenant})
    assert not ok.failures and ok.checked > 0
    elsewhere = reachability.check(manifests, platform, {"tenant-initech": {**tenant, "cloud": "gcx"}})
    # Only the scrape flows of the pod list (every cloud's) were checked: none of flows.yaml.
    assert elsewhere.checked < ok.checked and len(elsewhere.failures) == 1
    assert "no flow of flows.yaml applies to tenant-initech (cloud 'gcx')" in elsewhere.failures[0].message
