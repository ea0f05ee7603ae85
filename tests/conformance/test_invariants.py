"""The isolation invariants of DESIGN.md, over the example tenants and generated ones."""

from __future__ import annotations

import re

import yaml

from bench.fleet import generate_fleet
from render import layout, tenant_secrets
from render.load import load_repo
from render.pipeline import render_repo
from tests.hyp import HealthCheck, at_most, given, settings, st
from tests.support import RELEASE_YAML, ROOT, memory_repo, tenant_yaml

PLATFORM = yaml.safe_load((ROOT / "registry/platform.yaml").read_text())
PROTECTED = PLATFORM["protected_env"]
SHARED_SECRETS = PLATFORM["shared_platform"]["secret_prefix"]
EXTRACTOR_IDS = {i: e["name"] for i, e in yaml.safe_load((ROOT / "registry/extractors.yaml").read_text())["extractors"].items()}
EXTRACTOR_NAMES = sorted(set(EXTRACTOR_IDS.values()))


def _objects(outputs: dict) -> dict[str, list[dict]]:
    """{tenant: [objects]} from rendered/<tenant> scopes."""
    return {scope.split("/", 1)[1]: [yaml.safe_load(b) for b in files.values()]
            for scope, files in outputs.items() if scope.startswith("rendered/")}


def check_invariants(per_tenant: dict[str, list[dict]]) -> None:
    claimed: dict[str, str] = {}
    for name, objects in per_tenant.items():
        ns = layout.namespace(name)
        kinds = [o["kind"] for o in objects]
        assert kinds.count("Namespace") == 1
        for obj in objects:
            meta = obj["metadata"]
            if obj["kind"] == "Namespace":
                assert meta["name"] == ns and "namespace" not in meta
            else:
                assert meta["namespace"] == ns, f"{name}: {obj['kind']}/{meta['name']} outside {ns}"
            assert meta["labels"][layout.LABEL_TENANT] == name
            assert all(k in meta["labels"] for k in (layout.LABEL_NAME, layout.LABEL_COMPONENT, layout.LABEL_PART_OF,
                                                     layout.LABEL_MANAGED_BY, layout.LABEL_INSTANCE))
            text = yaml.safe_dump(obj)
            for image in re.findall(r"tenant-([a-z0-9-]+)-[0-9a-f]{7,40}\b", text):
                assert image == name, f"fork image of {image} in {name}'s manifests"
        _check_role(objects)
        _check_env(name, objects)
        _check_secrets(name, objects, set(per_tenant))
        for resource in _isolated_names(objects):
            assert claimed.setdefault(resource, name) == name, f"{resource} claimed by {claimed[resource]} and {name}"


def _check_role(objects: list[dict]) -> None:
    roles = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Role" and o["apiVersion"].startswith("rbac.")}
    assert sorted(roles) == ["ray-autoscaler", "tenant-operator"]
    autoscaler = {(g, r, v) for rule in roles["ray-autoscaler"]["rules"] for g in rule["apiGroups"]
                  for r in rule["resources"] for v in rule["verbs"]}
    assert autoscaler == {("", "pods", v) for v in ("get", "list", "watch", "patch")} | {
        ("ray.io", "rayclusters", "get"), ("ray.io", "rayclusters", "patch")}
    bound = next(o for o in objects if o["kind"] == "RoleBinding" and o["metadata"]["name"] == "ray-autoscaler")
    assert [s["name"] for s in bound["subjects"]] == ["ray-head"]
    granted = {(g, r, v) for rule in roles["tenant-operator"]["rules"] for g in rule["apiGroups"]
               for r in rule["resources"] for v in rule["verbs"]}
    assert not any(r.startswith("secrets") for _, r, _ in granted), "operators may not touch Secrets"
    assert not any(g == "rbac.authorization.k8s.io" for g, _, _ in granted)
    assert not any("*" in part for item in granted for part in item)
    assert granted == {
        ("", "pods", "get"), ("", "pods", "list"), ("", "pods", "watch"), ("", "pods", "delete"),
        ("", "pods/log", "get"), ("", "pods/log", "list"), ("", "pods/log", "watch"),
        ("", "events", "get"), ("", "events", "list"), ("", "events", "watch"),
        ("events.k8s.io", "events", "get"), ("events.k8s.io", "events", "list"), ("events.k8s.io", "events", "watch"),
        ("", "pods/portforward", "create"), ("", "services", "get"), ("", "services", "list"),
        ("ray.io", "rayservices", "get"), ("ray.io", "rayservices", "list"), ("ray.io", "rayservices", "watch"),
        ("ray.io", "rayclusters", "get"), ("ray.io", "rayclusters", "list"), ("ray.io", "rayclusters", "watch"),
        ("ray.io", "rayclusters", "patch"), ("ray.io", "rayservices", "patch"),
    }
    binding = next(o for o in objects if o["kind"] == "RoleBinding" and o["metadata"]["name"] == "tenant-operator")
    assert binding["roleRef"]["name"] == "tenant-operator"


