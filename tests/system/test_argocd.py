"""ArgoCD objects: isolation of every tenant, no pattern anywhere, pure per-tenant output."""

from __future__ import annotations

import fnmatch
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from render import layout, storage_classes
from render.argocd import operator_apps, platform_apps, tenant_apps
from render.commands.render import render
from render.load import load_repo
from render.monitoring import grafana
from render.pipeline import render_repo
from render.problems import ProblemsError
from tests.support import ROOT, copy_repo

PATTERN = set("*?[]{}!")


@pytest.fixture(scope="module")
def outputs() -> dict[str, Any]:
    """Every rendered object of the example repository, parsed: {path: object}."""
    out = render_repo(load_repo(ROOT))
    return {path: yaml.safe_load(data) for files in out.values() for path, data in files.items()}


def of_kind(objs: dict[str, Any], kind: str, under: str = layout.ARGOCD_DIR) -> dict[str, Any]:
    return {p: o for p, o in objs.items() if o["kind"] == kind and layout.is_inside(p, under)}


def tenants() -> list[str]:
    return sorted(p.name for p in (ROOT / layout.TENANTS_DIR).iterdir() if p.is_dir())


def selects(directory: dict[str, Any], file: str) -> bool:
    """ArgoCD's directory include/exclude on one file name: '{a,b}' is a set of globs."""
    def match(pattern: str) -> bool:
        alternatives = pattern[1:-1].split(",") if pattern.startswith("{") else [pattern]
        return any(fnmatch.fnmatchcase(file, alt) for alt in alternatives)
    if "include" in directory and not match(directory["include"]):
        return False
    return not ("exclude" in directory and match(directory["exclude"]))


def permitted(project: dict[str, Any], obj: dict[str, Any]) -> bool:
    """Does the project let an Application create this object (ArgoCD's rules)?"""
    spec = project["spec"]
    gk = tenant_apps.group_kind(obj)
    entry = {"group": gk[0], "kind": gk[1]}
    if "namespace" not in obj["metadata"]:  # cluster-scoped: only what the whitelist names
        return any(e["group"] == gk[0] and e["kind"] == gk[1] and e.get("name", obj["metadata"]["name"]) == obj["metadata"]["name"]
                   for e in spec.get("clusterResourceWhitelist", []))
    white = spec.get("namespaceResourceWhitelist")
    if white is not None and entry not in white:
        return False
    return entry not in spec.get("namespaceResourceBlacklist", [])


def project_of(objs: dict[str, Any], name: str) -> dict[str, Any]:
    found = [o for o in of_kind(objs, "AppProject").values() if o["metadata"]["name"] == name]
    assert len(found) == 1, f"project {name} must exist exactly once"
    return found[0]


@pytest.mark.parametrize("tenant", tenants())
def test_every_rendered_object_of_a_tenant_is_synced_by_exactly_one_permitted_app(outputs: dict[str, Any], tenant: str) -> None:
    apps = of_kind(outputs, "Application", layout.argocd_tenant_dir(tenant))
    assert {a["metadata"]["name"] for a in apps.values()} == {f"tenant-{tenant}", f"tenant-{tenant}-guardrails"}
    rendered = {p: o for p, o in outputs.items() if layout.is_inside(p, layout.rendered_dir(tenant))}
    for path, obj in rendered.items():
        owners = [a for a in apps.values() if a["spec"]["source"]["path"] == layout.rendered_dir(tenant)
                  and selects(a["spec"]["source"]["directory"], path.rsplit("/", 1)[-1])]
        assert len(owners) == 1, f"{path} is synced by {len(owners)} Applications"
        project = project_of(outputs, owners[0]["spec"]["project"])
        assert permitted(project, obj), f"{path}: {obj['kind']} not permitted by project {project['metadata']['name']}"


