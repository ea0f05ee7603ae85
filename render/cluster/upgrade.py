"""Upgrades on the local control plane, as ArgoCD syncs them: the committed output of one
revision over another's, or a pull request's rendered output over the committed one, by
server-side apply with ArgoCD's field manager in ArgoCD's order (render/cluster/waves.py).

What is checked is acceptance and admission (every object the API server stores, or would
store under dryRun=All, after validation, immutability and the ValidatingAdmissionPolicies),
not convergence: no Ray runs in a simulated pod, so a RayService never leaves Initializing
and KubeRay never observes its changed spec (docs/validation.md).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from render import git, layout
from render.cluster import api, apply, waves

Tree = dict[str, list[dict[str, Any]]]  # repo-relative output file -> its YAML documents

# What `dataplane platform-update` writes into registry/platform.yaml for every platform
# release (render/workflows/deploy.py): the version label and the engine image (tag and
# digest). A commit of main where these change is a release commit.
RELEASE_KEYS = ("platform_version", "engine")


class NoPreviousRelease(git.GitError):
    """The history at hand holds no earlier platform release (a shallow clone, or none yet)."""


def release_identity(root: Path, revision: str) -> tuple[str, ...]:
    """The platform release registry/platform.yaml names at `revision` (RELEASE_KEYS)."""
    raw = git.GitTree(root, revision).read(layout.PLATFORM_FILE)
    data = yaml.safe_load(raw) if raw else None
    data = data if isinstance(data, dict) else {}
    return tuple(yaml.safe_dump(data.get(k), sort_keys=True) for k in RELEASE_KEYS)


def previous_release(root: Path, ref: str = "HEAD") -> str:
    """THE definition of "the previous platform release" (one place): the last commit of
    main's first-parent history before the commit that made registry/platform.yaml name
    the release `ref` runs (RELEASE_KEYS). Its committed output is what every cluster ran
    before the current release was deployed. Read from history alone, so a CI clone
    without tags finds it; it needs the full history of main (actions/checkout with
    fetch-depth: 0): a shallow clone, or a history with one release only, raises
    NoPreviousRelease saying so."""
    head = git.resolve(root, ref)
    current = release_identity(root, head)
    # First-parent commits that touched the file, newest first: the release changes among them.
    touched = git.run(root, "log", "--first-parent", "--format=%H", head, "--", layout.PLATFORM_FILE).split()
    for revision in touched:
        parents = git.run(root, "rev-list", "--parents", "-n", "1", revision).split()[1:]
        if not parents:
            break
        if release_identity(root, parents[0]) != current:
            return parents[0]
    shallow = git.run(root, "rev-parse", "--is-shallow-repository").strip() == "true"
    raise NoPreviousRelease(
        f"no earlier platform release in the history of {head[:12]}: registry/platform.yaml names the same "
        f"release ({', '.join(RELEASE_KEYS)}) in every commit{' of this shallow clone' if shallow else ''}; "
        "the upgrade test needs the full history of main (actions/checkout with fetch-depth: 0, "
        "or `git fetch --unshallow`)")


def output_files(root: Path, revision: str) -> dict[str, bytes]:
    """The committed output (rendered/, argocd/, control-plane/) of `revision`."""
    return git.GitTree(root, git.resolve(root, revision)).walk(*layout.OUTPUT_DIRS)


def output_at(root: Path, revision: str) -> Tree:
    """The committed output of `revision`, parsed."""
    return parse(output_files(root, revision))


def write_output(files: Mapping[str, bytes], dest: Path) -> Path:
    """`files` under `dest`, where apply.run reads an output tree."""
    for rel, raw in files.items():
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        (dest / rel).write_bytes(raw)
    return dest


def parse(files: Mapping[str, bytes]) -> Tree:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return {path: [d for d in yaml.load_all(raw, Loader=loader) if isinstance(d, dict)]
            for path, raw in sorted(files.items()) if path.endswith((".yaml", ".yml"))}


@dataclass(frozen=True)
class Base:
    """The output a cluster runs: its files' bytes and their objects."""
    files: dict[str, bytes]
    tree: Tree


def base_at(root: Path, revision: str) -> Base:
    files = output_files(root, revision)
    return Base(files, parse(files))


