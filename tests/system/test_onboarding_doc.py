"""docs/onboarding.md shows exactly what `dataplane new-tenant` writes, and what it refuses."""

from __future__ import annotations

import json
import re
import shlex

from tests.support import ROOT, committed_copy, copy_repo, dataplane

DOC = (ROOT / "docs/onboarding.md").read_text(encoding="utf-8")
# The platform version moves with every release; everything else must match byte for byte.
RELEASE = re.compile(r'^(platform_version: "|platform_revision: "|image: \S+:)[^"\n]+', re.MULTILINE)


def _command() -> list[str]:
    block = DOC.split("## 2. Scaffold the tenant", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    line = next(part for part in block.replace("\\\n", " ").splitlines() if part.startswith("dataplane new-tenant"))
    return shlex.split(line)[1:]


def _documented_files() -> dict[str, str]:
    return dict(re.findall(r"^`tenants/wayne/([a-z]+\.yaml)` \([^\n]*\):\n\n```yaml\n(.*?)```", DOC, re.MULTILINE | re.DOTALL))


def test_the_documented_command_writes_exactly_the_documented_files(tmp_path):
    root = committed_copy(tmp_path / "repo")  # a repository: the new tenant pins its newest release
    assert dataplane(root, *_command()) == 0
    written = {p.name: p.read_text() for p in sorted((root / "tenants/wayne").iterdir())}
    documented = _documented_files()
    assert sorted(documented) == sorted(written) == ["overrides.yaml", "release.yaml", "tenant.yaml"]
    for name, text in written.items():
        assert RELEASE.sub(r"\1X", documented[name]) == RELEASE.sub(r"\1X", text), name
    assert dataplane(root, "validate", "wayne") == 0


def test_new_tenant_needs_a_real_organization_id_and_a_priced_region(tmp_path, capsys):
    root = copy_repo(tmp_path, outputs=False)
    args = ["new-tenant", "stark", "--cloud", "gcp", "--region", "us-east4"]
    try:
        dataplane(root, *args)
    except SystemExit as e:  # argparse: --organization-id is required
        assert e.code == 2
    assert "--organization-id" in capsys.readouterr().err
    for extra, where, message in (
            (["--organization-id", "7e7d8c69"], "--organization-id", "'7e7d8c69' is not an organization id"),
            (["--organization-id", "org_7f3a9c21"], "tenants/acme/tenant.yaml", "already tenant 'acme'")):
        assert dataplane(root, "--format", "json", *args, *extra) == 2
        [p] = json.loads(capsys.readouterr().out)
        assert p["file"] == where and message in p["message"]
    assert dataplane(root, "--format", "json", "new-tenant", "stark", "--cloud", "gcp", "--region", "asia-east1",
                     "--organization-id", "org_51a4c") == 2
    [p] = json.loads(capsys.readouterr().out)
    assert (p["file"], p["message"]) == ("registry/prices.yaml", "no prices for gcp region 'asia-east1'")
    assert p["line"] > 1 and "us-central1" in p["hint"]
    assert not (root / "tenants/stark").exists()


def test_a_machine_type_the_price_table_does_not_know_is_refused(tmp_path, capsys):
    root = copy_repo(tmp_path, outputs=False)
    platform = root / "registry/platform.yaml"
    platform.write_text(platform.read_text().replace("gcp: n2-standard-16", "gcp: n2-highmem-16"))
    assert dataplane(root, "--format", "json", "new-tenant", "stark", "--cloud", "gcp", "--region", "us-east4",
                     "--organization-id", "org_51a4c") == 2
    [p] = json.loads(capsys.readouterr().out)
    assert p["file"] == "registry/prices.yaml" and "batch-workers runs on gcp machine 'n2-highmem-16'" in p["message"]