@pytest.mark.parametrize("tenant", tenants())
def test_no_application_of_a_tenant_can_deploy_outside_its_namespace(outputs: dict[str, Any], tenant: str) -> None:
    ns = layout.namespace(tenant)
    cluster = yaml.safe_load((ROOT / layout.tenant_file(tenant, layout.TENANT_FILE)).read_text())["cluster"]
    for app in of_kind(outputs, "Application", layout.argocd_tenant_dir(tenant)).values():
        assert app["spec"]["destination"] == {"name": cluster, "namespace": ns}
        assert app["spec"]["source"]["path"] == layout.rendered_dir(tenant)
        assert app["spec"]["source"]["directory"]["recurse"] is False
        project = project_of(outputs, app["spec"]["project"])
        # The project, not the Application, is the fence: it admits this one namespace only.
        assert project["spec"]["destinations"] == [{"name": cluster, "namespace": ns}]
        assert project["metadata"]["labels"][layout.LABEL_TENANT] == tenant
    # ... and what those Applications would apply is inside that namespace, too.
    for path, obj in outputs.items():
        if layout.is_inside(path, layout.rendered_dir(tenant)):
            assert obj["metadata"].get("namespace", obj["metadata"]["name"]) == ns, path


def test_tenant_projects_are_disjoint(outputs: dict[str, Any]) -> None:
    seen: dict[tuple[str, str], str] = {}
    for project in of_kind(outputs, "AppProject", layout.ARGOCD_TENANTS_DIR).values():
        tenant = project["metadata"]["labels"][layout.LABEL_TENANT]
        for d in project["spec"]["destinations"]:
            key = (d["name"], d["namespace"])
            assert seen.setdefault(key, tenant) == tenant, f"{key} reachable by {seen[key]} and {tenant}"


def strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return [value] if isinstance(value, str) else []


def test_no_project_allows_a_pattern_anywhere(outputs: dict[str, Any]) -> None:
    projects = of_kind(outputs, "AppProject")
    # the platform's, the admission policies', the storage classes' and the KubeRay operator's
    assert len(projects) == 2 * len(tenants()) + 4
    for path, project in projects.items():
        spec = project["spec"]
        for key in ("sourceRepos", "destinations", "clusterResourceWhitelist", "namespaceResourceWhitelist",
                    "namespaceResourceBlacklist", "roles", "sourceNamespaces"):
            for text in strings(spec.get(key, [])):
                assert not PATTERN & set(text), f"{path}: {key} holds pattern {text!r}"
        own = operator_apps.CHART_REPOSITORY if project["metadata"]["name"] == operator_apps.PROJECT else \
            platform_apps.settings(load_repo(ROOT).current.platform).repo_url
        assert spec["sourceRepos"] == [own]
        for d in spec["destinations"]:
            assert d.get("name") and d.get("namespace") and "server" not in d, f"{path}: {d}"
        assert "clusterResourceBlacklist" not in spec, "deny-by-default needs no blacklist"


def test_cluster_scoped_kinds_only_in_guardrails_and_only_the_own_namespace(outputs: dict[str, Any]) -> None:
    for project in of_kind(outputs, "AppProject").values():
        name = project["metadata"]["name"]
        white = project["spec"].get("clusterResourceWhitelist", [])
        if name.endswith("-guardrails"):
            tenant = project["metadata"]["labels"][layout.LABEL_TENANT]
            assert white == [{"group": "", "kind": "Namespace", "name": layout.namespace(tenant)}]
        elif name == platform_apps.ADMISSION_APP:
            assert white == [{"group": "admissionregistration.k8s.io", "kind": k} for k in platform_apps.ADMISSION_KINDS]
        elif name == storage_classes.PROJECT:
            assert white == [{"group": "storage.k8s.io", "kind": "StorageClass"}]
        elif name == operator_apps.PROJECT:  # KubeRay's chart: its CRDs and ClusterRoles, the namespace it creates
            assert white == [{"group": g, "kind": k} for g, k in operator_apps.CLUSTER_KINDS]
        else:
            assert white == [], f"{name} may create cluster-scoped objects"


