"""Cloud quotas as inputs (issue 29, item 7): what each tenant adds to its cloud account equals
what its rendered objects hold; a fleet over a limit is refused at the tenant that crosses it,
naming the account, the limit and where it is written; new-tenant picks an account with room."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from bench.fleet import generate_fleet
from render import layout, quotas
from render.clouds import CLOUDS
from render.load import load_repo
from render.pipeline import render_repo
from render.validate import validate_repo
from tests.support import ROOT, copy_repo, dataplane, snapshot

ORG = "org_9f3a7c21"


def rendered_usage(objects: list[dict[str, Any]], account: str) -> dict[str, int]:
    """Count, in a tenant's rendered objects, what lands in its cloud account (by quota)."""
    seen: Counter[str] = Counter()
    for o in objects:
        group, kind = o["apiVersion"].split("/")[0], o["kind"]
        ann = o["metadata"].get("annotations") or {}
        if (group, kind) == ("iam.cnrm.cloud.google.com", "IAMPolicyMember"):
            ref = o["spec"]["resourceRef"]
            if ref.get("kind") == "Project":
                assert ref["external"] == f"projects/{account}"
                seen["iam_policy_members"] += 1
        elif (group, kind) == ("iam.cnrm.cloud.google.com", "IAMServiceAccount"):
            assert ann["cnrm.cloud.google.com/project-id"] == account
            seen["service_accounts"] += 1
        elif (group, kind) == ("iam.services.k8s.aws", "Role"):
            seen["iam_roles"] += 1
        elif (group, kind) == ("s3.services.k8s.aws", "Bucket"):
            seen["s3_buckets"] += 1
    return dict(seen)


def assert_usage_matches(root: Path, tenants: list[str] | None = None) -> int:
    repo = load_repo(root, tenants)
    out = render_repo(repo)
    platform = repo.current.platform.data
    for name, files in repo.tenants.items():
        objects = [yaml.safe_load(b) for b in out[layout.rendered_dir(name)].values()]
        t = files.tenant.data
        want = quotas.usage(t, platform)
        assert set(want) == {q for q, _ in CLOUDS[t["cloud"]].quotas}
        assert rendered_usage(objects, t["cloud_account"]) == want, name
    return len(repo.tenants)


def test_usage_equals_the_rendered_objects_of_every_example_tenant() -> None:
    assert assert_usage_matches(ROOT) == 4


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fleet")
    generate_fleet(root, 40, seed=29)
    return root


def test_usage_equals_the_rendered_objects_of_a_generated_fleet(fleet: Path) -> None:
    names = sorted(p.name for p in (fleet / "tenants").iterdir())
    clouds = {n: yaml.safe_load((fleet / "tenants" / n / "tenant.yaml").read_text())["cloud"] for n in names}
    sample = names[:16]  # rendered in memory (both clouds): a third of the time of the whole fleet
    assert {clouds[n] for n in sample} == set(CLOUDS)
    assert assert_usage_matches(fleet, sample) == len(sample)