def _check_env(name: str, objects: list[dict]) -> None:
    env = next(o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "engine-env")["data"]
    assert env["TENANT_ID"] == name
    assert env["MONGODB_API_DB"] == layout.database_name(name)
    assert env["CELERY_QUEUE_PREFIX"] == f"{name}."
    assert env["REDIS_KEY_PREFIX"] == f"{name}:"
    assert env["RAY_ADDRESS"].endswith(f".{layout.namespace(name)}.svc.cluster.local:10001")


def _remote_keys(obj: dict) -> list[str]:
    """Every remote key an ExternalSecret reads or a PushSecret writes."""
    spec = obj.get("spec", {})
    if obj["kind"] == "ExternalSecret":
        return ([d["remoteRef"]["key"] for d in spec.get("data", [])]
                + [d.get("extract", {}).get("key", "<find>") for d in spec.get("dataFrom", [])])
    if obj["kind"] == "PushSecret":
        return [d["match"]["remoteRef"]["remoteKey"] for d in spec.get("data", [])] + ["<dataTo>"] * len(spec.get("dataTo", []))
    return []


def _check_secrets(name: str, objects: list[dict], fleet: set[str]) -> None:
    """No tenant object names another tenant's secret path or a cluster-wide store: every
    store reference is the tenant's own SecretStore, every remote key is under its own
    prefix (or, for a migration's source, its organization's), and no other tenant's
    prefix appears anywhere in its objects (IAM conditions and ARNs included)."""
    text = "\n".join(yaml.safe_dump(o) for o in objects)
    assert "ClusterSecretStore" not in text, f"{name} references a cluster-wide store"
    org = next(o for o in objects if o["kind"] == "Namespace")["metadata"]["labels"][layout.LABEL_ORGANIZATION]
    own = [tenant_secrets.tenant_prefix(c, name) for c in ("gcp", "aws")]
    source = [tenant_secrets.organization_prefix(c, SHARED_SECRETS, org) for c in ("gcp", "aws")]
    for obj in objects:
        spec = obj.get("spec", {})
        refs = [spec["secretStoreRef"]] if "secretStoreRef" in spec else spec.get("secretStoreRefs", [])
        if obj["kind"] in ("ExternalSecret", "PushSecret"):
            assert refs and all(r == {"kind": "SecretStore", "name": tenant_secrets.STORE} for r in refs), obj["metadata"]
        allowed = own + (source if obj["kind"] == "ExternalSecret" else [])
        for key in _remote_keys(obj):
            assert any(key.startswith(p) for p in allowed), f"{name}: {obj['kind']}/{obj['metadata']['name']} names {key}"
    for other in fleet - {name}:
        for prefix in (tenant_secrets.tenant_prefix(c, other) for c in ("gcp", "aws")):
            assert prefix not in text, f"{name}'s objects name {other}'s secret path {prefix}"


def _isolated_names(objects: list[dict]) -> list[str]:
    """Fleet-unique resources of a tenant: database, bucket, queues, Redis and vector prefixes."""
    env = next(o for o in objects if o["metadata"]["name"] == "engine-env")["data"]
    celery = yaml.safe_load(next(o for o in objects if o["metadata"]["name"] == "celery-config")["data"]["celery.json"])
    bucket = env.get("GCS_BUCKET") or env["S3_BUCKET"]
    assert all(q.startswith(env["CELERY_QUEUE_PREFIX"]) for q in celery["task_queues"])
    assert all(r["queue"] in celery["task_queues"] for r in celery["task_routes"].values())
    assert celery["broker_transport_options"]["global_keyprefix"] == env["REDIS_KEY_PREFIX"]
    return [f"db:{env['MONGODB_API_DB']}", f"bucket:{bucket}", f"redis:{env['REDIS_KEY_PREFIX']}",
            f"vector:{env['VECTOR_COLLECTION_PREFIX']}"] + [f"queue:{q}" for q in celery["task_queues"]]


