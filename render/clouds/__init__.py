"""The clouds a tenant may live on: one module each, registered here once.

Every decision that differs between clouds (the account and region formats, the data and
backup buckets, the workload identities and their trust, the secret store and its admission
rule, the backup CLI, the account quotas, the node model, the template context's cloud
blocks) is a member of `Cloud` (render/clouds/base.py), implemented by each module. Code
elsewhere looks a cloud up with `get` and never branches on its name
(tests/conformance/test_cloud_interface.py checks that); a cloud's own objects are its templates in
base/clouds/<name>/ and the CRDs of their kinds in render/crds/. The cloud enums of the
schemas must name exactly these clouds (`schema_problems`, run by every validation).
Adding a cloud: docs/architecture.md, "Adding a cloud".
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import resources
from typing import Any

from render import layout
from render.clouds.aws import AWS
from render.clouds.base import Cloud, members
from render.clouds.gcp import GCP
from render.problems import Problem

__all__ = ["CLOUDS", "MANAGEMENT", "Cloud", "get", "names", "schema_problems"]

# Registration order is the order the engine lists clouds in where order shows (the secret
# store's admission rule tries each provider in turn).
CLOUDS: dict[str, Cloud] = {"gcp": GCP(), "aws": AWS()}
# The cloud the management cluster (ArgoCD, the gateway, the tenants' label proxies) runs
# on: `validate --deep` checks its pods against this cloud's node model.
MANAGEMENT = "gcp"


def _check(registry: dict[str, Cloud]) -> None:
    """Refuse at import a registered cloud that leaves a member of `Cloud` out or is
    registered under another name (mypy proves the same of the types, statically)."""
    for key, cloud in registry.items():
        missing = [m for m in members() if not hasattr(cloud, m)]
        if missing or cloud.name != key:
            raise TypeError(f"cloud {key!r} ({type(cloud).__name__}) does not implement render.clouds.base.Cloud: "
                            f"{', '.join(missing) or f'its name is {cloud.name!r}'}")


_check(CLOUDS)


def get(name: str) -> Cloud:
    """The cloud of a validated tenant.yaml `cloud` (the schema refuses another)."""
    return CLOUDS[name]


def names() -> list[str]:
    return sorted(CLOUDS)


# -- the schemas' cloud enums -----------------------------------------------------------

def _walk(node: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], list[str]]]:
    """(key path, cloud names) of every enum, `required` list and `properties` mapping of a
    schema that names a registered cloud."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("enum", "required") and isinstance(value, list):
                named = [v for v in value if isinstance(v, str)]
                if set(named) & set(CLOUDS):
                    yield (*path, key), named
            elif key == "properties" and isinstance(value, dict) and set(value) & set(CLOUDS):
                yield (*path, key), list(value)
            yield from _walk(value, (*path, str(key)))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, (*path, str(i)))


def schema_problems() -> list[Problem]:
    """Every place in render/schemas/ that lists clouds lists each registered one (the
    tenant.yaml `cloud` enum, each per-cloud block of the platform's and prices' files), and
    a `cloud` enum lists no other."""
    out = []
    folder = resources.files("render").joinpath("schemas")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".schema.json"):
            continue
        rel = f"{layout.ENGINE_DIR}/schemas/{entry.name}"
        for path, named in _walk(json.loads(entry.read_text(encoding="utf-8")), ()):
            missing = [c for c in CLOUDS if c not in named]
            unknown = [c for c in named if c not in CLOUDS] if path[-2:] == ("cloud", "enum") else []
            if unknown:  # a tenant could name it, and no module would build it
                out.append(Problem(rel, 1, 1, ".".join(path), f"lists {', '.join(unknown)}, which is not a registered cloud",
                                   "register its module in render/clouds/__init__.py CLOUDS, or remove it here"))
            if missing:
                out.append(Problem(rel, 1, 1, ".".join(path), f"lists clouds {', '.join(c for c in named if c in CLOUDS)} "
                                   f"but not {', '.join(missing)}",
                                   f"every registered cloud (render/clouds/__init__.py CLOUDS: {', '.join(names())}) "
                                   "has its entry here"))
    return out
