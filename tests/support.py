"""Test helpers: small repositories written into tmp_path, and one-call renders."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from render import layout
from render.cli import main

REPO = Path(__file__).resolve().parent.parent
INPUTS = (layout.BASE_DIR, layout.REGISTRY_DIR, layout.TENANTS_DIR)


def copy_repo(dest: Path, *, outputs: bool = True) -> Path:
    """A copy of this repository's inputs (and, by default, its committed outputs)."""
    for folder in INPUTS + (layout.OUTPUT_DIRS if outputs else ()):
        if (REPO / folder).is_dir():
            shutil.copytree(REPO / folder, dest / folder)
    shutil.copy(REPO / ".yamllint.yaml", dest / ".yamllint.yaml")  # the strict config `validate --deep` reads
    if outputs:
        (dest / ".github").mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / layout.CODEOWNERS_FILE, dest / layout.CODEOWNERS_FILE)
    return dest


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def dataplane(root: Path, *args: str) -> int:
    return main(["--repo", str(root), *args])


def snapshot(root: Path, folders: tuple[str, ...] = layout.OUTPUT_DIRS) -> dict[str, bytes]:
    """Every file (and leftover temp folder) under the output folders."""
    out: dict[str, bytes] = {}
    for folder in folders:
        base = root / folder
        if base.exists():
            for p in sorted(base.rglob("*")):
                out[p.relative_to(root).as_posix()] = p.read_bytes() if p.is_file() else b"<dir>"
    return out


def rendered_objects(root: Path, tenant: str) -> list[dict]:
    return [yaml.safe_load(p.read_text()) for p in sorted((root / "rendered" / tenant).glob("*.yaml"))]


def tenant_yaml(name: str, *, cloud: str = "gcp", org: str | None = None, mode: str = "dedicated_instance") -> str:
    cluster = "dp-gke-us-central1" if cloud == "gcp" else "dp-eks-us-east-1"
    region = "us-central1" if cloud == "gcp" else "us-east-1"
    account = "dp-tenants" if cloud == "gcp" else "'123456789012'"  # a GCP project with a number in registry/platform.yaml
    return (f"name: {name}\norganization_id: {org or 'org_' + name.replace('-', '')}\ncloud: {cloud}\n"
            f"region: {region}\ncluster: {cluster}\ncloud_account: {account}\noperator_group: {name}-ops\n"
            f"database:\n  mode: {mode}\nvector_store:\n  endpoint: https://qdrant.example:6333\n")


RELEASE_YAML = 'platform_version: "2026.11.3"\nimage: ghcr.io/dataplane-platform/engine:2026.11.3\n'


def memory_repo(tenants: dict[str, tuple[str, str, str]], *, extractors: str | None = None):
    """A Repo built in memory from {name: (tenant.yaml, overrides.yaml, release.yaml)} texts,
    with this repository's registry and templates (or the given extractors.yaml text)."""
    from render import layout
    from render.load import PlatformInputs, Repo, TenantFiles, parse_yaml, read_templates, read_yaml

    files = {
        name: TenantFiles(name, *(parse_yaml(text, layout.tenant_file(name, f)) for text, f in zip(texts, layout.TENANT_FILES)))
        for name, texts in tenants.items()
    }
    registry = parse_yaml(extractors, layout.EXTRACTORS_FILE) if extractors else read_yaml(REPO, layout.EXTRACTORS_FILE)
    return Repo(PlatformInputs(registry, read_yaml(REPO, layout.PLATFORM_FILE), read_templates(REPO)), files)
