"""The render cache is correct: it re-renders exactly the tenants whose inputs changed,
serves bytes identical to a fresh render, and survives being corrupted or deleted.
Correctness only; speed is measured by `python -m bench`."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from bench.fleet import generate_fleet
from render import cache, emit, fleet, layout, parallel
from render.commands.render import Progress, render
from render.load import load_repo
from render.problems import ProblemsError

N = 6


def tree(root: Path) -> dict[str, bytes]:
    """Every output file under root, by repo-relative path."""
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for folder in layout.OUTPUT_DIRS if (root / folder).is_dir()
            for p in sorted((root / folder).rglob("*")) if p.is_file()}


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, list[str]]:
    """A fleet of N tenants rendered once, with its own cache folder."""
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "cache"))
    root = tmp_path / "repo"
    names = generate_fleet(root, N, seed=7)
    assert render(root=root, tenants=[]) == 0
    return root, names


def rerender(root: Path) -> fleet.FleetRender:
    """Render like the command does, returning what was rendered and what was known fresh."""
    result = fleet.render_fleet(root)
    emit.write(root, result.outputs, [])
    fleet.remember(root, result, result.scopes, [])
    return result


def fresh_render(root: Path, tmp_path: Path) -> dict[str, bytes]:
    """The same inputs rendered from scratch, without any cache."""
    clean = tmp_path / "clean"
    shutil.rmtree(clean, ignore_errors=True)
    for folder in ("registry", "base", "tenants"):
        shutil.copytree(root / folder, clean / folder)
    assert render(root=clean, tenants=[], use_cache=False) == 0
    assert not (clean / ".cache").exists()
    return tree(clean)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_unchanged_fleet_renders_nothing(repo: tuple[Path, list[str]]) -> None:
    root, names = repo
    result = rerender(root)
    assert result.rendered == [] and result.reused == [] and result.scopes == []
    assert sorted(result.fresh) == sorted([s for n in names for s in layout.tenant_scopes(n)] + list(layout.PLATFORM_SCOPES))


@pytest.mark.parametrize("file", ["tenant.yaml", "overrides.yaml", "release.yaml"])
def test_a_tenant_file_invalidates_that_tenant_only(repo: tuple[Path, list[str]], file: str) -> None:
    root, names = repo
    target = names[2]
    with (root / "tenants" / target / file).open("a", encoding="utf-8") as f:
        f.write("# a comment still changes the bytes, so the key\n")
    assert rerender(root).rendered == [target]
    assert rerender(root).rendered == []


def test_an_edited_tenant_is_rendered_fresh(repo: tuple[Path, list[str]], tmp_path: Path) -> None:
    root, names = repo
    target = names[0]
    edit(root / "tenants" / target / "overrides.yaml", "\n", "\nenv:\n  CACHE_TEST: changed\n")
    result = rerender(root)
    assert result.rendered == [target]
    assert b"CACHE_TEST" in (root / f"rendered/{target}/configmap-engine-env.yaml").read_bytes()
    assert tree(root) == fresh_render(root, tmp_path)


@pytest.mark.parametrize("path, old, new", [
    ("base/redis.yaml.j2", "\n", "\n# template comment\n"),
    ("registry/extractors.yaml", "max_replicas: 4", "max_replicas: 5"),
    ("registry/platform.yaml", "probe_timeout_s: 2", "probe_timeout_s: 3"),
])
def test_shared_inputs_invalidate_every_tenant(repo: tuple[Path, list[str]], tmp_path: Path,
                                                path: str, old: str, new: str) -> None:
    root, names = repo
    edit(root / path, old, new)
    assert rerender(root).rendered == names
    assert tree(root) == fresh_render(root, tmp_path)


def test_a_new_template_invalidates_every_tenant(repo: tuple[Path, list[str]]) -> None:
    root, names = repo
    (root / "base/extra.yaml.j2").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\ndata:\n  tenant: {{ name | j }}\n", encoding="utf-8")
    assert rerender(root).rendered == names
    assert (root / f"rendered/{names[0]}/configmap-extra.yaml").is_file()


def test_engine_version_invalidates_every_tenant(repo: tuple[Path, list[str]], monkeypatch: pytest.MonkeyPatch) -> None:
    root, names = repo
    monkeypatch.setattr(cache, "ENGINE_VERSION", "999.0.0")
    assert rerender(root).rendered == names
    assert rerender(root).rendered == []


def test_keys_do_not_depend_on_where_the_repo_is(repo: tuple[Path, list[str]], tmp_path: Path) -> None:
    root, _ = repo
    copy = tmp_path / "elsewhere" / "copy"
    for folder in ("registry", "base", "tenants"):
        shutil.copytree(root / folder, copy / folder)
    assert fleet.render_fleet(copy, use_cache=False).keys == fleet.render_fleet(root, use_cache=False).keys


def test_cache_hits_are_byte_identical_to_a_fresh_render(repo: tuple[Path, list[str]], tmp_path: Path) -> None:
    root, names = repo
    shutil.rmtree(root / "rendered")
    result = rerender(root)
    assert result.rendered == [] and result.reused == names  # every byte came from the store
    assert tree(root) == fresh_render(root, tmp_path)


def test_hand_edited_output_is_restored_and_reported_by_check(repo: tuple[Path, list[str]],
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    root, names = repo
    victim = root / f"rendered/{names[1]}/service-redis.yaml"
    original = victim.read_bytes()
    victim.write_bytes(original + b"extra: true\n")
    (root / f"rendered/{names[1]}/stray.yaml").write_text("x: 1\n", encoding="utf-8")
    assert render(root=root, tenants=[], check=True) == 1
    out = capsys.readouterr().out
    assert f"stale: rendered/{names[1]}/service-redis.yaml" in out and f"extra: rendered/{names[1]}/stray.yaml" in out
    assert render(root=root, tenants=[]) == 0
    assert victim.read_bytes() == original and not (root / f"rendered/{names[1]}/stray.yaml").exists()
    assert render(root=root, tenants=[], check=True) == 0


@pytest.mark.parametrize("damage", ["delete", "garbage", "truncate", "flip"])
def test_a_damaged_cache_is_rebuilt_silently(repo: tuple[Path, list[str]], tmp_path: Path, damage: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    root, _names = repo
    folder = tmp_path / "cache"
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert any("objects" in p.parts for p in files) and any("index" in p.parts for p in files)
    if damage == "delete":
        shutil.rmtree(folder)
    for p in files if damage != "delete" else []:
        data = p.read_bytes()
        p.write_bytes({"garbage": b"\x00not a cache file", "truncate": data[: len(data) // 2],
                       "flip": data[:-1] + bytes([data[-1] ^ 1])}[damage])
    shutil.rmtree(root / "rendered")
    capsys.readouterr()
    assert render(root=root, tenants=[]) == 0
    assert f"({N} rendered, 0 from cache, 0 unchanged)" in capsys.readouterr().out
    assert tree(root) == fresh_render(root, tmp_path)
    assert rerender(root).rendered == []


def test_invalid_input_is_reported_and_nothing_is_written(repo: tuple[Path, list[str]]) -> None:
    root, names = repo
    before = tree(root)
    edit(root / "tenants" / names[0] / "overrides.yaml", "\n", "\nenv:\n  X: changed\n")
    edit(root / "tenants" / names[3] / "tenant.yaml", "cloud: ", "cloud: azure-")
    with pytest.raises(ProblemsError) as e:
        rerender(root)
    assert [p.file for p in e.value.problems] == [f"tenants/{names[3]}/tenant.yaml"]
    assert tree(root) == before
    # A cached (valid) tenant is still served; the invalid one is validated again every time.
    edit(root / "tenants" / names[3] / "tenant.yaml", "cloud: azure-", "cloud: ")
    assert rerender(root).rendered == [names[0]]


def test_parallel_render_equals_serial_render(repo: tuple[Path, list[str]]) -> None:
    root, _ = repo
    loaded = load_repo(root)
    shared = loaded.current
    tenants = [loaded.tenants[n] for n in sorted(loaded.tenants)]
    serial = {name: out for name, out, _ in parallel.render_all(tenants, shared, workers=0)}
    forked = {name: out for name, out, _ in parallel.render_all(tenants, shared, workers=2)}
    assert serial == forked and len(serial) == N


def test_parallel_workers_report_template_problems(repo: tuple[Path, list[str]]) -> None:
    root, _ = repo
    edit(root / "base/redis.yaml.j2", "\n", "\n{{ no_such_value | j }}\n")
    loaded = load_repo(root)
    results = list(parallel.render_all(list(loaded.tenants.values()), loaded.current, workers=2))
    assert all(out is None and problems[0].file == "base/redis.yaml.j2" for _, out, problems in results)


def test_platform_outputs_rebuild_only_when_the_platform_changes(repo: tuple[Path, list[str]],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    root, names = repo
    calls: list[str] = []

    def platform_app(loaded: Any) -> emit.Outputs:
        calls.append(loaded.current.platform.data["env"]["LOG_LEVEL"])
        return {"argocd/platform": {"argocd/platform/version.yaml": calls[-1].encode()}}

    monkeypatch.setattr(fleet, "FLEET_BUILDERS", (platform_app,))
    rerender(root)
    edit(root / "tenants" / names[1] / "overrides.yaml", "\n", "\nenv:\n  X: y\n")
    assert rerender(root).rendered == [names[1]]
    assert calls == []  # the platform's outputs are known fresh; tenant changes never touch them
    (root / "argocd/platform/appproject-dataplane-platform.yaml").write_text("edited by hand")
    rerender(root)
    assert len(calls) == 1 and (root / "argocd/platform/version.yaml").read_text() == calls[0]
    rerender(root)
    assert len(calls) == 1
    edit(root / "registry/platform.yaml", "LOG_LEVEL: INFO", "LOG_LEVEL: WARNING")
    rerender(root)
    assert len(calls) == 2 and calls[-1] == "WARNING"


def test_summary_line_and_progress(repo: tuple[Path, list[str]], capsys: pytest.CaptureFixture[str]) -> None:
    root, _ = repo
    assert render(root=root, tenants=[]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"rendered {N} tenants (0 rendered, 0 from cache, {N} unchanged): 0 files written, 0 pruned,")
    assert "\r" not in line  # no progress bar when stdout is not a terminal

    class Stream:
        text = ""

        def write(self, s: str) -> None:
            self.text += s

        def flush(self) -> None:
            pass

    ticks = iter([0.0, 0.05, 0.2, 0.3])
    stream = Stream()
    bar = Progress(stream, every=0.1, clock=lambda: next(ticks))  # type: ignore[arg-type]
    for i in range(1, 4):
        bar.update(i, 6, f"t{i}")
    bar.close()
    assert stream.text == ("\rrendering [#####                         ] 1/6 tenants (t1)\033[K"
                           "\rrendering [###############               ] 3/6 tenants (t3)\033[K\r\033[K")


def test_a_template_failing_mid_render_writes_nothing(repo: tuple[Path, list[str]]) -> None:
    root, _ = repo
    before = tree(root)
    edit(root / "base/redis.yaml.j2", "\n", "\n{{ no_such_value | j }}\n")
    with pytest.raises(ProblemsError):
        render(root=root, tenants=[])
    assert tree(root) == before
    assert not [p.name for p in (root / "rendered").iterdir() if p.name.startswith(".")]  # no staging left


def test_a_fleet_rendered_by_workers_equals_one_rendered_in_process(repo: tuple[Path, list[str]], tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    root, names = repo
    monkeypatch.setattr(parallel, "MIN_TENANTS_PER_WORKER", 1)  # workers even for a small fleet
    assert parallel.workers_for(N) >= 2 or len(parallel.os.sched_getaffinity(0)) < 2
    for folder in layout.TENANT_SCOPE_PARENTS:  # every tenant's output
        shutil.rmtree(root / folder)
    shutil.rmtree(tmp_path / "cache")
    assert render(root=root, tenants=[]) == 0
    platform_files = sum(len(list((root / scope).iterdir())) for scope in layout.PLATFORM_SCOPES)
    assert f"({N} rendered, 0 from cache, 0 unchanged): {len(tree(root)) - platform_files} files written" \
        in capsys.readouterr().out
    assert tree(root) == fresh_render(root, tmp_path)
    edit(root / "tenants" / names[4] / "release.yaml", "\n", "\n# new\n")
    assert render(root=root, tenants=[], check=True, use_cache=False) == 0  # workers comparing, not writing
    assert rerender(root).rendered == [names[4]]


def test_touching_an_input_without_changing_it_renders_nothing(repo: tuple[Path, list[str]]) -> None:
    root, names = repo
    path = root / "tenants" / names[5] / "tenant.yaml"
    path.write_bytes(path.read_bytes())  # new mtime and ctime, same bytes: same key
    os.utime(root / "tenants" / names[4] / "release.yaml", ns=(1, 1))
    result = rerender(root)
    assert result.rendered == [] and len(result.fresh) == N * len(layout.tenant_scopes(names[0])) + len(layout.PLATFORM_SCOPES)


def test_the_store_keeps_the_most_recently_used_entries(tmp_path: Path) -> None:
    store = cache.Store(tmp_path)
    for i in range(5):
        store.put(f"{i:064x}", {"rendered/t": {"rendered/t/a.yaml": str(i).encode()}})
        os.utime(store._path(f"{i:064x}"), ns=(i * 10**9, i * 10**9))
    assert store.get(f"{0:064x}") == {"rendered/t": {"rendered/t/a.yaml": b"0"}}  # used now: kept
    store.prune(keep=2)
    assert [i for i in range(5) if store.get(f"{i:064x}") is not None] == [0, 4]
