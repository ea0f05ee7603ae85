"""Test helpers: the repository root, optional dependencies (skipped locally, mandatory in
CI), small repositories written into tmp_path, and one-call renders."""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import NoReturn

import pytest
import yaml

from render import layout
from render.cli import main

ROOT = Path(__file__).resolve().parent.parent  # the repository root: defined here only
DEV_HINT = "pip install -e '.[dev]'"


def required() -> bool:
    """Whether a missing optional test dependency fails instead of skipping: CI makes every
    one mandatory (DATAPLANE_REQUIRE_ALL=1, set by .ci/run, or CI=true, set by GitHub Actions)."""
    return os.environ.get("DATAPLANE_REQUIRE_ALL") == "1" or os.environ.get("CI", "").lower() in ("1", "true")


def missing(what: str, hint: str = DEV_HINT) -> NoReturn:
    """Skip the calling test (or module) for a missing dependency, or fail it under CI."""
    __tracebackhide__ = True  # report the test that needs it, not this line
    if required():
        pytest.fail(f"{what} is missing and CI makes it mandatory ({hint})", pytrace=False)
    pytest.skip(f"{what} is not installed ({hint})", allow_module_level=True)


def need(module: str, hint: str = DEV_HINT) -> ModuleType:
    """`module` imported, or `missing` when an optional package it needs is not installed
    (an engine module such as render.conformance.cel may be named: it reports what it lacks)."""
    __tracebackhide__ = True
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as e:
        lacking = (e.name or module).split(".")[0]
        if lacking in ("render", "tests", "bench"):
            raise  # our own code is never optional
    missing(f"the Python package {lacking!r}", hint)


# What `dataplane validate --deep` runs: the conformance extra's engines and the CEL engine
# of the CRDs' rules.
DEEP_ENGINES = ("kubernetes_validate", "ray.serve", "celery", "yamllint", "nca.nca_cli", "celpy")


def need_deep_engines() -> None:
    """Every engine of `validate --deep` (see `need`)."""
    __tracebackhide__ = True
    for module in DEEP_ENGINES:
        need(module, "pip install -e '.[conformance]'")


def need_binary(name: str, hint: str = DEV_HINT) -> str:
    """The program `name`, beside this Python (the venv's scripts) or on PATH; see `missing`."""
    __tracebackhide__ = True
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        missing(f"the program {name!r}", hint)
    return found


def crds_dir() -> Path:
    """The upstream CRDs: $DATAPLANE_CRDS, else <repo>/../shared/crds.

    Skips the calling test when there is none, unless DATAPLANE_REQUIRE_CRDS=1 (CI),
    which makes a missing folder a failure.
    """
    env = os.environ.get("DATAPLANE_CRDS")
    path = Path(env) if env else ROOT.parent / "shared" / "crds"
    if path.is_dir():
        return path
    message = f"no upstream CRD folder at {path} (set DATAPLANE_CRDS)"
    if os.environ.get("DATAPLANE_REQUIRE_CRDS") == "1":
        pytest.fail(message + "; DATAPLANE_REQUIRE_CRDS=1 makes it mandatory")
    pytest.skip(message)


def copy_repo(dest: Path, *, outputs: bool = True) -> Path:
    """A copy of this repository's inputs (and, by default, its committed outputs)."""
    for folder in layout.INPUT_DIRS + (layout.OUTPUT_DIRS if outputs else ()):
        if (ROOT / folder).is_dir():
            shutil.copytree(ROOT / folder, dest / folder)
    shutil.copy(ROOT / ".yamllint.yaml", dest / ".yamllint.yaml")  # the strict config `validate --deep` reads
    if outputs:
        (dest / ".github").mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / layout.CODEOWNERS_FILE, dest / layout.CODEOWNERS_FILE)
    return dest


def git(root: Path, *args: str) -> str:
    """Run git in `root` as a test author; its standard output, stripped."""
    return subprocess.run(["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
                          capture_output=True, text=True, check=True).stdout.strip()


def committed_copy(dest: Path) -> Path:
    """copy_repo(dest) as a git repository whose branch main holds it: one commit, then
    its tenants pinned to that commit (pin_to_first_commit)."""
    root = copy_repo(dest)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    pin_to_first_commit(root)
    return root


def pin_to_first_commit(root: Path) -> str:
    """A copy's release.yaml files name this checkout's commits, which its history lacks:
    pin them to the copy's HEAD, tagged as a platform release, and commit, as
    `dataplane pin` does (its render proof skipped: the copy's output is this checkout's).
    Returns the pinned commit."""
    from render import git as engine_git

    base = git(root, "rev-parse", "HEAD")
    engine_git.tag_release(root, layout.release_tag("base", base), base, "platform release base")
    for folder in sorted((root / layout.TENANTS_DIR).iterdir()):
        set_pin(root, folder.name, base)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "pin tenants")
    return base