def overlay(base: Base, outputs: Mapping[str, Mapping[str, bytes]]) -> tuple[Tree, set[str]]:
    """`base` with every output scope of a render (render.emit.Outputs) replaced, and the
    files that differ from the base's bytes (a file a scope no longer renders is gone, as
    ArgoCD prunes it). Rendering is deterministic: equal bytes are the same objects."""
    head = {p: b for files in outputs.values() for p, b in files.items()}
    altered = {p for p, raw in head.items() if base.files.get(p) != raw}
    tree = {p: docs for p, docs in base.tree.items()
            if p in head or not any(layout.is_inside(p, scope) for scope in outputs)}
    tree.update(parse({p: head[p] for p in altered}))
    return dict(sorted(tree.items())), altered


def in_waves(tree: Tree, only: set[str] | None = None) -> list[waves.Wave]:
    """Every object of `tree` (of the files `only`, when given) as ArgoCD syncs it:
    Applications in apply.selected's order, each one's objects by phase, wave, kind and
    name, namespaced as apply.run namespaces them."""
    files = sorted(tree)
    out: list[waves.Wave] = []
    for app in apply.selected(apply.applications(tree), None):
        namespace = app["spec"]["destination"].get("namespace", "")
        # Partial objects patch ArgoCD's own installation, which apply.run does not sync either.
        items = [waves.Item(f, copy.deepcopy(d)) for f in waves.app_files(app, files) if only is None or f in only
                 for d in tree[f] if not layout.is_partial(d)]
        for item in items:
            if namespace and "namespace" not in item.obj["metadata"] and item.obj["kind"] not in apply.CLUSTER_KINDS:
                item.obj["metadata"]["namespace"] = namespace
        out += waves.plan(app["metadata"]["name"], items)
    return out


def in_order(tree: Tree, only: set[str] | None = None) -> list[waves.Item]:
    return [item for wave in in_waves(tree, only) for item in wave.items]


@dataclass(frozen=True)
class Refusal:
    item: waves.Item
    message: str

    def __str__(self) -> str:
        return f"{self.item.describe()} ({self.item.path}): {self.message}"


# ArgoCD's pause between two sync waves (gitops-engine's delayBetweenSyncWaves,
# ARGOCD_SYNC_WAVE_DELAY, 2 s by default): what the next wave's admission sees was applied
# at least this long before. It waits for health too, which is not judged here.
WAVE_DELAY_S = 2.0


def sync(deploy: api.Api, items: list[waves.Item], dry_run: bool = False) -> list[Refusal]:
    """Server-side apply of `items` in their order, as the deploy identity with ArgoCD's
    field manager; every refusal, in order (ArgoCD would stop at the first failing wave:
    going on names them all)."""
    out = []
    for item in items:
        try:
            api.apply(deploy, item.obj, dry_run=dry_run)
        except api.Refused as e:
            out.append(Refusal(item, e.message))
    return out


def sync_waves(deploy: api.Api, plan: list[waves.Wave], delay_s: float = WAVE_DELAY_S) -> list[Refusal]:
    """`sync` wave after wave, with ArgoCD's pause between waves."""
    out: list[Refusal] = []
    for i, wave in enumerate(plan):
        if i:
            time.sleep(delay_s)
        out += sync(deploy, list(wave.items))
    return out


def namespaces_of(admin: api.Api, tree: Tree) -> None:
    """The namespaces of an installed management cluster, as apply.run makes them: each
    platform Application's destination and every namespace its objects name."""
    files = sorted(tree)
    names = set()
    for app in apply.applications(tree):
        if layout.LABEL_TENANT in app["metadata"].get("labels", {}):
            continue
        names.add(str(app["spec"]["destination"].get("namespace", "")))
        names.update(str(d["metadata"].get("namespace", "")) for f in waves.app_files(app, files) for d in tree[f])
    for ns in sorted(names - {""}):
        if api.get(admin, "v1", "Namespace", ns) is None:
            api.apply(admin, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}, "bootstrap")


def describe(root: Path, revision: str) -> str:
    """`<12 hex> <subject>` of a commit, for messages."""
    return git.run(root, "log", "-1", "--format=%h %s", revision).strip()[:100]
