"""One source for versions: the Ray and KubeRay of every platform release, and the KubeRay
operator each cluster runs.

- registry/releases.yaml (automation-owned, render/workflows/image_records.py) records for
  each release its engine digest, `ray` and `kuberay`. A tenant runs the release its
  release.yaml `platform_version` names, so its RayService's `rayVersion` is that
  release's `ray`. A fork build keeps the `platform_version` of the release it was built
  on and inherits that release's versions; a version not recorded (refused by validate
  for a release image) falls back to registry/platform.yaml `versions`.
- registry/platform.yaml `versions.ray` and `versions.kuberay` are the next release's:
  `platform-update` records them with it. `versions.kuberay` is also the operator each
  cluster runs (render/argocd/operator_apps.py) unless its `clusters` entry names another
  (`kuberay`: an upgrade tried on one cluster first, or one held back). It changes on merge,
  ahead of the waves that move tenants to a release built for it. (Derived from what the
  tenants on a cluster run, the operator would make the platform's output depend on
  tenants' files, which incremental renders and the PR gate rely on it never does.)
- registry/kuberay.yaml (platform-owned) states the Ray versions each KubeRay version
  supports; `problems` refuses a release outside it and a cluster whose operator does not
  support the Ray (or is older than the KubeRay) of a release a tenant on it runs.
Pure, except `registry_problems` and `problems` (which read registry/kuberay.yaml).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from render import images, layout
from render.load import Document, Repo, read_yaml
from render.problems import Problem, ProblemsError

NUMERIC = re.compile(r"[0-9]+(\.[0-9]+)*")


def key(version: str) -> tuple[int, ...] | None:
    """A dotted version as numbers ("2.60.0" -> (2, 60, 0)); None when it is not one."""
    return tuple(int(p) for p in version.split(".")) if NUMERIC.fullmatch(version) else None


@dataclass(frozen=True)
class Versions:
    ray: str
    kuberay: str


def release_entry(releases: Any, version: Any) -> dict[str, Any] | None:
    """The registry/releases.yaml entry of release `version`, or None."""
    return next((r for r in images.releases(releases) if r.get("version") == version), None)


def of_release(release: Any, releases: Any, platform: dict[str, Any]) -> Versions:
    """The Ray and KubeRay of the release a tenant runs (release.yaml data): its recorded
    entry, else the platform's `versions`."""
    version = release.get("platform_version") if isinstance(release, dict) else None
    entry = release_entry(releases, version) or {}
    found = platform.get("versions")
    v: dict[str, Any] = found if isinstance(found, dict) else {}
    return Versions(str(entry.get("ray", v.get("ray", ""))), str(entry.get("kuberay", v.get("kuberay", ""))))


def operator_version(platform: dict[str, Any], cluster: str) -> str:
    """The KubeRay operator `cluster` runs: its `clusters` entry's `kuberay`, else
    registry/platform.yaml `versions.kuberay`."""
    clusters, v = platform.get("clusters"), platform.get("versions")
    entry = clusters.get(cluster) if isinstance(clusters, dict) else None
    if isinstance(entry, dict) and isinstance(entry.get("kuberay"), str):
        return str(entry["kuberay"])
    return str(v.get("kuberay", "")) if isinstance(v, dict) else ""


def operator_source(platform: dict[str, Any], cluster: str) -> str:
    """Where `operator_version` comes from, for messages."""
    entry = (platform.get("clusters") or {}).get(cluster) if isinstance(platform.get("clusters"), dict) else None
    own = isinstance(entry, dict) and isinstance(entry.get("kuberay"), str)
    return f"{layout.PLATFORM_FILE} " + (f"clusters.{cluster}.kuberay" if own else "versions.kuberay")


@dataclass(frozen=True)
class Range:
    kuberay: str  # major.minor
    ray_min: str
    ray_max: str | None  # exclusive


def table(doc: Document) -> list[Range]:
    items = doc.data.get("compatibility") if isinstance(doc.data, dict) else None
    return [Range(str(i["kuberay"]), str(i["ray"]["min"]), i["ray"].get("max"))
            for i in items or [] if isinstance(i, dict) and isinstance(i.get("ray"), dict)]


def range_of(ranges: list[Range], kuberay: str) -> Range | None:
    """The entry whose major.minor `kuberay` is (every patch release matches)."""
    k = key(kuberay)
    return next((r for r in ranges if k is not None and key(r.kuberay) == k[:2]), None)


