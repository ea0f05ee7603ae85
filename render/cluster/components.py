"""The real components of the local control plane, built from their pinned Go modules.

Each folder of tools/cluster/ is one Go module (go.mod + go.sum) that requires one
upstream project at a pinned version; they are separate modules because Kubernetes
1.33's staging libraries and the newer ones KubeRay and kwok need cannot share one build
list. `go build` turns them into binaries in a cache outside the repository keyed by the
bytes of every go.mod/go.sum and the Go version, so a second `up` builds nothing.
Only the Go module proxy is used; nothing is downloaded from anywhere else.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from render.problems import UserError

TOOLS_DIR = "tools/cluster"
CACHE_ENV = "DATAPLANE_CLUSTER_CACHE"
BUILD_TIMEOUT_S = 3600  # a cold build of all components takes ~15 minutes on 2 cores


class BuildError(UserError):
    """A component could not be built (no Go, a module the proxy refuses, a compile error)."""


@dataclass(frozen=True)
class Component:
    binary: str  # the file `go build -o DIR/` writes: the package path's last element
    module: str  # folder under tools/cluster/
    package: str  # what `go build` is given, inside that module


COMPONENTS = (
    Component("kube-apiserver", "kubernetes", "k8s.io/kubernetes/cmd/kube-apiserver"),
    Component("kube-controller-manager", "kubernetes", "k8s.io/kubernetes/cmd/kube-controller-manager"),
    Component("kube-scheduler", "kubernetes", "k8s.io/kubernetes/cmd/kube-scheduler"),
    Component("etcd", "etcd", "."),
    Component("kwok", "kwok", "sigs.k8s.io/kwok/cmd/kwok"),
    Component("kwokctl", "kwok", "sigs.k8s.io/kwok/cmd/kwokctl"),
    Component("ray-operator", "kuberay", "github.com/ray-project/kuberay/ray-operator"),
)
MODULES = tuple(dict.fromkeys(c.module for c in COMPONENTS))
# Files copied from a pinned module beside the binaries: (module, module path, file in it, name in bin/).
FILES = (("kuberay", "github.com/ray-project/kuberay/ray-operator", "config/rbac/role.yaml", "kuberay-operator-role.yaml"),)


def tools_dir(root: Path) -> Path:
    return root / TOOLS_DIR


def go_binary() -> str:
    go = shutil.which("go")
    if go is None:
        raise BuildError("the Go toolchain is not installed (needed once to build the control plane)")
    return go


def pinned_version(root: Path, module: str, requirement: str) -> str:
    """The version tools/cluster/<module>/go.mod requires of `requirement`."""
    for line in (tools_dir(root) / module / "go.mod").read_text(encoding="utf-8").splitlines():
        parts = line.replace("require", "").split()
        if len(parts) == 2 and parts[0] == requirement:
            return parts[1]
    raise BuildError(f"{TOOLS_DIR}/{module}/go.mod requires no {requirement}")


def cache_key(root: Path, go_version: str) -> str:
    """Changes when any pin (go.mod, go.sum) or the Go version changes."""
    h = hashlib.sha256(go_version.encode())
    for module in MODULES:
        for name in ("go.mod", "go.sum"):
            path = tools_dir(root) / module / name
            h.update(f"{module}/{name}\0".encode())
            h.update(path.read_bytes() if path.exists() else b"")
    return h.hexdigest()[:16]


def cache_root() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache/dataplane/cluster")


def bin_dir(root: Path) -> Path:
    go = go_binary()
    version = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True, check=False).stdout.strip()
    return cache_root() / cache_key(root, version) / "bin"


def missing(bins: Path) -> list[Component]:
    return [c for c in COMPONENTS if not (bins / c.binary).is_file()]


def copy_files(root: Path, bins: Path) -> None:
    """FILES not yet beside the binaries, from the module cache (`go list -m`)."""
    for module, path, file, name in FILES:
        if (bins / name).is_file():
            continue
        out = subprocess.run([go_binary(), "list", "-m", "-f", "{{.Dir}}", path], cwd=tools_dir(root) / module,
                             capture_output=True, text=True, check=False)
        source = Path(out.stdout.strip()) / file
        if out.returncode != 0 or not source.is_file():
            raise BuildError(f"cannot find {file} of {path} in the Go module cache: {out.stderr.strip()[:200]}")
        bins.mkdir(parents=True, exist_ok=True)
        (bins / name).write_bytes(source.read_bytes())


def ensure_built(root: Path, say: Callable[[str], None]) -> Path:
    """The folder holding every component, building the missing ones first (once)."""
    bins = bin_dir(root)
    todo = missing(bins)
    for module in dict.fromkeys(c.module for c in todo):
        packages = [c.package for c in todo if c.module == module]
        names = ", ".join(c.binary for c in todo if c.module == module)
        say(f"building {names} from {TOOLS_DIR}/{module} (first run only; minutes on 2 cores)")
        started = time.monotonic()
        _go_build(tools_dir(root) / module, bins, packages, names, say)
        say(f"built {names} in {time.monotonic() - started:.0f} s")
    copy_files(root, bins)  # cheap when present: a file beside binaries built before it existed
    return bins


def _go_build(module_dir: Path, bins: Path, packages: list[str], names: str, say: Callable[[str], None]) -> None:
    staging = bins.parent / "staging"
    staging.mkdir(parents=True, exist_ok=True)
    cmd = [go_binary(), "build", "-trimpath", "-o", f"{staging}/", *packages]
    log = bins.parent / f"build-{module_dir.name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=module_dir, stdout=out, stderr=subprocess.STDOUT)
        started = time.monotonic()
        try:
            while proc.poll() is None:
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    elapsed = time.monotonic() - started
                    if elapsed > BUILD_TIMEOUT_S:
                        raise BuildError(f"building {names} took over {BUILD_TIMEOUT_S} s; see {log}") from None
                    say(f"  still building {names} ({elapsed:.0f} s)")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    if proc.returncode != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-3:]
        raise BuildError(f"go build of {names} failed ({module_dir.name}): {' | '.join(tail)}; full log: {log}")
    bins.mkdir(parents=True, exist_ok=True)
    for built in staging.iterdir():
        built.replace(bins / built.name)
