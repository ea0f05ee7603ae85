"""Pod Security `restricted` for every pod template we render, and one identity per component.

Templates print these values (`security.pod.<image>`, `security.container`, ...) so every
uid, every securityContext and every ServiceAccount name is written once, here. Pure.

Each pod runs as the non-root user its image was built with (its Dockerfile's USER), so
files the image owns stay readable; the source of each uid is next to it.
"""

from __future__ import annotations

from typing import Any

from render.context_types import Security

# (uid, gid) of the image's own non-root user, by platform.yaml `images` key ("engine": the
# tenant's engine image, built FROM rayproject/ray).
IMAGE_USERS: dict[str, tuple[int, int]] = {
    # rayproject/ray docker/base-deps/Dockerfile: useradd ... ray --uid $RAY_UID(1000) --gid $RAY_GID(100, "users")
    "engine": (1000, 100),
    # docker-library/redis alpine Dockerfile: addgroup -S -g 1000 redis; adduser -S -G redis -u 999 redis
    "redis": (999, 1000),
    # docker-library/mongo Dockerfile: groupadd --gid 999 --system mongodb; useradd --uid 999 --gid mongodb
    "mongodb": (999, 999),
    "mongodb_tools": (999, 999),
    # oliver006/redis_exporter Dockerfile (scratch): USER 59000:59000
    "redis_exporter": (59000, 59000),
    # percona/mongodb_exporter Dockerfile (scratch): USER 65535:65535
    "mongodb_exporter": (65535, 65535),
    # danihodovic/celery-exporter Dockerfile: `adduser --disabled-login exporter` on
    # python:3.11-slim-bookworm, the image's first user: uid/gid 1000
    "celery_exporter": (1000, 1000),
    # prometheus-community/prom-label-proxy Dockerfile (quay.io/prometheus/busybox): USER nobody,
    # busybox's 65534:65534
    "prom_label_proxy": (65534, 65534),
    # google-cloud-cli and amazon/aws-cli set no USER (root): the backup pods run them as the
    # datastore tool's user of the same pod, with HOME/CLOUDSDK_CONFIG on an emptyDir.
    "gcloud_cli": (999, 999),
    "aws_cli": (999, 999),
}

# Pod Security `restricted` at container level; the root filesystem is read-only and each
# component mounts an emptyDir only where it must write (see the templates' volumes).
CONTAINER = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}

# One ServiceAccount per component; only the Ray head (its autoscaler sidecar calls the
# Kubernetes API) mounts a token.
SERVICE_ACCOUNTS = {
    "ray_head": "ray-head",
    "ray_worker": "ray-worker",
    "celery": "celery",
    "exporters": "exporters",
    "migration": "migration",
    "datastores": "datastores",
    "backup": "backup",
    "restore": "restore",
}
# Components that read and write the tenant's data bucket: only they get the engine's cloud
# identity. `backup` and `restore` have identities of their own (render/backup_storage.py).
BUCKET_USERS = ("ray_worker", "celery")
# The namespace's Pod Security admission: the level, and every mode it is applied in.
POD_SECURITY_LEVEL = "restricted"
POD_SECURITY_MODES = ("enforce", "audit", "warn")
POD_SECURITY_LABEL_PREFIX = "pod-security.kubernetes.io/"


def pod(image: str) -> dict[str, Any]:
    """Pod-level securityContext for a pod whose main container runs `image` (a key above)."""
    uid, gid = IMAGE_USERS[image]
    return {"runAsNonRoot": True, "runAsUser": uid, "runAsGroup": gid, "fsGroup": gid,
            "seccompProfile": {"type": "RuntimeDefault"}}


def security_context() -> Security:
    """The template context's `security` value."""
    return {
        "pod": {image: pod(image) for image in IMAGE_USERS},
        "container": CONTAINER,
        "service_accounts": SERVICE_ACCOUNTS,
        # app.kubernetes.io/component of each ServiceAccount: the component, as a label value.
        "component_labels": {c: c.replace("_", "-") for c in SERVICE_ACCOUNTS},
        "bucket_users": [SERVICE_ACCOUNTS[c] for c in BUCKET_USERS],
    }


def pod_security_labels(kubernetes_version: str) -> dict[str, str]:
    """The namespace labels: `restricted` in every mode, pinned to the platform's Kubernetes
    minor so an API server upgrade never changes what is admitted without a platform release."""
    out = {}
    for mode in POD_SECURITY_MODES:
        out[f"{POD_SECURITY_LABEL_PREFIX}{mode}"] = POD_SECURITY_LEVEL
        out[f"{POD_SECURITY_LABEL_PREFIX}{mode}-version"] = f"v{kubernetes_version}"
    return out


def service_account_subjects(namespace: str, accounts: list[str]) -> list[str]:
    """Kubernetes usernames of ServiceAccounts, as a cloud trust policy names them."""
    return [f"system:serviceaccount:{namespace}:{sa}" for sa in accounts]
