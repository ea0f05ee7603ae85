"""Where a tenant lives (render/validate/cloud_rules.py, render/commands/new_cluster.py): new-tenant refuses a cluster nobody declared (printing the entry to
add), new-cluster declares one, and validate ties account, region, cluster and prices."""

from __future__ import annotations

import difflib
import json
from pathlib import Path

import pytest

from render.commands.new_cluster import stanza
from render.validate.cloud_rules import cidr_problem, host_ok, url_problem
from tests.support import copy_repo
from tests.validation_repo import run

HOOLI = ["new-tenant", "hooli", "--cloud", "aws", "--region", "us-west-2", "--organization-id", "org_h00l1"]
ACCOUNT = ["--cloud-account", "123456789012"]
CLUSTER = ["new-cluster", "--cloud", "aws", "--region", "us-west-2", "--apiserver-cidr", "10.48.0.0/16",
           "--vector-store-cidr", "10.48.96.0/24", "--oidc-issuer", "https://oidc.eks.us-west-2.amazonaws.com/id/ABC123"]


def test_new_tenant_on_an_undeclared_cluster_refuses_with_the_entry_to_add(tmp_path: Path) -> None:
    root = copy_repo(tmp_path, outputs=False)
    before = (root / "registry/platform.yaml").read_bytes()
    code, out, err = run(root, "--format", "json", *HOOLI, *ACCOUNT)
    assert code == 2, err
    [p] = json.loads(out)
    assert (p["file"], p["message"]) == ("registry/platform.yaml", "cluster 'dp-eks-us-west-2' is not declared")
    assert stanza("dp-eks-us-west-2", "aws", "us-west-2", {}) in p["hint"]
    assert "dataplane new-cluster dp-eks-us-west-2 --cloud aws --region us-west-2" in p["hint"]
    assert "dp-eks-us-east-1" not in p["hint"]  # no guess at another region's cluster
    assert not (root / "tenants/hooli").exists()
    assert (root / "registry/platform.yaml").read_bytes() == before


def test_new_cluster_then_new_tenant_validates(tmp_path: Path) -> None:
    root = copy_repo(tmp_path, outputs=False)
    before = (root / "registry/platform.yaml").read_text(encoding="utf-8")
    code, out, _ = run(root, *CLUSTER, "--dry-run")
    assert code == 0 and "  dp-eks-us-west-2:\n    cloud: aws\n    region: us-west-2\n" in out
    assert (root / "registry/platform.yaml").read_text(encoding="utf-8") == before
    assert run(root, *CLUSTER)[0] == 0
    after = (root / "registry/platform.yaml").read_text(encoding="utf-8")
    diff = list(difflib.ndiff(before.splitlines(), after.splitlines()))
    assert not [line for line in diff if line.startswith("- ")]  # every line kept, comments included
    assert [line[2:] for line in diff if line.startswith("+ ")] == [
        "  dp-eks-us-west-2:", "    cloud: aws", "    region: us-west-2",
        "    oidc_issuer: https://oidc.eks.us-west-2.amazonaws.com/id/ABC123", "    apiserver_cidrs: [10.48.0.0/16]",
        "    vector_store_cidrs: [10.48.96.0/24]", "    serve_domain: us-west-2.dp.internal"]
    assert run(root, *HOOLI, *ACCOUNT)[0] == 0
    assert run(root, "validate") == (0, "", "")
    assert run(root, *CLUSTER)[0] == 2  # declared once


@pytest.mark.parametrize("flags, where, fragment", [
    (["--apiserver-cidr", "10.48.0.0/33"], "registry/platform.yaml", "is not a CIDR"),
    (["--region", "us-west2"], "--region", "'us-west2' is not a valid aws region"),
    (["--region", "ap-south-2"], "registry/platform.yaml", "has no prices"),
])
def test_new_cluster_refuses_what_validate_would(tmp_path: Path, flags: list[str], where: str, fragment: str) -> None:
    root = copy_repo(tmp_path, outputs=False)
    before = (root / "registry/platform.yaml").read_bytes()
    args = list(CLUSTER)
    for flag, value in zip(flags[::2], flags[1::2], strict=True):
        args[args.index(flag) + 1] = value
    code, out, _ = run(root, "--format", "json", *args)
    assert code == 2
    assert any(p["file"] == where and fragment in p["message"] for p in json.loads(out)), out
    assert (root / "registry/platform.yaml").read_bytes() == before


