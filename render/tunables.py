"""Every tunable, declared once: its key, type, bounds, who may set it, where it renders.

A tunable is a value the merge carries from the platform defaults (registry/platform.yaml),
a registry entry (registry/extractors.yaml) or a tenant's overrides.yaml into the effective
configuration. The JSON schemas' blocks of these keys, the key table of docs/tenants.md and
the plain words of the pull-request comment are generated from this list
(render/generated.py; `dataplane render` writes them, `render --check` names a stale one),
and tests/conformance/test_tunables.py changes each one and requires a rendered byte to change.

Adding a tunable: an entry here, plus the line of render/context.py (or a template) that
renders it (docs/architecture.md, "Adding a tunable").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from render import clouds

Section = Literal["extractor", "worker_group", "head", "health", "celery_worker", "celery_beat"]
Layer = Literal["platform", "registry", "tenant"]
Kind = Literal["integer", "number", "quantity", "boolean", "string", "per_cloud"]

# Where each section sits in each layer's file (the effective values use the tenant's names).
SECTIONS: dict[Section, dict[Layer, str]] = {
    "extractor": {"platform": "extractor_defaults", "registry": "extractors.<id>", "tenant": "overrides.<extractor>"},
    "worker_group": {"platform": "worker_groups.<group>", "tenant": "cluster.<group>"},
    "head": {"platform": "head", "tenant": "head"},
    "health": {"platform": "spec", "tenant": "spec"},
    "celery_worker": {"platform": "celery.worker"},
    "celery_beat": {"platform": "celery.beat"},
}
# The section's path in the effective values (render/merge.py); the platform's Celery sizes
# are read from registry/platform.yaml directly (render/celery_context.py).
EFFECTIVE: dict[Section, tuple[str, ...]] = {
    "extractor": ("extractors", "<id>"), "worker_group": ("cluster", "<group>"), "head": ("head",), "health": ("spec",),
}

ALL: frozenset[Layer] = frozenset({"platform", "registry", "tenant"})
PLATFORM_AND_TENANT: frozenset[Layer] = frozenset({"platform", "tenant"})
PLATFORM_ONLY: frozenset[Layer] = frozenset({"platform"})


class _Platform:
    """The default of a key registry/platform.yaml must set (no engine default)."""

    def __repr__(self) -> str:
        return "registry/platform.yaml"


PLATFORM = _Platform()


@dataclass(frozen=True)
class Tunable:
    key: str
    section: Section
    kind: Kind
    description: str  # the platform's and the registry's wording (schema description)
    label: str  # plain words: the pull-request comment, `dataplane promote`, the docs table
    renders: str  # where the effective value lands in the output, in words a reader can grep for
    file: str = "rayservice-engine.yaml"  # the rendered file (of rendered/<name>/) that must change with it
    layers: frozenset[Layer] = ALL
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: float | None = None
    pattern: str | None = None
    tenant_description: str = ""  # overrides.schema.json's wording, when it says more for a tenant
    default: Any = PLATFORM  # PLATFORM: registry/platform.yaml sets it; None: unset unless a layer sets it
    no_output: str = ""  # why changing it renders nothing (then `renders` and `file` are unused)
    example: Any = None  # another valid value, different from the platform's, for the docs and tests

    def schema(self, layer: Layer) -> dict[str, Any]:
        """Its JSON Schema as `layer`'s file declares it."""
        text = self.tenant_description if layer == "tenant" and self.tenant_description else self.description
        out: dict[str, Any] = {"description": text}
        out.update(_TYPES[self.kind])
        for word, value in (("exclusiveMinimum", self.exclusive_minimum), ("minimum", self.minimum),
                            ("maximum", self.maximum), ("pattern", self.pattern)):
            if value is not None:
                out[word] = value
        return out

    @property
    def where(self) -> str:
        """Where a tenant (or else the platform) writes it, e.g. overrides.<extractor>.max_replicas."""
        layer: Layer = "tenant" if "tenant" in self.layers else "platform"
        return f"{SECTIONS[self.section][layer]}.{self.key}"


_TYPES: dict[Kind, dict[str, Any]] = {
    "integer": {"type": "integer"},
    "number": {"type": "number"},
    "quantity": {"type": ["string", "number"]},
    "boolean": {"type": "boolean"},
    "string": {"type": "string"},
    # One value per cloud (a machine type); the clouds are those of render/clouds/ (their `machine_words`).
    "per_cloud": {"type": "object", "additionalProperties": False},
}

_SERVE = "rayservice-engine.yaml: serveConfigV2 applications[<id>].deployments[0]"
_GROUP = "rayservice-engine.yaml: workerGroupSpecs[<group>]"

