"""A small repository in tmp_path for the tenant-lifecycle tests: the real registry and
templates, and tenants written from text. No chdir, nothing shared between tests."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.support import RELEASE_YAML, ROOT


def make_repo(tmp: Path, tenants: dict[str, str], overrides: dict[str, str] | None = None,
              platform_extra: str = "") -> Path:
    """tenants: name -> tenant.yaml text. overrides: name -> overrides.yaml text."""
    shutil.copytree(ROOT / "registry", tmp / "registry")
    shutil.copytree(ROOT / "base", tmp / "base")
    if platform_extra:
        with (tmp / "registry/platform.yaml").open("a", encoding="utf-8") as f:
            f.write(platform_extra)
    for name, text in tenants.items():
        write_tenant(tmp, name, text, (overrides or {}).get(name, "{}\n"))
    return tmp


def write_tenant(root: Path, name: str, tenant: str, overrides: str = "{}\n") -> None:
    folder = root / "tenants" / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tenant.yaml").write_text(tenant, encoding="utf-8")
    (folder / "overrides.yaml").write_text(overrides, encoding="utf-8")
    (folder / "release.yaml").write_text(RELEASE_YAML, encoding="utf-8")