@pytest.mark.parametrize("tenant", tenants())
def test_tenant_project_blacklists_guardrails_and_its_role_reaches_one_application(outputs: dict[str, Any], tenant: str) -> None:
    ns = layout.namespace(tenant)
    project = project_of(outputs, ns)
    black = project["spec"]["namespaceResourceBlacklist"]
    for group, kind in tenant_apps.GUARDRAIL_KINDS:
        if kind != "Namespace":
            assert {"group": group, "kind": kind} in black
    group = yaml.safe_load((ROOT / layout.tenant_file(tenant, layout.TENANT_FILE)).read_text())["operator_group"]
    [role] = project["spec"]["roles"]
    assert role["groups"] == [group]
    actions = set()
    for policy in role["policies"]:
        p, subject, resource, action, obj, effect = [x.strip() for x in policy.split(",")]
        assert (p, subject, resource, obj, effect) == ("p", f"proj:{ns}:operator", "applications", f"{ns}/{ns}", "allow")
        actions.add(action)
    assert actions == {"get", "sync"}
    assert "roles" not in project_of(outputs, f"{ns}-guardrails")["spec"], "no tenant role on the guardrails"


def test_root_app_installs_everything_under_argocd(outputs: dict[str, Any]) -> None:
    [root] = [o for o in of_kind(outputs, "Application").values() if o["metadata"]["name"] == platform_apps.ROOT_APP]
    assert root["spec"]["source"]["path"] == layout.ARGOCD_DIR
    assert root["spec"]["source"]["directory"] == {"recurse": True, "exclude": "{admission/*,storage/*}"}
    s = platform_apps.settings(load_repo(ROOT).current.platform)
    project = project_of(outputs, root["spec"]["project"])
    assert root["spec"]["destination"] == {"name": s.cluster, "namespace": s.namespace}
    for path, obj in outputs.items():
        if layout.is_inside(path, layout.ADMISSION_DIR):  # excluded: the admission app's, cluster-scoped
            assert permitted(project_of(outputs, platform_apps.ADMISSION_APP), obj), path
        elif layout.is_inside(path, layout.STORAGE_DIR):  # excluded: the storage apps', cluster-scoped
            assert permitted(project_of(outputs, storage_classes.PROJECT), obj), path
        elif layout.is_inside(path, layout.ARGOCD_DIR):
            assert obj["metadata"]["namespace"] == s.namespace, path
            assert permitted(project, obj), f"the root app may not apply {path}"
    assert {o["metadata"]["namespace"] for o in of_kind(outputs, "Application").values()} == {s.namespace}


def test_control_plane_app_syncs_the_gateway_routing_folder(outputs: dict[str, Any]) -> None:
    [app] = [o for o in of_kind(outputs, "Application").values() if o["metadata"]["name"] == platform_apps.CONTROL_PLANE_APP]
    s = platform_apps.settings(load_repo(ROOT).current.platform)
    assert app["spec"]["project"] == platform_apps.PLATFORM_PROJECT
    assert app["spec"]["source"]["path"] == layout.CONTROL_PLANE_DIR
    assert app["spec"]["source"]["directory"] == {"recurse": True}
    assert app["spec"]["destination"] == {"name": s.cluster, "namespace": "control-plane"}


