"""The secret chain's sync waves, in the committed output: each object comes in a later
wave than everything it needs healthy (ArgoCD waits for a wave's health, never for an
object of the same wave), so a new tenant's first sync converges without a retry.
tests/cluster/test_cluster.py proves it on a real control plane."""

from __future__ import annotations

import yaml

from render import layout
from tests.support import ROOT

LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# kind -> kinds it needs healthy first (in the same Application)
NEEDS = {
    "SecretStore": {"ServiceAccount", "IAMServiceAccount", "IAMPolicyMember", "Role"},
    "PushSecret": {"SecretStore", "Password"},
    "ExternalSecret": {"SecretStore", "PushSecret"},
}


def is_secrets_identity(name: str) -> bool:
    """The store's ServiceAccount and cloud identity (render/tenant_secrets.py names)."""
    return name == "tenant-secrets" or name.startswith(("dps-", "secrets-")) or name.endswith("-secrets")


def waves(tenant: str) -> dict[str, list[tuple[str, int]]]:
    out: dict[str, list[tuple[str, int]]] = {}
    for f in sorted((ROOT / "rendered" / tenant).glob("*.yaml")):
        for d in yaml.load_all(f.read_text(), Loader=LOADER):
            if isinstance(d, dict):
                wave = int(d["metadata"]["annotations"][layout.ANNOTATION_SYNC_WAVE])
                out.setdefault(d["kind"], []).append((d["metadata"]["name"], wave))
    return out


def test_every_secret_object_comes_after_what_it_needs() -> None:
    for tenant in sorted(p.name for p in (ROOT / "rendered").iterdir()):
        w = waves(tenant)
        for kind, needs in NEEDS.items():
            for name, wave in w.get(kind, []):
                for need in needs:
                    for other, other_wave in w.get(need, []):
                        if kind == "SecretStore" and not is_secrets_identity(other):
                            continue  # the engine's identity and RBAC are not the store's
                        assert other_wave < wave, f"{tenant}: {kind} {name} (wave {wave}) needs {need} {other} (wave {other_wave})"
