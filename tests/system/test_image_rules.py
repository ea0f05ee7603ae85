"""render/validate/image_rules.py: images by digest. Each refused image is also refused by
`dataplane validate` on a copy of the repository, exit 2, one problem naming file, key and rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from render import images
from render.load import TenantFiles, read_yaml
from render.validate import image_rules
from render.yamlstrict import Document, parse_yaml
from tests.support import RELEASE_DIGEST, ROOT, copy_repo, dataplane, snapshot

ENGINE = "ghcr.io/dataplane-platform/engine"
RELEASES = read_yaml(ROOT, "registry/releases.yaml")
PLATFORM = read_yaml(ROOT, "registry/platform.yaml")
OLD = images.release_digests(RELEASES.data)["2026.10.2"]
FORK_SHA = "3f9a1c2" + "0" * 33
FORK_DIGEST = "sha256:" + "f" * 64
FOREIGN_DIGEST = "sha256:" + "e" * 64  # another tenant's fork build, say: public in its release.yaml
FORK_BUILDS = f'fork_builds:\n  - sha: "{FORK_SHA}"\n    digest: "{FORK_DIGEST}"\n'


def files(release: str, name: str = "acme") -> TenantFiles:
    empty = Document("x", {}, {})
    return TenantFiles(name, empty, empty, parse_yaml(release, f"tenants/{name}/release.yaml"))


def check(image: str, version: str = "2026.11.3", extra: str = FORK_BUILDS) -> list[str]:
    found = image_rules.check_release_image(files(f'platform_version: "{version}"\nimage: {image}\n{extra}'),
                                            PLATFORM, RELEASES)
    return [p.message for p in found]


@pytest.mark.parametrize("image, version", [
    (f"{ENGINE}:2026.11.3@{RELEASE_DIGEST}", "2026.11.3"),
    (f"{ENGINE}:2026.10.2@{OLD}", "2026.10.2"),
    (f"{ENGINE}-tenant-acme:tenant-acme-{FORK_SHA}@{FORK_DIGEST}", "2026.11.3"),
])
def test_recorded_images_are_accepted(image: str, version: str) -> None:
    assert check(image, version) == []


@pytest.mark.parametrize("image, message", [
    (f"{ENGINE}:2026.11.3", "has no digest"),
    (f"{ENGINE}:latest@{RELEASE_DIGEST}", "names the tag latest, which moves"),
    (f"{ENGINE}:2026.11.3@{FOREIGN_DIGEST}", "is not the digest registry/releases.yaml records for release 2026.11.3"),
    (f"{ENGINE}:2026.11.3@{OLD}", "is not the digest registry/releases.yaml records for release 2026.11.3"),
    (f"{ENGINE}:2026.10.2@{OLD}", "tag '2026.10.2' is not the platform_version '2026.11.3'"),
    (f"{ENGINE}-tenant-acme:tenant-acme-{FORK_SHA}@{FOREIGN_DIGEST}", "is not one of this tenant's recorded fork_builds"),
    (f"{ENGINE}-tenant-acme:tenant-acme-{'a' * 40}@{FORK_DIGEST}", "is not one of this tenant's recorded fork_builds"),
    (f"{ENGINE}:tenant-acme-{FORK_SHA}@{FORK_DIGEST}", "is not in this tenant's own package"),
    (f"{ENGINE}-tenant-globex:tenant-acme-{FORK_SHA}@{FORK_DIGEST}", "is not in this tenant's own package"),
    (f"{ENGINE}-tenant-globex:tenant-globex-{FORK_SHA}@{FORK_DIGEST}", "is a fork build of tenant globex"),
    (f"{ENGINE}-tenant-acme:tenant-acme-latest@{FORK_DIGEST}", "looks like a fork build but is not tenant-<name>-<sha>"),
    (f"{ENGINE}2:2026.11.3@{RELEASE_DIGEST}", "is not an image of the platform registry"),
])
def test_unrecorded_images_are_refused(image: str, message: str) -> None:
    [found] = check(image)
    assert message in found


def test_a_platform_version_that_was_never_released_is_refused() -> None:
    assert check(f"{ENGINE}:2099.1.1@{RELEASE_DIGEST}", "2099.1.1") == [
        "release 2099.1.1 is not recorded in registry/releases.yaml"]


def test_the_platform_engine_is_its_recorded_release_and_components_are_pinned() -> None:
    assert image_rules.check_platform_images(PLATFORM, RELEASES) == []
    text = (ROOT / "registry/platform.yaml").read_text()
    bad = (text.replace(RELEASE_DIGEST, OLD).replace('tag: "2026.11.3"', 'tag: "latest"')
           .replace("redis:7.4.5-alpine@sha256:71007fec00170b872d4966c23c0984c8b97138a3cc3416f5a4a25e4adb0c91ed",
                    "redis:7.4.5-alpine").replace("celery-exporter:0.12.0@", "celery-exporter:latest@"))
    found = image_rules.check_platform_images(parse_yaml(bad, "registry/platform.yaml"), RELEASES)
    assert sorted((p.pointer, p.message) for p in found) == sorted([
        ("engine.tag", "tag 'latest' is not the platform version '2026.11.3'"),
        ("engine.digest", "digest is not the one registry/releases.yaml records for release 2026.11.3"),
        ("images.redis", "'docker.io/library/redis:7.4.5-alpine' has no digest"),
        ("images.celery_exporter", f"'docker.io/danihodovic/celery-exporter:latest@{images.component_images(PLATFORM.data)['celery_exporter'].split('@')[1]}' names the tag latest, which moves"),
    ])


def test_releases_are_recorded_once_oldest_first() -> None:
    entry = '  - {{version: "{v}", digest: "sha256:{d}", ray: "2.60.0", kuberay: "1.7.0"}}\n'
    text = "releases:\n" + "".join(entry.format(v=v, d=d * 64) for v, d in
                                   (("2026.9.1", "1"), ("2026.11.3", "2"), ("2026.10.2", "3"), ("2026.11.3", "4")))
    found = image_rules.check_releases(parse_yaml(text, "registry/releases.yaml"))
    assert [(p.line, p.message) for p in found] == [(4, "release 2026.10.2 is older than the one before it"),
                                                    (5, "release 2026.11.3 is recorded twice")]
    bad = parse_yaml('releases:\n  - {version: latest, digest: "sha256:1", ray: "2", kuberay: "1"}\n', "r.yaml")
    assert len(image_rules.check_releases(bad)) == 2  # the schema: a version shape, a digest shape


@pytest.mark.parametrize("image, pointer, message", [
    (f"{ENGINE}:2026.11.3", "image", "has no digest"),
    (f"{ENGINE}:latest@{RELEASE_DIGEST}", "image", "latest"),
    (f"{ENGINE}:2026.11.3@{FOREIGN_DIGEST}", "image", "is not the digest registry/releases.yaml records"),
])
def test_validate_refuses_in_one_line_and_render_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                                image: str, pointer: str, message: str) -> None:
    root = copy_repo(tmp_path / "repo")
    (root / "tenants/acme/release.yaml").write_text(f'platform_version: "2026.11.3"\nimage: "{image}"\n')
    before = snapshot(root)
    assert dataplane(root, "validate") == 2
    err = capsys.readouterr().err
    assert f"tenants/acme/release.yaml:2:8: {pointer}: " in err and message in err
    assert dataplane(root, "render", "--no-cache") == 2
    assert snapshot(root) == before