def test_a_generated_fleet_over_a_limit_is_refused_at_the_tenant_that_crosses_it(fleet: Path, tmp_path: Path,
                                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "over"
    for folder in ("registry", "base", "tenants"):
        shutil.copytree(fleet / folder, root / folder)
    path = root / layout.PLATFORM_FILE
    platform = yaml.safe_load(path.read_text())
    per_project = Counter(yaml.safe_load((fleet / "tenants" / n / "tenant.yaml").read_text())["cloud_account"]
                          for n in sorted(p.name for p in (fleet / "tenants").iterdir()))
    project, count = max(((a, n) for a, n in per_project.items() if a.startswith("dp-")), key=lambda x: x[1])
    assert count >= 4
    each = quotas.usage({"cloud": "gcp", "name": "x", "cloud_account": project}, platform)["service_accounts"]
    limit = each * (count - 2)  # service accounts for count - 2 tenants: the last two cross it
    platform["cloud_accounts"]["gcp"]["accounts"][project] = {"service_accounts": limit}
    path.write_text(yaml.safe_dump(platform, sort_keys=False))
    problems = validate_repo(load_repo(root))
    over = sorted(p for p in problems if "over its limit" in p.message)
    assert len(over) == 2 and len(problems) == 2, [p.format() for p in problems]
    for p in over:
        assert p.pointer == "cloud_account" and p.file.endswith("/tenant.yaml")
        assert project in p.message and f"limit of {limit}" in p.message
        assert f"{layout.PLATFORM_FILE} cloud_accounts.gcp.accounts.{project}.service_accounts" in p.message
        assert "move the tenant to dp-tenants" in p.hint and "room for" in p.hint
    # The command refuses in one line per tenant and writes nothing.
    before = snapshot(root)
    assert dataplane(root, "render") == 2
    err = capsys.readouterr().err
    assert sum("over its limit" in line for line in err.splitlines()) == 2
    assert snapshot(root) == before


def set_platform(root: Path, edit: Any) -> None:
    path = root / layout.PLATFORM_FILE
    data = yaml.safe_load(path.read_text())
    edit(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


@pytest.mark.parametrize(("edit", "pointer", "fragment"), [
    (lambda d: d["cloud_accounts"]["gcp"]["limits"].update(service_accounts=0), "cloud_accounts.gcp.limits.service_accounts",
     ""),
    (lambda d: d["cloud_accounts"]["aws"]["accounts"].update({"123456789012": {"iam_roles": -3}}),
     "cloud_accounts.aws.accounts.123456789012.iam_roles", ""),
    (lambda d: d["cloud_accounts"]["gcp"]["accounts"].update({"Not_A_Project": {}}),
     "cloud_accounts.gcp.accounts.Not_A_Project", "unknown account"),
    (lambda d: d["cloud_accounts"]["aws"]["accounts"].update({"12345": {}}),
     "cloud_accounts.aws.accounts.12345", "unknown account"),
    (lambda d: d["cloud_accounts"]["gcp"]["accounts"].update({"dp-tenants": {"buckets": 5}}),
     "cloud_accounts.gcp.accounts.dp-tenants.buckets", "no gcp quota"),
    (lambda d: d["cloud_accounts"].update(azure={"limits": {}, "accounts": {}}), "cloud_accounts.azure", "unknown cloud"),
])
def test_bad_quota_input_is_one_line_with_file_and_key(tmp_path: Path, capsys: pytest.CaptureFixture[str], edit: Any,
                                                        pointer: str, fragment: str) -> None:
    root = copy_repo(tmp_path / "repo")
    set_platform(root, edit)
    before = snapshot(root)
    assert dataplane(root, "render") == 2
    err = capsys.readouterr().err
    lines = [x for x in err.splitlines() if x.startswith(f"{layout.PLATFORM_FILE}:")]
    assert len(lines) == 1, err
    assert f": {pointer}: " in lines[0] and fragment in lines[0], lines[0]
    assert snapshot(root) == before


def new_tenant(root: Path, *args: str) -> int:
    return dataplane(root, "new-tenant", "wayne", "--region", "us-east4", "--organization-id", ORG, *args)


def test_new_tenant_picks_a_listed_account_with_room(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = copy_repo(tmp_path / "repo")
    set_platform(root, lambda d: d["cloud_accounts"]["gcp"]["accounts"].update({"dp-tenants": {"service_accounts": 1}}))
    assert new_tenant(root, "--cloud", "gcp") == 0
    tenant = yaml.safe_load((root / "tenants/wayne/tenant.yaml").read_text())
    # dp-tenants holds no tenant at 1 service account; of the others, apac is emptiest.
    assert tenant["cloud_account"] == "dp-tenants-apac"
    assert "cloud_account: dp-tenants-apac" in capsys.readouterr().out
    assert dataplane(root, "validate") == 0


def test_new_tenant_refuses_a_full_account_and_proposes_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = copy_repo(tmp_path / "repo")
    set_platform(root, lambda d: d["cloud_accounts"]["gcp"]["accounts"].update({"dp-tenants-prod": {"iam_policy_members": 8}}))
    before = snapshot(root, ("tenants",))
    assert new_tenant(root, "--cloud", "gcp", "--cloud-account", "dp-tenants-prod") == 2
    err = capsys.readouterr().err
    # acme (4 bindings) and umbrella (5: it is migrating) are there already; wayne adds 4.
    assert "dp-tenants-prod would hold 13 iam policy members, over its limit of 8" in err
    assert "cloud_accounts.gcp.accounts.dp-tenants-prod.iam_policy_members" in err
    assert "move the tenant to dp-tenants" in err
    assert snapshot(root, ("tenants",)) == before


def test_new_tenant_on_aws_proposes_an_account_with_room(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = copy_repo(tmp_path / "repo")
    assert dataplane(root, "new-tenant", "wayne", "--cloud", "aws", "--region", "us-east-1",
                     "--organization-id", ORG) == 2
    err = capsys.readouterr().err
    # 1,000 roles, 4 a tenant (engine, secrets, backup, restore), initech there already.
    assert "aws tenants need --cloud-account" in err and "123456789012 (249 more tenants)" in err


def test_new_tenant_refuses_an_unknown_account_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = copy_repo(tmp_path / "repo")
    before = snapshot(root, ("tenants",))
    assert new_tenant(root, "--cloud", "gcp", "--cloud-account", "dp-tenants-mars") == 2
    err = capsys.readouterr().err
    [line] = [x for x in err.splitlines() if x.startswith("--cloud-account")]
    assert "unknown account dp-tenants-mars" in line and "registry/platform.yaml cloud_accounts.gcp.accounts" in line
    assert "dp-tenants" in err.split("hint:", 1)[1]
    assert snapshot(root, ("tenants",)) == before


def test_a_migrating_tenant_without_the_shared_platform_is_a_problem_not_a_crash(tmp_path: Path,
                                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """umbrella migrates from the shared platform: without registry shared_platform, validate
    reports it (exit 2), where counting its cloud quotas raised a KeyError (exit 3)."""
    root = copy_repo(tmp_path, outputs=False)
    lines = (root / layout.PLATFORM_FILE).read_text(encoding="utf-8").splitlines(keepends=True)
    start = end = lines.index("shared_platform:\n")
    while lines[end + 1].startswith("  "):
        end += 1
    (root / layout.PLATFORM_FILE).write_text("".join(lines[:start] + lines[end + 1:]), encoding="utf-8")
    assert dataplane(root, "validate") == 2
    assert "needs `shared_platform` in registry/platform.yaml" in "".join(capsys.readouterr())