@pytest.mark.parametrize("tenant", tenants())
def test_workload_app_syncs_automatically_and_shows_tenant_metadata(outputs: dict[str, Any], tenant: str) -> None:
    ns = layout.namespace(tenant)
    release = yaml.safe_load((ROOT / layout.tenant_file(tenant, layout.RELEASE_FILE)).read_text())
    [app] = [o for o in of_kind(outputs, "Application").values() if o["metadata"]["name"] == ns]
    policy = app["spec"]["syncPolicy"]
    assert policy["automated"] == {"prune": True, "selfHeal": True}
    assert policy["retry"]["limit"] > 0 and policy["retry"]["backoff"]["factor"] > 1
    meta = app["metadata"]
    assert meta["labels"][layout.LABEL_TENANT] == tenant
    assert meta["labels"][tenant_apps.LABEL_AUTO_DEPLOY] in ("true", "false")
    assert meta["annotations"][tenant_apps.ANNOTATION_IMAGE] == release["image"]
    assert meta["annotations"][tenant_apps.LABEL_PLATFORM_VERSION] == release["platform_version"]
    links = {k: v for k, v in meta["annotations"].items() if k.startswith(tenant_apps.LINK_PREFIX)}
    assert len([k for k in links if "grafana" in k]) == len(tenant_apps.DASHBOARDS)
    assert {v.rsplit("/", 1)[1] for k, v in links.items() if "grafana" in k} == \
        {grafana.uid(tenant, slug) for slug, _ in tenant_apps.DASHBOARDS}
    assert f"-n {ns} port-forward svc/{tenant_apps.RAY_HEAD_SERVICE}" in meta["annotations"][tenant_apps.ANNOTATION_RAY_DASHBOARD]


def test_ray_head_service_name_matches_the_engine_ray_address(outputs: dict[str, Any]) -> None:
    [env] = [o for p, o in outputs.items() if p == f"{layout.rendered_dir('acme')}/configmap-engine-env.yaml"]
    assert f"//{tenant_apps.RAY_HEAD_SERVICE}." in env["data"]["RAY_ADDRESS"]


def test_rendering_one_tenant_gives_the_same_argocd_bytes() -> None:
    full = render_repo(load_repo(ROOT))
    for tenant in tenants():
        alone = render_repo(load_repo(ROOT, [tenant]))
        scope = layout.argocd_tenant_dir(tenant)
        assert alone[scope] == full[scope]
        assert alone[layout.ARGOCD_PLATFORM_DIR] == full[layout.ARGOCD_PLATFORM_DIR]
        assert not [s for s in alone if layout.is_inside(s, layout.ARGOCD_TENANTS_DIR) and s != scope]


def test_committed_argocd_folder_is_current() -> None:
    out = render_repo(load_repo(ROOT))
    want = {p: d for scope, files in out.items() if layout.is_inside(scope, layout.ARGOCD_DIR) for p, d in files.items()}
    have = {p.relative_to(ROOT).as_posix(): p.read_bytes() for p in (ROOT / layout.ARGOCD_DIR).rglob("*.yaml")}
    assert sorted(have) == sorted(want)
    stale = [p for p in want if have[p] != want[p]]
    assert not stale, f"run `dataplane render`: stale {stale}"


def test_deleting_a_tenant_removes_its_argocd_objects(tmp_path: Path) -> None:
    root = copy_repo(tmp_path, outputs=False)
    assert render(root=root, tenants=[]) == 0
    assert (root / layout.argocd_tenant_dir("globex")).is_dir()
    shutil.rmtree(root / layout.tenant_dir("globex"))
    assert render(root=root, tenants=[]) == 0
    assert not (root / layout.argocd_tenant_dir("globex")).exists()
    assert not (root / layout.rendered_dir("globex")).exists()
    assert (root / layout.argocd_tenant_dir("acme")).is_dir()
    assert render(root=root, tenants=[], check=True) == 0
    for path in (root / layout.ARGOCD_DIR).rglob("*.yaml"):
        assert "globex" not in path.read_text(), f"{path} still mentions the deleted tenant"