def test_example_tenants_are_isolated() -> None:
    check_invariants(_objects(render_repo(load_repo(ROOT))))


def test_a_generated_bench_fleet_is_isolated(tmp_path) -> None:
    """bench/fleet.py's tenants: both clouds, both database modes, several projects and
    accounts. Their overrides are emptied: the generator's random tuning is not stable
    across processes (it iterates a set) and isolation of secrets does not depend on it."""
    for name in generate_fleet(tmp_path, 12, seed=18):
        (tmp_path / "tenants" / name / "overrides.yaml").write_text("{}\n", encoding="utf-8")
    check_invariants(_objects(render_repo(load_repo(tmp_path))))


def test_the_secrets_invariant_catches_a_cluster_store_and_a_neighbours_path() -> None:
    """The check can fail: a ClusterSecretStore reference, or another tenant's key."""
    import copy

    import pytest

    per_tenant = _objects(render_repo(load_repo(ROOT)))
    for mutate in ({"secretStoreRef": {"kind": "ClusterSecretStore", "name": "platform-secrets"}},
                   {"data": [{"secretKey": "p", "remoteRef": {"key": "dataplane_tenants_globex_redis", "property": "password"}}]}):
        bad = copy.deepcopy(per_tenant)
        es = next(o for o in bad["acme"] if o["kind"] == "ExternalSecret")
        es["spec"].update(mutate)
        with pytest.raises(AssertionError):
            check_invariants(bad)


names = st.from_regex(r"[a-z][a-z0-9]{0,6}(-[a-z0-9]{1,5})?", fullmatch=True)
tenant_strategy = st.fixed_dictionaries({
    "cloud": st.sampled_from(["gcp", "aws"]),
    "mode": st.sampled_from(["dedicated_instance", "shared_instance"]),
    "disabled": st.lists(st.sampled_from(EXTRACTOR_NAMES), unique=True, max_size=5),
    "env": st.dictionaries(st.from_regex(r"[A-Z][A-Z0-9_]{0,10}", fullmatch=True), st.text(st.characters(exclude_categories=("Cc", "Cs"), exclude_characters="\ufffe\uffff"), max_size=10),
                           max_size=3),
    "fork": st.booleans(),
})


@settings(max_examples=at_most(20), suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(names, tenant_strategy, min_size=2, max_size=4))
def test_generated_fleets_are_isolated(fleet: dict[str, dict]) -> None:
    tenants = {}
    for name, t in fleet.items():
        env = {k: v for k, v in t["env"].items() if k not in PROTECTED}
        overrides = yaml.safe_dump({"disabled": t["disabled"], "env": env})
        release = RELEASE_YAML.replace(":2026.11.3\n", f":tenant-{name}-0123abcd\n") if t["fork"] else RELEASE_YAML
        tenants[name] = (tenant_yaml(name, cloud=t["cloud"], mode=t["mode"]), overrides, release)
    check_invariants(_objects(render_repo(memory_repo(tenants))))


@settings(max_examples=at_most(15), suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["acme", "globex", "initech"]),
       st.lists(st.sampled_from(EXTRACTOR_NAMES), unique=True, min_size=1, max_size=4))
def test_changing_one_tenant_changes_only_its_files(tenant: str, disabled: list[str]) -> None:
    base = {n: tuple((ROOT / layout.tenant_file(n, f)).read_text() for f in layout.TENANT_FILES)
            for n in ("acme", "globex", "initech")}
    before = render_repo(memory_repo(base))
    changed = dict(base)
    # The change keeps the tenant's other overrides (its worker groups stay within its
    # contract) and drops the settings of the extractors it disables.
    overrides = yaml.safe_load(base[tenant][1]) or {}
    overrides.update(auto_deploy=False, disabled=disabled,
                     overrides={k: v for k, v in (overrides.get("overrides") or {}).items()
                                if k not in disabled and EXTRACTOR_IDS.get(k) not in disabled})
    changed[tenant] = (base[tenant][0], yaml.safe_dump(overrides), base[tenant][2])
    after = render_repo(memory_repo(changed))
    differing = {scope for scope in set(before) | set(after) if before.get(scope) != after.get(scope)}
    assert differing <= {s for s in set(before) | set(after) if s.rstrip("/").endswith("/" + tenant)}
