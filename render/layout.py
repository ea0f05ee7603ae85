"""Every repository path, file name, label key and derived name, defined once."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

# Input folders and files (repository-relative).
BASE_DIR = "base"
REGISTRY_DIR = "registry"
TENANTS_DIR = "tenants"
EXTRACTORS_FILE = "registry/extractors.yaml"
PLATFORM_FILE = "registry/platform.yaml"
OWNERSHIP_FILE = "registry/ownership.yaml"
# Every platform release (version, image digest, Ray and KubeRay versions): written by
# `dataplane platform-update` only (render/workflows/image_records.py).
RELEASES_FILE = "registry/releases.yaml"
# The Ray versions each KubeRay version supports (platform-owned; render/versions.py).
KUBERAY_FILE = "registry/kuberay.yaml"
TOMBSTONES_FILE = "registry/tombstones.yaml"
CODEOWNERS_FILE = ".github/CODEOWNERS"
TENANT_FILE = "tenant.yaml"
OVERRIDES_FILE = "overrides.yaml"
RELEASE_FILE = "release.yaml"
TENANT_FILES = (TENANT_FILE, OVERRIDES_FILE, RELEASE_FILE)
TEMPLATE_SUFFIX = ".yaml.j2"
# Each cloud's own templates (base/clouds/<cloud>/), rendered for that cloud's tenants only.
CLOUD_TEMPLATES_DIR = f"{BASE_DIR}/clouds"
PLATFORM_INPUT_DIRS = (BASE_DIR, REGISTRY_DIR)  # what a platform release is made of
INPUT_DIRS = (*PLATFORM_INPUT_DIRS, TENANTS_DIR)  # everything a render reads
# The engine: its package, and the files that choose its dependencies (a render with other
# libraries may write other bytes). `render --base` renders everything when one differs.
ENGINE_DIR = "render"
ENGINE_FILES = (ENGINE_DIR, "pyproject.toml", "constraints.txt", ".github/requirements")

# Output folders: written by the renderer only.
RENDERED_DIR = "rendered"
ARGOCD_DIR = "argocd"
CONTROL_PLANE_DIR = "control-plane"
OUTPUT_DIRS = (RENDERED_DIR, ARGOCD_DIR, CONTROL_PLANE_DIR)

# Platform releases: a tenant may pin only a commit that an annotated tag under
# refs/tags/platform/ names and that the protected branch contains (platform-update
# creates the tags; a pull request cannot).
RELEASE_BRANCH = "main"
RELEASE_TAG_PREFIX = "platform/"


def release_tag(version: str, revision: str) -> str:
    """platform/<version>/<12 hex>: one tag per released commit, even for a reused version label."""
    return f"{RELEASE_TAG_PREFIX}{version}/{revision[:12]}"


# Published JSON Schemas (the package ships them; editors read them from the repo).
SCHEMA_DIR = "render/schemas"

# Labels and annotations.
LABEL_TENANT = "dataplane.io/tenant"
LABEL_COMPONENT = "app.kubernetes.io/component"
LABEL_NAME = "app.kubernetes.io/name"
LABEL_INSTANCE = "app.kubernetes.io/instance"
LABEL_PART_OF = "app.kubernetes.io/part-of"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_WORKER_GROUP = "dataplane.io/worker-group"
PART_OF = "dataplane"
MANAGED_BY = "dataplane"
ANNOTATION_SYNC_WAVE = "argocd.argoproj.io/sync-wave"
ANNOTATION_ENGINE = "dataplane.io/engine-version"
# A partial object: applied server-side onto one that exists (ArgoCD's own controller and
# repo-server, render/argocd/install.py); validate --deep checks it with no field required.
ANNOTATION_PARTIAL, PARTIAL_SERVER_SIDE = "dataplane.io/partial", "server-side-apply"


# ACK's adoption annotation on every retained AWS resource (services.k8s.aws/adoption-policy,
# aws-controllers-k8s/runtime apis/core/v1alpha1/annotations.go; values "adopt" and
# "adopt-or-create", pkg/runtime/util.go). adopt-or-create: read the AWS resource the spec
# names; adopt it when it exists (a retained bucket or role after a lost cluster), create it
# when it does not (a new tenant). Needs the ResourceAdoption feature gate, Beta and on by
# default (pkg/featuregate/features.go).
ACK_ADOPTION = {"services.k8s.aws/adoption-policy": "adopt-or-create"}


def is_partial(obj: object) -> bool:
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    annotations = meta.get("annotations") if isinstance(meta, dict) else None
    return isinstance(annotations, dict) and annotations.get(ANNOTATION_PARTIAL) == PARTIAL_SERVER_SIDE
# On the Ray pod templates: bumped by each config deploy so KubeRay starts a new RayCluster.
ANNOTATION_CONFIG_DEPLOY = "dataplane.io/config-deploy"

# The RayService of every tenant: KubeRay names its Services after it (<name>-head-svc, <name>-serve-svc).
RAY_SERVICE = "engine"

# Ray worker group names (the spec's kubectl selectors use ray.io/group=<name>).
WORKER_GROUPS = ("cpu-workers", "batch-workers", "gpu-workers")

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?\Z")  # \Z: "$" would accept a trailing newline
# Leaves room for the "tenant-" prefix and derived suffixes within 63 characters.
TENANT_NAME_MAX = 40


def tenant_dir(name: str) -> str:
    return f"{TENANTS_DIR}/{name}"


def tenant_file(name: str, file: str) -> str:
    return f"{TENANTS_DIR}/{name}/{file}"


def rendered_dir(name: str) -> str:
    return f"{RENDERED_DIR}/{name}"


def namespace(name: str) -> str:
    return f"tenant-{name}"


def database_name(name: str) -> str:
    # MongoDB database names may not contain '-' in every driver; use '_'.
    return "dp_" + name.replace("-", "_")


# Prefixes are matched as prefixes (queue routing, key scans, collection listings), so
# each ends with a terminator no tenant name can contain ('.', ':', '_' are not in
# DNS-1123 labels): no tenant's prefix is then a prefix of another's ("acme" vs "acme-prod").
def queue_prefix(name: str) -> str:
    return f"{name}."


def redis_key_prefix(name: str) -> str:
    return f"{name}:"


def vector_prefix(name: str) -> str:
    return f"{name}__"  # '-' kept: mapping it to '_' would make acme--prod's prefix start with acme__


def bucket_name(bucket_prefix: str, name: str) -> str:
    return f"{bucket_prefix}-{name}"


def fork_tag_prefix(name: str) -> str:
    """Images built from a tenant's fork are tagged tenant-<name>-<sha>."""
    return f"tenant-{name}-"