@pytest.mark.parametrize(("field", "value"), [("cluster", "dp-gke-*"), ("cluster", "a,b"), ("operator_group", "*")])
def test_a_pattern_in_tenant_yaml_is_a_problem_not_a_wildcard(tmp_path: Path, field: str, value: str) -> None:
    root = copy_repo(tmp_path, outputs=False)
    path = root / layout.tenant_file("acme", layout.TENANT_FILE)
    text = path.read_text()
    lines = text.splitlines()
    line = next(i for i, text_line in enumerate(lines, 1) if text_line.startswith(f"{field}:"))
    path.write_text(text.replace(f"\n{lines[line - 1]}\n", f"\n{field}: {value!r}\n"))
    with pytest.raises(ProblemsError) as err:
        render_repo(load_repo(root))
    [problem] = err.value.problems
    assert (problem.file, problem.line, problem.pointer) == (layout.tenant_file("acme", layout.TENANT_FILE), line, field)
    assert "pattern" in problem.message and problem.hint


def test_missing_repo_url_is_a_problem(tmp_path: Path) -> None:
    root = copy_repo(tmp_path, outputs=False)
    path = root / layout.PLATFORM_FILE
    path.write_text("\n".join(ln for ln in path.read_text().splitlines() if "repo_url:" not in ln) + "\n")
    with pytest.raises(ProblemsError) as err:
        render_repo(load_repo(root))
    [problem] = err.value.problems
    assert (problem.file, problem.pointer) == (layout.PLATFORM_FILE, "control_plane")
    assert "missing required key 'repo_url'" in problem.message


def test_docs_describe_the_rendered_settings() -> None:
    from render.argocd import health
    docs = (ROOT / "docs/argocd.md").read_text()
    for option in tenant_apps.SYNC_OPTIONS + [tenant_apps.COMPARE_OPTIONS] + health.CM_SYNC_OPTIONS.split(","):
        assert f"`{option}" in docs or option in docs, f"docs/argocd.md does not mention {option}"
    for group, kind in health.HEALTH_SCRIPTS:
        assert f"{group}/{kind}" in docs
    for name in (platform_apps.PLATFORM_PROJECT, platform_apps.ROOT_APP, platform_apps.CONTROL_PLANE_APP):
        assert f"`{name}`" in docs
    assert f"{tenant_apps.RETRY['limit']} times" in docs
    assert f"{tenant_apps.RETRY['backoff']['duration'].rstrip('s')} s doubling to {tenant_apps.RETRY['backoff']['maxDuration'].rstrip('m')} min" in docs
    for _, title in tenant_apps.DASHBOARDS:
        assert title.lower() in docs.lower()


@pytest.mark.parametrize("field", ["cluster", "operator_group"])
def test_any_tenant_value_is_rejected_or_lands_verbatim_without_a_pattern(field: str) -> None:
    from render.load import Document
    from tests.hyp import given, st
    repo = load_repo(ROOT, ["acme"])
    s = platform_apps.settings(repo.current.platform)
    base = render_repo(repo)
    objects = {p: yaml.safe_load(d) for p, d in base[layout.rendered_dir("acme")].items()}
    values = yaml.safe_load((ROOT / layout.tenant_file("acme", layout.TENANT_FILE)).read_text())

    @given(st.text(min_size=1, max_size=30))
    def check(value: str) -> None:
        doc = Document(layout.tenant_file("acme", layout.TENANT_FILE), {**values, field: value}, {})
        problems = platform_apps.plain_name_problems(doc, (field,))
        if problems:
            assert set(value) & platform_apps.PATTERN_CHARS
            return
        v = {"tenant": {**values, field: value}, "release": {"platform_version": "1", "image": "x:1"}, "auto_deploy": True}
        kinds = sorted(tenant_apps.allowed_kinds(repo.current.platform))
        projects = [o for o in tenant_apps.projects_and_apps(v, objects, s, kinds) if o["kind"] == "AppProject"]
        texts = strings([[p["spec"]["destinations"], p["spec"].get("roles", [])] for p in projects])
        assert not any(PATTERN & set(t) for t in texts), texts
        assert value in texts, "the value is used as given, never rewritten"

    check()
