"""ArgoCD sized for the fleet, and the bounds of every sync: pure functions of registry/platform.yaml
`argocd` (one fleet-size input and the RayService initializing timeout).

Every figure comes from upstream's guidance, cited where it is used (argoproj/argo-cd
docs/operator-manual/high_availability.md, argocd-cmd-params-cm.yaml, argocd-cm.yaml;
ray-project/kuberay ray-operator/controllers/ray/rayservice_controller.go). docs/argocd.md's
sizing table is `table()` of this module (tests/conformance/test_argocd_fleet.py checks they agree).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from render.load import Document
from render.problems import Problem

# Applications per tenant (render/argocd/tenant_apps.py: workloads and guardrails).
APPS_PER_TENANT = 2
# high_availability.md: "For 1000 applications, we use 50 for --status-processors and 25 for
# --operation-processors" (defaults 20 and 10). One controller shard is sized for that many.
APPS_PER_SHARD = 1000
STATUS_PROCESSORS_PER_1000, OPERATION_PROCESSORS_PER_1000 = 50, 25
STATUS_PROCESSORS_MIN, OPERATION_PROCESSORS_MIN = 20, 10
# The repo-server only reads plain YAML folders (no Helm, no Kustomize): a generation is a
# directory read. Two replicas for availability, one more per 2,500 Applications, each
# generating at most 10 manifests at once (--parallelismlimit: bounds memory, avoids OOM kills).
REPO_SERVER_MIN, APPS_PER_REPO_SERVER, REPO_SERVER_PARALLELISM = 2, 2500, 10
# Polling is the webhook's backstop (timeout.reconciliation, argocd-cm; default 120s + 60s
# jitter): at least 3 minutes, a minute more per 600 Applications, jitter half of it.
RECONCILIATION_MIN_S, APPS_PER_RECONCILIATION_MINUTE = 180, 600
# Sharding by cluster (controller.sharding.algorithm): `legacy` hashes uids unevenly;
# `consistent-hashing` balances and moves few clusters when a shard is added as the fleet grows.
SINGLE_SHARD_ALGORITHM, SHARDED_ALGORITHM = "legacy", "consistent-hashing"
# A webhook push refreshes every Application whose manifest-generate-paths changed; a
# platform-wide change spreads its refreshes over this much (webhook.refresh.jitter).
WEBHOOK_JITTER_S = 60

# Retry of a failed sync (Application spec.syncPolicy.retry). A sync timeout ends the whole
# operation, retries included: it counts from the operation's start (controller/appcontroller.go,
# state.StartedAt), so it must leave room for the RayService's own verdict and every retry.
TENANT_RETRY: dict[str, Any] = {"limit": 5, "backoff": {"duration": "15s", "factor": 2, "maxDuration": "5m"}}
PLATFORM_RETRY: dict[str, Any] = {"limit": 5, "backoff": {"duration": "10s", "factor": 2, "maxDuration": "3m"}}
# The waves before the RayService (guardrails, secrets, datastores, buckets, IAM) take minutes.
SYNC_MARGIN_S = 600
SYNC_TIMEOUT_STEP_S = 300


def _seconds(duration: str) -> int:
    units = {"s": 1, "m": 60, "h": 3600}
    return int(duration[:-1]) * units[duration[-1]]


def retry_total_s(retry: dict[str, Any]) -> int:
    """Seconds of backoff a retry policy waits in all: duration * factor^n, capped at maxDuration."""
    b = retry["backoff"]
    first, cap, factor = _seconds(b["duration"]), _seconds(b["maxDuration"]), int(b["factor"])
    return sum(min(first * factor ** n, cap) for n in range(int(retry["limit"])))


@dataclass(frozen=True)
class Sizing:
    tenants: int
    applications: int
    controller_replicas: int
    sharding_algorithm: str
    status_processors: int
    operation_processors: int
    repo_server_replicas: int
    repo_server_parallelism: int
    reconciliation_s: int
    reconciliation_jitter_s: int
    sync_timeout_s: int


def sync_timeout_s(ray_initializing_timeout_s: int) -> int:
    """controller.sync.timeout.seconds: longer than KubeRay's initializing timeout plus every
    retry and the earlier waves, so a RayService that never gets ready ends Degraded with
    KubeRay's own reason first; rounded up to 5 minutes."""
    need = ray_initializing_timeout_s + max(retry_total_s(TENANT_RETRY), retry_total_s(PLATFORM_RETRY)) + SYNC_MARGIN_S
    return math.ceil(need / SYNC_TIMEOUT_STEP_S) * SYNC_TIMEOUT_STEP_S