TUNABLES: tuple[Tunable, ...] = (
    # -- extractors: platform extractor_defaults -> registry entry -> overrides.<extractor>
    Tunable("enabled", "extractor", "boolean", layers=frozenset({"tenant"}), default=None,
            description="Turn an extractor that is off by default on (true) or an on-by-default one off (false). "
                        "The `disabled` list always wins.",
            label="enabled", renders="whether the extractor's serveConfigV2 application (or Celery Deployment) "
                                     "exists at all", example=False),
    Tunable("min_replicas", "extractor", "integer", minimum=0, maximum=1000,
            description="Replicas always running; 0 scales to zero when idle (first request then waits for a cold "
                        "start).",
            tenant_description="Replicas always running (at most max_replicas); 0 scales to zero when idle, and the "
                               "first request then waits for a cold start.",
            label="minimum replicas", renders=f"{_SERVE}.autoscaling_config.min_replicas and initial_replicas",
            example=2),
    Tunable("max_replicas", "extractor", "integer", minimum=1, maximum=1000,
            description="Most replicas under load.",
            tenant_description="Most replicas under load (at least 1; to turn an extractor off, list it under "
                               "`disabled`).",
            label="maximum replicas", renders=f"{_SERVE}.autoscaling_config.max_replicas", example=3),
    Tunable("target_ongoing_requests", "extractor", "number", exclusive_minimum=0, maximum=1000,
            description="Ongoing requests per replica before Ray Serve scales up.",
            tenant_description="Ongoing requests per replica before Ray Serve adds replicas; at most "
                               "max_ongoing_requests.",
            label="target ongoing requests per replica",
            renders=f"{_SERVE}.autoscaling_config.target_ongoing_requests", example=3),
    Tunable("upscale_delay_s", "extractor", "number", minimum=0, maximum=3600,
            description="Seconds of sustained load before adding replicas.",
            label="scale-up delay (s)", renders=f"{_SERVE}.autoscaling_config.upscale_delay_s", example=45),
    Tunable("downscale_delay_s", "extractor", "number", minimum=0, maximum=86400,
            description="Cool-down in seconds before removing replicas (prevents flapping).",
            label="scale-down delay (s)", renders=f"{_SERVE}.autoscaling_config.downscale_delay_s", example=900),
    Tunable("max_ongoing_requests", "extractor", "integer", minimum=1, maximum=10000,
            description="Concurrent requests one replica accepts before queueing.",
            label="most ongoing requests per replica", renders=f"{_SERVE}.max_ongoing_requests", example=12),
    Tunable("max_queued_requests", "extractor", "integer", minimum=1, maximum=100000, default=None,
            description="Requests queued for this extractor at each caller (the Serve proxy) once every replica "
                        "holds max_ongoing_requests; beyond it a request is refused with HTTP 503 instead of "
                        "waiting. Unset: no limit (Ray Serve's default).",
            label="most queued requests", renders=f"{_SERVE}.max_queued_requests", example=100),
    Tunable("num_cpus", "extractor", "number", minimum=0, maximum=256,
            description="CPUs reserved per replica.",
            tenant_description="CPUs reserved per replica, e.g. 2 or 0.5; must fit in one pod of the extractor's "
                               "worker group.",
            label="CPUs per replica", renders=f"{_SERVE}.ray_actor_options.num_cpus", example=1),
    Tunable("num_gpus", "extractor", "number", minimum=0, maximum=8,
            description="GPUs reserved per replica (fractions share one GPU).",
            tenant_description="GPUs reserved per replica (fractions share one GPU); only gpu-workers pods have GPUs.",
            label="GPUs per replica", renders=f"{_SERVE}.ray_actor_options.num_gpus", example=0.25),
    Tunable("memory", "extractor", "quantity",
            description="Memory reserved per replica, a Kubernetes quantity such as \"4Gi\".",
            tenant_description="Memory reserved per replica, a Kubernetes quantity such as \"4Gi\" (binary units: "
                               "Ki, Mi, Gi).",
            label="memory", renders=f"{_SERVE}.ray_actor_options.memory (bytes)", example="3Gi"),
    # -- worker groups: platform worker_groups.<group> -> overrides cluster.<group>
    Tunable("min_replicas", "worker_group", "integer", minimum=0, maximum=1000, layers=PLATFORM_AND_TENANT,
            description="Fewest worker nodes (pods) of this group.",
            tenant_description="Fewest worker nodes (pods) of this group; at most max_replicas.",
            label="minimum replicas", renders=f"{_GROUP}.minReplicas", example=2),
    Tunable("max_replicas", "worker_group", "integer", minimum=0, maximum=1000, layers=PLATFORM_AND_TENANT,
            description="Most worker nodes (pods) of this group the autoscaler may start.",
            tenant_description="Most worker nodes (pods) of this group the autoscaler may start; 0 leaves the group "
                               "without nodes.",
            label="maximum replicas", renders=f"{_GROUP}.maxReplicas", example=3),
    Tunable("replicas", "worker_group", "integer", minimum=0, maximum=1000, layers=PLATFORM_AND_TENANT,
            default="min_replicas",
            description="Worker nodes at start-up; the Ray autoscaler moves it between min and max.",
            tenant_description="Worker nodes at start-up, between min_replicas and max_replicas; the Ray autoscaler "
                               "moves it from there.",
            label="starting nodes", renders=f"{_GROUP}.replicas", example=2),
    Tunable("cpu", "worker_group", "quantity", layers=PLATFORM_AND_TENANT,
            description="CPU of one worker pod, e.g. \"7\".",
            label="CPU", renders=f"{_GROUP} ray-worker container resources cpu", example="6"),
    Tunable("memory", "worker_group", "quantity", layers=PLATFORM_AND_TENANT,
            description="Memory of one worker pod, e.g. \"28Gi\". Raise it when pods are OOMKilled.",
            label="memory", renders=f"{_GROUP} ray-worker container resources memory", example="20Gi"),
    Tunable("gpus", "worker_group", "integer", minimum=0, maximum=8, layers=PLATFORM_ONLY,
            description="GPUs per worker pod (nvidia.com/gpu).",
            label="GPUs", renders=f"{_GROUP} ray-worker container resources nvidia.com/gpu", example=1),
    Tunable("ray_resource", "worker_group", "string", pattern="^[a-z][a-z0-9_]*$", layers=PLATFORM_ONLY,
            description="Synthetic Ray resource the group advertises, so an extractor's replicas land on its own "
                        "group.",
            label="Ray resource", renders=f"{_GROUP} rayStartParams resources, and each of its extractors' "
                                          "ray_actor_options.resources", example="cpu_pool"),
    Tunable("machine", "worker_group", "per_cloud", layers=PLATFORM_ONLY, default=None,
            description="Machine type per cloud; one pod fills one node.",
            label="machine type", renders="",
            no_output="not in a tenant's manifests (its pods select the group's node pool by label): the pool's "
                      "machine type, read by the capacity checks of validate, footprint's prices and `dataplane "
                      "cluster`'s nodes",
            example={name: cloud.machine_example for name, cloud in clouds.CLOUDS.items()}),
    Tunable("accelerator", "worker_group", "string", layers=PLATFORM_ONLY, default=None,
            description="GPU model.", label="GPU model", renders="",
            no_output="documentation only: the GPU nodes are chosen by the group's machine type and its node pool's "
                      "labels (registry/platform.yaml nodes.pools)", example="nvidia-a100"),
    # -- the Ray head: platform head -> overrides head
    Tunable("cpu", "head", "quantity", layers=PLATFORM_AND_TENANT,
            description="Head CPU, e.g. \"2\".", label="CPU",
            renders="rayservice-engine.yaml: headGroupSpec ray-head container resources cpu", example="1"),
    Tunable("memory", "head", "quantity", layers=PLATFORM_AND_TENANT,
            description="Head memory, e.g. \"8Gi\".", label="memory",
            renders="rayservice-engine.yaml: headGroupSpec ray-head container resources memory", example="6Gi"),
    # -- health thresholds: platform spec -> overrides spec
    Tunable("liveness_period_s", "health", "integer", minimum=1, maximum=300, layers=PLATFORM_AND_TENANT,
            description="Seconds between liveness probes.", label="liveness probe period (s)",
            renders="livenessProbe.periodSeconds of the Ray workers and Celery pods", example=15),
    Tunable("liveness_failure_threshold", "health", "integer", minimum=1, maximum=100, layers=PLATFORM_AND_TENANT,
            description="Failed liveness probes before a container is restarted.",
            label="liveness failures before restart",
            renders="livenessProbe.failureThreshold of the Ray workers and Celery pods", example=8),
    Tunable("readiness_period_s", "health", "integer", minimum=1, maximum=300, layers=PLATFORM_AND_TENANT,
            description="Seconds between readiness probes.", label="readiness probe period (s)",
            renders="readinessProbe.periodSeconds of the Ray pods", example=7),
    Tunable("readiness_failure_threshold", "health", "integer", minimum=1, maximum=100, layers=PLATFORM_AND_TENANT,
            description="Failed readiness probes before a pod stops receiving traffic.",
            label="readiness failures before a pod leaves the load balancer",
            renders="readinessProbe.failureThreshold of the Ray pods", example=25),
    Tunable("probe_timeout_s", "health", "integer", minimum=1, maximum=60, layers=PLATFORM_AND_TENANT,
            description="Seconds a probe may take.", label="probe timeout (s)",
            renders="timeoutSeconds of every probe", example=3),
    Tunable("serve_unhealthy_after_s", "health", "integer", minimum=60, maximum=86400, layers=PLATFORM_AND_TENANT,
            description="Seconds a Serve application may have replicas but none healthy before the "
                        "DataplaneServeUnhealthy alert pages the platform on-call (KubeRay v1 never replaces the "
                        "cluster for this).",
            label="Serve unhealthy after (s)", file="prometheusrule-dataplane-alerts.yaml",
            renders="the DataplaneServeUnhealthy alert's window and `for`", example=2400),
    Tunable("beat_stale_after_s", "health", "integer", minimum=120, maximum=3600, layers=PLATFORM_AND_TENANT,
            description="Age in seconds of the Celery beat heartbeat after which health checks fail.",
            label="Celery beat stale after (s)", file="prometheusrule-dataplane-alerts.yaml",
            renders="the Celery beat liveness check and the stale-beat alert", example=600),
    # -- Celery: platform celery.worker, celery.beat (the platform's alone)
    Tunable("replicas", "celery_worker", "integer", minimum=1, maximum=100, layers=PLATFORM_ONLY,
            description="Worker pods.", label="worker pods", file="deployment-celery-worker.yaml",
            renders="deployment-celery-worker.yaml: spec.replicas", example=3),
    Tunable("concurrency", "celery_worker", "integer", minimum=1, maximum=256, layers=PLATFORM_ONLY,
            description="Tasks one worker pod runs at once.", label="tasks per worker pod",
            file="deployment-celery-worker.yaml", renders="deployment-celery-worker.yaml: --concurrency", example=6),
    Tunable("cpu", "celery_worker", "quantity", layers=PLATFORM_ONLY,
            description="CPU of one worker pod, e.g. \"2\".", label="CPU", file="deployment-celery-worker.yaml",
            renders="deployment-celery-worker.yaml: container resources cpu", example="1"),
    Tunable("memory", "celery_worker", "quantity", layers=PLATFORM_ONLY,
            description="Memory of one worker pod, e.g. \"8Gi\".", label="memory", file="deployment-celery-worker.yaml",
            renders="deployment-celery-worker.yaml: container resources memory", example="3Gi"),
    Tunable("cpu", "celery_beat", "quantity", layers=PLATFORM_ONLY,
            description="CPU of the beat pod, e.g. \"2\".", label="CPU", file="deployment-celery-beat.yaml",
            renders="deployment-celery-beat.yaml: container resources cpu", example="300m"),
    Tunable("memory", "celery_beat", "quantity", layers=PLATFORM_ONLY,
            description="Memory of the beat pod, e.g. \"8Gi\".", label="memory", file="deployment-celery-beat.yaml",
            renders="deployment-celery-beat.yaml: container resources memory", example="300Mi"),
)