@pytest.mark.parametrize("account, fragment", [(None, "aws tenants need --cloud-account"),
                                               ("1234567890", "'1234567890' is not a valid AWS account id"),
                                               ("dp-tenants", "'dp-tenants' is not a valid AWS account id")])
def test_aws_needs_a_real_account_id(tmp_path: Path, account: str | None, fragment: str) -> None:
    root = copy_repo(tmp_path, outputs=False)
    args = ["new-tenant", "hooli", "--cloud", "aws", "--region", "us-east-1", "--organization-id", "org_h00l1"]
    code, out, _ = run(root, "--format", "json", *args, *(["--cloud-account", account] if account else []))
    assert code == 2
    [p] = json.loads(out)
    assert p["file"] == "--cloud-account" and fragment in p["message"] and "12-digit" in p["hint"]
    assert not (root / "tenants/hooli").exists()


def test_a_flag_mistake_is_not_printed_as_a_file_location(tmp_path: Path) -> None:
    root = copy_repo(tmp_path, outputs=False)
    code, _, err = run(root, "new-tenant", "hooli", "--cloud", "aws", "--region", "us-east-1",
                       "--organization-id", "org_h00l1")
    assert code == 2
    assert err.startswith("--cloud-account: ") and "--cloud-account:0:0" not in err and ":1:1:" not in err


def test_addresses_are_parsed_by_the_standard_library() -> None:
    assert cidr_problem("10.0.0.0/8") is None and cidr_problem("fd00::/8") is None
    assert "is not a CIDR" in (cidr_problem("10.48.0.0/33") or ("", ""))[0]
    assert cidr_problem("10.0.0.1/8") == ("'10.0.0.1/8' has host bits set", "did you mean 10.0.0.0/8?")
    assert "prefix length" in (cidr_problem("10.0.0.1") or ("", ""))[1]
    assert url_problem("https://qdrant.us-east-1.dataplane.internal:6333") is None
    assert url_problem("https://x:99999") is not None and url_problem("https://") is not None
    assert url_problem("ftp://host") is not None
    assert host_ok("a-b.c") and not host_ok("-a.c") and not host_ok("a_b.c") and not host_ok("a" * 64)


def test_a_gcp_tenant_name_too_long_for_its_service_accounts_is_refused(tmp_path: Path) -> None:
    """GCP service account ids hold at most 30 characters, and the tenant's are dpb-<name> etc.:
    a 27-character name would render identities the cloud refuses."""
    root = copy_repo(tmp_path, outputs=False)
    name = "a" * 27
    code, out, _ = run(root, "--format", "json", "new-tenant", name, "--cloud", "gcp", "--region", "us-central1",
                       "--organization-id", "org_l0ng", "--cloud-account", "dp-tenants-prod")
    assert code == 2
    [p] = json.loads(out)
    assert "too long for a gcp tenant" in p["message"] and "26" in p["hint"]
    assert not (root / "tenants" / name).exists()
    # The same limit in validate, for a tenant written by hand: acme renamed to 27 characters.
    (root / "tenants/acme").rename(root / "tenants" / name)
    tenant = root / "tenants" / name / "tenant.yaml"
    tenant.write_text(tenant.read_text(encoding="utf-8").replace("name: acme", f"name: {name}"), encoding="utf-8")
    code, out, _ = run(root, "--format", "json", "validate")
    assert code == 2
    assert any(p["file"].endswith("/tenant.yaml") and "at most 26" in p["message"] for p in json.loads(out)), out