def claim_name(template: str, statefulset: str, ordinal: int) -> str:
    """The PersistentVolumeClaim the StatefulSet controller creates for one pod."""
    return f"{template}-{statefulset}-{ordinal}"


def object_file(kind: str, name: str) -> str:
    """File name of one rendered object: <kind>-<name>.yaml, lower case."""
    return f"{kind.lower()}-{name}.yaml"


def is_inside(path: str, folder: str) -> bool:
    """True when the repo-relative `path` lies under `folder` (no '..' escapes)."""
    parts = PurePosixPath(path).parts
    return ".." not in parts and parts[: len(PurePosixPath(folder).parts)] == PurePosixPath(folder).parts


# ArgoCD output: one folder per tenant, and one for the platform's own objects.
ARGOCD_TENANTS_DIR = "argocd/tenants"
ARGOCD_PLATFORM_DIR = "argocd/platform"
# Cluster-scoped admission policies and bindings (render/admission/policies.py): their own ArgoCD
# project and Application, kept out of the root app (which may create no cluster-scoped kind).
ADMISSION_DIR = "argocd/admission"
# The StorageClasses of the tenants' volumes (render/storage_classes.py): cluster-scoped, synced
# to every data-plane cluster by an Application of their own, kept out of the root app too.
STORAGE_DIR = "argocd/storage"