def of(section: Section, layer: Layer | None = None) -> list[Tunable]:
    """The tunables of `section` (that `layer` may set), in declaration order."""
    return [t for t in TUNABLES if t.section == section and (layer is None or layer in t.layers)]


def find(section: Section, key: str) -> Tunable | None:
    return next((t for t in TUNABLES if t.section == section and t.key == key), None)


def at(path: tuple[object, ...]) -> Tunable | None:
    """The tunable at a path of the effective values (("extractors", id, key), ("cluster",
    group, key), ("head", key), ("spec", key)), or None."""
    for section, prefix in EFFECTIVE.items():
        if len(path) == len(prefix) + 1 and path[0] == prefix[0]:
            return find(section, str(path[-1]))
    return None


def labels() -> dict[str, str]:
    """Plain words per key of the effective values, whichever section changes (one label per
    key: tests/conformance/test_tunables.py)."""
    return {t.key: t.label for t in TUNABLES if t.section in EFFECTIVE}


# The worker groups' own descriptions (the groups are layout.WORKER_GROUPS). Their default
# sizes are registry/platform.yaml's to say (`dataplane explain TENANT <group>`), not these words.
GROUP_WORDS: dict[str, str] = {
    "cpu-workers": "CPU workers: text embeddings, reranking, classification, image embeddings.",
    "batch-workers": "Batch workers: large ingestion jobs, scaled from zero on demand.",
    "gpu-workers": "GPU workers, one NVIDIA L4 each: video processing, large model inference.",
}