def move_to_platform(root: Path, *tenants: str) -> str:
    """Commit the working tree's base/ and registry/ on main, record that commit as a
    platform release and point `tenants` (default: every one) at it, uncommitted, as a
    platform update moves them: pinned tenants take a platform change only so. Returns it."""
    from render import git as engine_git

    git(root, "add", "-A", "--", *layout.PLATFORM_INPUT_DIRS)
    git(root, "commit", "-q", "--allow-empty", "-m", "platform change")
    rev = git(root, "rev-parse", "HEAD")
    engine_git.tag_release(root, layout.release_tag("moved", rev), rev, "platform release moved")
    for name in tenants or sorted(p.name for p in (root / layout.TENANTS_DIR).iterdir() if p.is_dir()):
        set_pin(root, name, rev)
    return rev


def set_pin(root: Path, tenant: str, revision: str) -> None:
    """Point `tenant`'s release.yaml at `revision` (its platform_revision line replaced, or added last)."""
    release = root / layout.tenant_file(tenant, layout.RELEASE_FILE)
    lines = [line for line in release.read_text(encoding="utf-8").splitlines(keepends=True)
             if not line.startswith("platform_revision:")]
    release.write_text("".join(lines) + f'platform_revision: "{revision}"\n', encoding="utf-8")


def edit(root: Path, rel: str, old: str, new: str) -> None:
    """Replace the first `old` in `rel` by `new`; `old` must be there."""
    path = root / rel
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


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


def tenant_yaml(name: str, org: str | None = None, extra: str = "", *, cloud: str = "gcp",
                mode: str = "dedicated_instance") -> str:
    """A valid tenant.yaml on a cluster of registry/platform.yaml, with `extra` lines appended."""
    cluster = "dp-gke-us-central1" if cloud == "gcp" else "dp-eks-us-east-1"
    region = "us-central1" if cloud == "gcp" else "us-east-1"
    account = "dp-tenants" if cloud == "gcp" else "'123456789012'"  # a GCP project with a number in registry/platform.yaml
    return (f"name: {name}\norganization_id: {org or 'org_' + name.replace('-', '')}\ncloud: {cloud}\n"
            f"region: {region}\ncluster: {cluster}\ncloud_account: {account}\noperator_group: {name}-operators\n"
            f"database:\n  mode: {mode}\nvector_store:\n  endpoint: https://qdrant.{region}.dataplane.internal:6333\n{extra}")


# The example platform's current release, as registry/releases.yaml records it.
RELEASE_DIGEST = "sha256:a66ae721e056cec20cdea6607e05cbb6ec6f44d002a6b7c8063fce4dcc73ed2c"
RELEASE_IMAGE = f"ghcr.io/dataplane-platform/engine:2026.11.3@{RELEASE_DIGEST}"
RELEASE_YAML = f'platform_version: "2026.11.3"\nimage: {RELEASE_IMAGE}\n'


# Tenants of the unit tier (tests/fixtures/tenants/README.md): the platform's registry and
# templates, none of the example tenants, so editing an example breaks no unit test.
FIXTURE_TENANTS = ROOT / "tests" / "fixtures" / "tenants"


def fixture_tenants(*names: str) -> dict[str, tuple[str, str, str]]:
    """{name: (tenant.yaml, overrides.yaml, release.yaml)} of the named fixture tenants (all
    of them by default), for `memory_repo`."""
    out = {}
    for name in names or sorted(p.name for p in FIXTURE_TENANTS.iterdir() if p.is_dir()):
        tenant, overrides, release = ((FIXTURE_TENANTS / name / f).read_text(encoding="utf-8") for f in layout.TENANT_FILES)
        out[name] = (tenant, overrides, release)
    return out


def fixture_repo(*names: str, extractors: str | None = None):
    """A Repo in memory of the named fixture tenants (all of them by default)."""
    return memory_repo(fixture_tenants(*names), extractors=extractors)


def memory_repo(tenants: dict[str, tuple[str, str, str]], *, extractors: str | None = None,
                platform: str | None = None):
    """A Repo built in memory from {name: (tenant.yaml, overrides.yaml, release.yaml)} texts,
    with this repository's registry and templates (or the given extractors.yaml and
    platform.yaml texts)."""
    from render import layout
    from render.load import PlatformInputs, Repo, TenantFiles, parse_yaml, read_templates, read_yaml

    files = {
        name: TenantFiles(name, *(parse_yaml(text, layout.tenant_file(name, f)) for text, f in zip(texts, layout.TENANT_FILES, strict=True)))
        for name, texts in tenants.items()
    }
    registry = parse_yaml(extractors, layout.EXTRACTORS_FILE) if extractors else read_yaml(ROOT, layout.EXTRACTORS_FILE)
    defaults = parse_yaml(platform, layout.PLATFORM_FILE) if platform else read_yaml(ROOT, layout.PLATFORM_FILE)
    # In memory there is no history to read a pin from: every tenant renders from `current`.
    return Repo(PlatformInputs(registry, defaults, read_templates(ROOT),
                               read_yaml(ROOT, layout.RELEASES_FILE)), files, history=False)