def size(tenants: int, ray_initializing_timeout_s: int) -> Sizing:
    apps = APPS_PER_TENANT * tenants
    shards = max(1, math.ceil(apps / APPS_PER_SHARD))
    per_shard = math.ceil(apps / shards)
    reconciliation = max(RECONCILIATION_MIN_S, 60 * math.ceil(apps / APPS_PER_RECONCILIATION_MINUTE))
    return Sizing(
        tenants=tenants, applications=apps, controller_replicas=shards,
        sharding_algorithm=SHARDED_ALGORITHM if shards > 1 else SINGLE_SHARD_ALGORITHM,
        status_processors=max(STATUS_PROCESSORS_MIN, math.ceil(STATUS_PROCESSORS_PER_1000 * per_shard / 1000)),
        operation_processors=max(OPERATION_PROCESSORS_MIN, math.ceil(OPERATION_PROCESSORS_PER_1000 * per_shard / 1000)),
        repo_server_replicas=max(REPO_SERVER_MIN, math.ceil(apps / APPS_PER_REPO_SERVER)),
        repo_server_parallelism=REPO_SERVER_PARALLELISM,
        reconciliation_s=reconciliation, reconciliation_jitter_s=reconciliation // 2,
        sync_timeout_s=sync_timeout_s(ray_initializing_timeout_s),
    )


def from_platform(platform: dict[str, Any]) -> Sizing:
    a = platform["argocd"]
    return size(int(a["fleet_size"]), int(a["ray_initializing_timeout_s"]))


TABLE_FLEETS = (100, 1000, 10000)
TABLE_COLUMNS = (
    ("tenants", "tenants"), ("applications", "Applications"), ("controller_replicas", "controller replicas (shards)"),
    ("sharding_algorithm", "sharding algorithm"), ("status_processors", "status processors"),
    ("operation_processors", "operation processors"), ("repo_server_replicas", "repo-server replicas"),
    ("repo_server_parallelism", "repo-server parallelism limit"), ("reconciliation_s", "reconciliation timeout (s)"),
    ("reconciliation_jitter_s", "jitter (s)"),
)


def table(ray_initializing_timeout_s: int) -> str:
    """The Markdown sizing table of docs/argocd.md, for 100 / 1,000 / 10,000 tenants."""
    rows = [size(n, ray_initializing_timeout_s) for n in TABLE_FLEETS]
    head = "| " + " | ".join(title for _, title in TABLE_COLUMNS) + " |"
    rule = "|" + "---|" * len(TABLE_COLUMNS)
    body = ["| " + " | ".join(f"{getattr(r, key):,}" if isinstance(getattr(r, key), int) else str(getattr(r, key))
                              for key, _ in TABLE_COLUMNS) + " |" for r in rows]
    return "\n".join([head, rule, *body])


def fleet_warnings(platform: Document, tenants: int) -> list[Problem]:
    """More tenants than ArgoCD is sized for: valid, but its controller and repo-server are
    sized for fewer (a warning of `dataplane validate`)."""
    size_ = platform.data.get("argocd", {}).get("fleet_size") if isinstance(platform.data, dict) else None
    if not isinstance(size_, int) or tenants <= size_:
        return []
    return [platform.problem(("argocd", "fleet_size"), f"{tenants} tenants, but ArgoCD is sized for {size_}",
                             f"raise argocd.fleet_size to at least {tenants}: the sizing table in docs/argocd.md "
                             "says what it sets")]