def argocd_tenant_dir(name: str) -> str:
    return f"{ARGOCD_TENANTS_DIR}/{name}"


# Control-plane output: one routing ConfigMap per tenant, each in its own folder.
ROUTING_DIR = "control-plane/routing"
LABEL_ROUTING = "dataplane.io/routing"
LABEL_ORGANIZATION = "dataplane.io/organization"
PRICES_FILE = "registry/prices.yaml"


def routing_dir(name: str) -> str:
    return f"{ROUTING_DIR}/{name}"


# Control-plane output: each tenant's monitoring in the management cluster (its dashboards,
# Grafana datasources, label proxy and gateway alerts), and Grafana's datasource per
# data-plane cluster (render/monitoring/control_plane.py).
MONITORING_DIR = "control-plane/monitoring"
GRAFANA_DIR = "control-plane/grafana"


def monitoring_dir(name: str) -> str:
    return f"{MONITORING_DIR}/{name}"


def routing_configmap(name: str) -> str:
    return f"routing-{name}"


# The shared (multi-tenant) platform keeps each organization in a database of its own on
# its MongoDB, named after the organization id; its other resources are keyed the same way.
def shared_org_database(organization_id: str) -> str:
    return organization_id


def shared_queue_prefix(organization_id: str) -> str:
    return f"{organization_id}."


def shared_key_prefix(organization_id: str) -> str:
    return f"{organization_id}:"


def shared_vector_prefix(organization_id: str) -> str:
    return f"{organization_id}__"


# Migration Jobs: one pair per attempt (a Job's spec is immutable; a new attempt is a new Job).
def migration_copy_job(attempt: int) -> str:
    return f"migrate-copy-{attempt}"


def migration_verify_job(attempt: int) -> str:
    return f"migrate-verify-{attempt}"


# The parents of every tenant's output folders, in the order of tenant_scopes.
TENANT_SCOPE_PARENTS = (RENDERED_DIR, ARGOCD_TENANTS_DIR, ROUTING_DIR, MONITORING_DIR)
# Output folders of the platform's own objects (pipeline.FLEET_BUILDERS write only these).
PLATFORM_SCOPES = (ARGOCD_PLATFORM_DIR, ADMISSION_DIR, STORAGE_DIR, GRAFANA_DIR)


def tenant_scopes(name: str) -> tuple[str, ...]:
    """Every output folder of one tenant; they are rendered, cached and pruned together."""
    return tuple(f"{parent}/{name}" for parent in TENANT_SCOPE_PARENTS)


def fleet_scopes(tenants: list[str]) -> list[str]:
    """Every output folder a full render of `tenants` owns: the generated trees hold these and nothing else."""
    return sorted([*PLATFORM_SCOPES, *(scope for name in tenants for scope in tenant_scopes(name))])


def is_scope(path: str) -> bool:
    """True for a path the engine could have written as a scope (a platform folder, or a
    tenant folder with a valid name): the only destinations a leftover may name."""
    parent, _, name = path.rpartition("/")
    return path in PLATFORM_SCOPES or (parent in TENANT_SCOPE_PARENTS and bool(DNS1123_LABEL.match(name)))


# Progressive rollouts: the plan is platform-owned (registry/); the state of the rollout in
# progress is automation-owned and lives outside base/ and registry/, so that recording a
# wave neither changes the platform revision's trees nor triggers a platform update.
ROLLOUT_PLAN_FILE = "registry/rollout.yaml"
ROLLOUT_DIR = "rollout"
ROLLOUT_STATE_FILE = "rollout/state.yaml"


def template_cloud(template: str) -> str | None:
    """The cloud whose tenants alone render `template` (base/clouds/<cloud>/...), or None
    for a template every tenant renders."""
    inside = PurePosixPath(template).relative_to(BASE_DIR).parts if template.startswith(BASE_DIR + "/") else ()
    return inside[1] if len(inside) == 3 and inside[0] == PurePosixPath(CLOUD_TEMPLATES_DIR).name else None
