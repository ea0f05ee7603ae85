"""What differs between the clouds a tenant may live on, one entry per cloud.

Code elsewhere looks a cloud up here and never branches on its name: the format of an
account and of a region, the prefix of a cluster's name, the words a user is told. A cloud
missing from `CLOUDS` is a Problem where it is used, never a silent fallback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Cloud:
    account_noun: str  # what tenant.yaml `cloud_account` holds on this cloud
    account: re.Pattern[str]
    account_hint: str
    region: re.Pattern[str]
    region_example: str
    cluster_prefix: str  # clusters are named <prefix>-<region> by convention (new-tenant's default)
    default_account: str | None = None  # new-tenant's default cloud_account; None: the flag is required
    # Facts `dataplane new-cluster` needs beyond the ones every cloud has, with their example.
    cluster_facts: tuple[tuple[str, str], ...] = ()
    # The account quotas each tenant uses (registry/platform.yaml cloud_accounts, render/quotas.py),
    # with where the cloud states them.
    quotas: tuple[tuple[str, str], ...] = ()
    # The longest tenant name whose cloud identities still fit the cloud's name limits.
    name_max: int = 40

    def cluster_name(self, region: str) -> str:
        return f"{self.cluster_prefix}-{region}"


CLOUDS: dict[str, Cloud] = {
    "gcp": Cloud(
        account_noun="GCP project id",
        # Project ids: 6 to 30 characters, lower-case letters, digits and '-', starting with
        # a letter and not ending with '-' (cloud.google.com/resource-manager/docs/creating-managing-projects).
        account=re.compile(r"[a-z][a-z0-9-]{4,28}[a-z0-9]"),
        account_hint="a GCP project id: 6 to 30 lower-case letters, digits and '-', starting with a letter, "
                     "e.g. dp-tenants-prod",
        region=re.compile(r"[a-z]+-[a-z]+[0-9]+"),
        region_example="us-central1",
        cluster_prefix="dp-gke",
        default_account="dp-tenants",
        quotas=(
            # "All members (including Google groups) in all bindings within a policy: 1,500" (a limit).
            ("iam_policy_members", "cloud.google.com/iam/quotas, Limits: policies and bindings"),
            # "Number of service accounts: 100" per project by default (a quota: raise it by request).
            ("service_accounts", "cloud.google.com/iam/quotas, Quotas: service accounts"),
        ),
        # Service account ids are 6 to 30 characters (cloud.google.com/iam/docs/service-accounts-create);
        # the tenant's are dp-, dps-, dpb- and dpr-<name>: 4 + 26.
        name_max=26,
    ),
    "aws": Cloud(
        account_noun="AWS account id",
        account=re.compile(r"[0-9]{12}"),
        account_hint='the 12-digit AWS account id, quoted, e.g. "123456789012" (aws sts get-caller-identity)',
        region=re.compile(r"[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]+"),
        region_example="us-east-1",
        cluster_prefix="dp-eks",
        cluster_facts=(("oidc_issuer", "https://oidc.eks.REGION.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"),),
        quotas=(
            # "Roles in an AWS account: 1,000" by default, adjustable (IAM and AWS STS quotas).
            ("iam_roles", "docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html"),
            # "up to 10,000 general purpose buckets per AWS account" by default (S3 bucket quotas).
            ("s3_buckets", "docs.aws.amazon.com/AmazonS3/latest/userguide/BucketRestrictions.html"),
        ),
    ),
}


def names() -> list[str]:
    return sorted(CLOUDS)
