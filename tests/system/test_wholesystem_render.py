"""What the examples render for the issues only a whole system shows (docs/architecture.md,
"Whole-system truth"): each assertion is one of the fixes, read from rendered/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from tests.support import ROOT


def obj(tenant: str, file: str) -> dict[str, Any]:
    return next(d for d in yaml.safe_load_all((ROOT / "rendered" / tenant / file).read_text(encoding="utf-8")) if d)


def platform() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "registry" / "platform.yaml").read_text(encoding="utf-8"))


def test_the_irsa_trust_policy_names_the_clusters_real_oidc_issuer() -> None:
    issuer = platform()["clusters"]["dp-eks-us-east-1"]["oidc_issuer"].removeprefix("https://")
    doc = json.loads(obj("initech", "role-dp-initech-engine.yaml")["spec"]["assumeRolePolicyDocument"])
    statement = doc["Statement"][0]
    assert statement["Principal"]["Federated"] == f"arn:aws:iam::123456789012:oidc-provider/{issuer}"
    # Only the components that use the data bucket (one ServiceAccount each) may assume the
    # role; backup and restore have roles of their own (tests/conformance/test_backup_isolation.py).
    assert statement["Condition"]["StringEquals"] == {
        f"{issuer}:sub": ["system:serviceaccount:tenant-initech:ray-worker", "system:serviceaccount:tenant-initech:celery"],
        f"{issuer}:aud": "sts.amazonaws.com"}


def test_an_s3_bucket_in_us_east_1_has_no_location_constraint_and_is_retained() -> None:
    bucket = obj("initech", "bucket-dp-data-initech.yaml")
    assert "createBucketConfiguration" not in bucket["spec"]
    assert bucket["metadata"]["annotations"]["services.k8s.aws/deletion-policy"] == "retain"
    assert obj("acme", "storagebucket-dp-data-acme.yaml")["metadata"]["annotations"]["cnrm.cloud.google.com/deletion-policy"] == "abandon"
    ns = obj("acme", "namespace-tenant-acme.yaml")
    assert ns["metadata"]["annotations"]["argocd.argoproj.io/sync-options"] == "Prune=false,Delete=false"


def test_serve_is_an_internal_load_balancer_for_the_gateways_ranges_only() -> None:
    spec = obj("acme", "rayservice-engine.yaml")["spec"]
    svc = spec["serveService"]
    ranges = platform()["control_plane"]["gateway_source_ranges"]
    assert svc["spec"]["type"] == "LoadBalancer" and svc["spec"]["loadBalancerSourceRanges"] == ranges
    assert svc["spec"]["externalTrafficPolicy"] == "Local"
    assert svc["metadata"]["annotations"]["networking.gke.io/load-balancer-type"] == "Internal"
    assert svc["metadata"]["annotations"]["external-dns.alpha.kubernetes.io/hostname"] == "serve-acme.us-central1.dp.internal"
    aws = obj("initech", "rayservice-engine.yaml")["spec"]["serveService"]["metadata"]["annotations"]
    assert aws["service.beta.kubernetes.io/aws-load-balancer-scheme"] == "internal"
    quota = obj("acme", "resourcequota-tenant-quota.yaml")["spec"]["hard"]
    assert quota["services.loadbalancers"] == "1"


def test_no_deprecated_kuberay_thresholds_and_serve_unhealthy_is_an_alert() -> None:
    spec = obj("globex", "rayservice-engine.yaml")["spec"]
    assert "serviceUnhealthySecondThreshold" not in spec and "deploymentUnhealthySecondThreshold" not in spec
    groups = obj("globex", "prometheusrule-dataplane-alerts.yaml")["spec"]["groups"]
    rule = next(r for g in groups for r in g["rules"] if r["alert"] == "DataplaneServeUnhealthy")
    # globex's spec.serve_unhealthy_after_s (1800) = a 600 s counter window + the `for`
    assert rule["for"] == "1200s" and "[600s]" in rule["expr"]


def test_worker_readiness_keeps_kuberays_serve_proxy_check_and_head_liveness_its_defaults() -> None:
    cluster = obj("acme", "rayservice-engine.yaml")["spec"]["rayClusterConfig"]
    for group in cluster["workerGroupSpecs"]:
        command = group["template"]["spec"]["containers"][0]["readinessProbe"]["exec"]["command"][-1]
        assert "local_raylet_healthz" in command and "http://localhost:8000/-/healthz" in command
    head = cluster["headGroupSpec"]["template"]["spec"]["containers"][0]["livenessProbe"]
    assert head["periodSeconds"] * head["failureThreshold"] >= 5 * 120


def test_celery_redelivery_grace_and_time_limit_are_aligned() -> None:
    config = json.loads(obj("acme", "configmap-celery-config.yaml")["data"]["celery.json"])
    longest = platform()["celery"]["longest_task_s"]
    grace = obj("acme", "deployment-celery-worker.yaml")["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    visibility = config["broker_transport_options"]["visibility_timeout"]
    assert config["task_time_limit"] == longest < grace < visibility and visibility > longest
    assert config["broker_url"].startswith("redis://redis.") and "@" not in config["broker_url"]  # no secret in a ConfigMap


def test_keda_cooldown_only_for_scale_to_zero_and_hpa_stabilization_otherwise() -> None:
    for tenant in ("acme", "globex", "initech", "umbrella"):
        spec = obj(tenant, "scaledobject-celery-extract.yaml")["spec"]
        assert ("cooldownPeriod" in spec) == (spec["minReplicaCount"] == 0)
        window = spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"]
        assert window > 0


def test_redis_leaves_room_for_the_aof_rewrite_fork_and_workers_have_budgets() -> None:
    args = obj("acme", "statefulset-redis.yaml")["spec"]["template"]["spec"]["containers"][0]["args"][0]
    maxmemory = int(args.split("--maxmemory ")[1].split()[0])
    assert maxmemory <= 0.6 * 2 * 2**30
    pdbs = {p.name for p in (ROOT / "rendered" / "acme").glob("poddisruptionbudget-*.yaml")}
    assert pdbs == {"poddisruptionbudget-celery-worker.yaml", "poddisruptionbudget-celery-extract.yaml",
                    "poddisruptionbudget-ray-cpu-workers.yaml", "poddisruptionbudget-ray-batch-workers.yaml",
                    "poddisruptionbudget-ray-gpu-workers.yaml"}


def test_the_kube_api_is_reached_by_the_head_only_at_the_clusters_real_range() -> None:
    for tenant, cluster in (("acme", "dp-gke-us-central1"), ("initech", "dp-eks-us-east-1")):
        policy = obj(tenant, "networkpolicy-allow-apiserver.yaml")["spec"]
        assert policy["podSelector"] == {"matchLabels": {"ray.io/node-type": "head"}}
        cidrs = [peer["ipBlock"]["cidr"] for peer in policy["egress"][0]["to"]]
        assert cidrs == platform()["clusters"][cluster]["apiserver_cidrs"]
    egress = obj("acme", "networkpolicy-allow-egress.yaml")["spec"]["egress"]
    assert not any(p.get("ipBlock", {}).get("cidr") in platform()["clusters"]["dp-gke-us-central1"]["apiserver_cidrs"]
                   for rule in egress for p in rule["to"])


def test_a_tenant_on_an_undeclared_cluster_is_a_problem(tmp_path: Path) -> None:
    from render.load import parse_yaml
    from render.validate.file_rules import check_cluster

    tenant = parse_yaml("name: acme\ncloud: gcp\ncluster: dp-gke-us-west1\n", "tenants/acme/tenant.yaml")
    registry = parse_yaml((ROOT / "registry" / "platform.yaml").read_text(encoding="utf-8"), "registry/platform.yaml")
    (p,) = check_cluster(tenant, registry)
    assert (p.line, p.message) == (3, "cluster 'dp-gke-us-west1' is not declared in registry/platform.yaml `clusters`")
    wrong_cloud = parse_yaml("name: acme\ncloud: aws\ncluster: dp-gke-us-central1\n", "tenants/acme/tenant.yaml")
    assert [p.message for p in check_cluster(wrong_cloud, registry)] == ["cluster 'dp-gke-us-central1' runs on gcp, not aws"]