def unsupported(ranges: list[Range], kuberay: str, ray: str) -> str | None:
    """Why KubeRay `kuberay` cannot run Ray `ray`, or None when the table says it can."""
    r = range_of(ranges, kuberay)
    if r is None:
        return f"KubeRay {kuberay} is not in {layout.KUBERAY_FILE}"
    k = key(ray)
    if k is None or k < (key(r.ray_min) or ()) or (r.ray_max is not None and k >= (key(r.ray_max) or ())):
        said = f"Ray {r.ray_min} and later" + (f", below {r.ray_max}" if r.ray_max else "")
        return f"KubeRay {kuberay} supports {said}, not Ray {ray}"
    return None


def file_problems(kuberay: Document, releases: Document, platform: Document) -> list[Problem]:
    """registry/kuberay.yaml itself, each recorded release's pair and the next release's
    (registry/platform.yaml `versions`)."""
    from render.validate.schemas import check_schema  # validate imports the context, which imports this module

    problems = check_schema(kuberay, "kuberay")
    if problems:
        return problems
    ranges, seen = table(kuberay), set()
    for i, r in enumerate(ranges):
        if r.kuberay in seen:
            problems.append(kuberay.problem(("compatibility", i, "kuberay"), f"KubeRay {r.kuberay} is listed twice",
                                            "one entry per major.minor version", at_value=True))
        seen.add(r.kuberay)
    hint = f"pick a Ray/KubeRay pair {layout.KUBERAY_FILE} lists, or add the pair from KubeRay's upgrade guide"
    for i, entry in enumerate(images.releases(releases.data)):
        why = unsupported(ranges, str(entry.get("kuberay", "")), str(entry.get("ray", "")))
        if why:
            problems.append(releases.problem(("releases", i, "kuberay"), f"release {entry.get('version')}: {why}",
                                             hint, at_value=True))
    v = platform.data.get("versions") if isinstance(platform.data, dict) else None
    if isinstance(v, dict) and (why := unsupported(ranges, str(v.get("kuberay", "")), str(v.get("ray", "")))):
        problems.append(platform.problem(("versions", "kuberay"), f"the next release's versions: {why}", hint,
                                         at_value=True))
    clusters = platform.data.get("clusters") if isinstance(platform.data, dict) else None
    for name, entry in sorted(clusters.items()) if isinstance(clusters, dict) else []:
        own = entry.get("kuberay") if isinstance(entry, dict) else None
        if isinstance(own, str) and range_of(ranges, own) is None:
            problems.append(platform.problem(("clusters", name, "kuberay"), f"KubeRay {own} is not in {layout.KUBERAY_FILE}",
                                             "add its range from KubeRay's upgrade guide", at_value=True))
    return problems


def operator_problems(repo: Repo, ranges: list[Range]) -> list[Problem]:
    """A tenant whose release needs a newer KubeRay than its cluster's operator, or a Ray
    that operator does not support: its cluster would have to run two operators."""
    platform = repo.current.platform.data if isinstance(repo.current.platform.data, dict) else {}
    out = []
    for _, files in sorted(repo.tenants.items()):
        tenant = files.tenant.data if isinstance(files.tenant.data, dict) else {}
        cluster = str(tenant.get("cluster", "?"))
        operator = operator_version(platform, cluster)
        need = of_release(files.release.data, repo.current.releases.data, platform)
        release = (files.release.data or {}).get("platform_version") if isinstance(files.release.data, dict) else None
        newer = (key(need.kuberay) or ()) > (key(operator) or ())
        why = (f"it needs KubeRay {need.kuberay}" if newer else unsupported(ranges, operator, need.ray))
        if why:
            out.append(files.release.problem(
                ("platform_version",), f"release {release} runs Ray {need.ray}; cluster {cluster}'s operator is KubeRay "
                f"{operator} ({operator_source(platform, cluster)}): {why}",
                "move the tenant to a release the operator supports (`dataplane promote`), or run an operator on "
                f"{cluster} that supports every tenant on it", at_value=True))
    return out


def registry_problems(root: Path) -> list[Problem]:
    """registry/kuberay.yaml and the pairs of registry/releases.yaml and registry/platform.yaml
    `versions`: three small files, checked by every render before anything is written."""
    try:
        docs = [read_yaml(root, rel) for rel in (layout.KUBERAY_FILE, layout.RELEASES_FILE, layout.PLATFORM_FILE)]
    except ProblemsError as e:
        return e.problems
    return file_problems(*docs)


def problems(root: Path, repo: Repo) -> list[Problem]:
    """Every version problem, for `dataplane validate`: the registry's, then each loaded tenant's
    against its cluster's operator."""
    try:
        doc = read_yaml(root, layout.KUBERAY_FILE)
    except ProblemsError as e:
        return e.problems
    found = file_problems(doc, repo.current.releases, repo.current.platform)
    if found:
        return found
    return operator_problems(repo, table(doc))
