"""Fields the API server, or a cloud controller, never lets change on an existing object.

Sources (read when this table was written; tests/system/test_gate.py checks the CRD side against
the upstream CRDs):
- StatefulSet: k8s.io/kubernetes pkg/apis/apps/validation ValidateStatefulSetUpdate: only
  replicas, ordinals, template, updateStrategy, revisionHistoryLimit,
  persistentVolumeClaimRetentionPolicy and minReadySeconds of the spec may change.
- Deployment, DaemonSet, ReplicaSet: the same file, spec.selector (apps/v1).
- Job: pkg/apis/batch/validation ValidateJobSpecUpdate: selector, template (but for the
  scheduling directives of a suspended Job), completions (but for elastic indexed Jobs),
  completionMode, podFailurePolicy, backoffLimitPerIndex.
- Service: pkg/apis/core/validation ValidateServiceUpdate: clusterIP and clusterIPs, except
  in a transition to or from type ExternalName.
- PersistentVolumeClaim: ValidatePersistentVolumeClaimUpdate: the spec but
  resources.requests (which may only grow) and volumeAttributesClassName.
- StorageClass: pkg/apis/storage/validation ValidateStorageClassUpdate: provisioner,
  parameters, reclaimPolicy, volumeBindingMode.
- RoleBinding: roleRef. ConfigMap and Secret with `immutable: true`: data, binaryData.
- Config Connector and ACK: fields the CRD marks "Immutable." or guards with the CEL rule
  `self == oldSelf`; a bucket's location, which the cloud never changes; S3
  `objectLockEnabledForBucket`, a CreateBucket parameter (Object Lock is never turned off).
- A locked GCS retention policy (the backup buckets, render/backup_storage.py) stays locked
  and its period never shrinks (cloud.google.com/storage/docs/bucket-lock: "Once you lock a
  policy, you cannot remove it or reduce the retention period it has").
Pure data.
"""

from __future__ import annotations

from dataclasses import dataclass

ORPHAN_HINT = ("the field is fixed when the object is created: keep the old value, or give the object a new name "
               "and move its data first")


@dataclass(frozen=True)
class Rule:
    fields: tuple[str, ...] = ()  # dotted paths that may never change
    mutable_spec: tuple[str, ...] | None = None  # when set: every other spec key is immutable
    hint: str = ORPHAN_HINT
    source: str = ""


STATEFULSET_MUTABLE = ("replicas", "ordinals", "template", "updateStrategy", "revisionHistoryLimit",
                       "persistentVolumeClaimRetentionPolicy", "minReadySeconds")
SELECTOR = Rule(("spec.selector",), hint="a workload's selector is fixed: keep it (a new selector needs a new name)",
                source="ValidateDeploymentUpdate")
JOB_HINT = "a Job's spec is fixed once it exists: give the changed Job a new name (the migration flow numbers its attempts)"
BUCKET_HINT = ("a bucket never moves or changes its name: keep it; moving a tenant's data to a new bucket is a "
               "migration (docs/migration.md)")

RULES: dict[tuple[str, str], Rule] = {
    ("apps", "StatefulSet"): Rule(mutable_spec=STATEFULSET_MUTABLE, source="ValidateStatefulSetUpdate"),
    ("apps", "Deployment"): SELECTOR,
    ("apps", "DaemonSet"): SELECTOR,
    ("apps", "ReplicaSet"): SELECTOR,
    ("batch", "Job"): Rule(("spec.selector", "spec.template", "spec.completions", "spec.completionMode",
                            "spec.podFailurePolicy", "spec.backoffLimitPerIndex"), hint=JOB_HINT,
                           source="ValidateJobSpecUpdate"),
    ("", "Service"): Rule(("spec.clusterIP", "spec.clusterIPs"),
                          hint="a Service's cluster IP (or being headless) is fixed: keep it, or create a Service of "
                               "a new name", source="ValidateServiceUpdate"),
    ("", "PersistentVolumeClaim"): Rule(("spec.accessModes", "spec.storageClassName", "spec.selector", "spec.volumeName",
                                         "spec.volumeMode", "spec.dataSource", "spec.dataSourceRef"),
                                        hint="only a claim's size may change, and only upwards",
                                        source="ValidatePersistentVolumeClaimUpdate"),
    ("storage.k8s.io", "StorageClass"): Rule(("provisioner", "parameters", "reclaimPolicy", "volumeBindingMode"),
                                             hint="a storage class is fixed: create a class of a new name for new volumes",
                                             source="ValidateStorageClassUpdate"),
    ("rbac.authorization.k8s.io", "RoleBinding"): Rule(("roleRef",), hint="create a RoleBinding of a new name",
                                                       source="ValidateRoleBindingUpdate"),
    ("storage.cnrm.cloud.google.com", "StorageBucket"): Rule(("spec.location", "spec.resourceID"), hint=BUCKET_HINT,
                                                             source="StorageBucket CRD (Immutable.); GCS location"),
    ("s3.services.k8s.aws", "Bucket"): Rule(("spec.name", "spec.namespace", "spec.createBucketConfiguration",
                                             "spec.objectLockEnabledForBucket"),
                                            hint=BUCKET_HINT, source="Bucket CRD (self == oldSelf); S3 region, Object Lock"),
    ("iam.cnrm.cloud.google.com", "IAMPolicyMember"): Rule(("spec.member", "spec.memberFrom", "spec.role",
                                                            "spec.resourceRef", "spec.condition"),
                                                           hint="a binding is fixed: render it under a new name",
                                                           source="IAMPolicyMember CRD (Immutable.)"),
    ("iam.cnrm.cloud.google.com", "IAMServiceAccount"): Rule(("spec.resourceID",), source="IAMServiceAccount CRD"),
}
# (the lock flag, the period that only grows) of a bucket kind whose retention can be locked.
LOCKED_RETENTION: dict[tuple[str, str], tuple[str, str]] = {
    ("storage.cnrm.cloud.google.com", "StorageBucket"): ("spec.retentionPolicy.isLocked",
                                                         "spec.retentionPolicy.retentionPeriod"),
}
LOCK_HINT = ("the backup bucket's retention is locked: it can only grow, so keep every backups.<datastore>.retention_days "
             "in registry/platform.yaml at or above the shortest one it was created with (render/backup_storage.py "
             "lock_days); a shorter retention needs a new bucket (docs/operations.md#who-can-delete-a-backup)")
IMMUTABLE_DATA = Rule(("data", "binaryData"), hint="an immutable ConfigMap or Secret is fixed: use a new name")

# Objects that hold or name a tenant's data: removing one (or renaming it) strands the data.
DATA_KINDS = {("apps", "StatefulSet"), ("", "PersistentVolumeClaim"), ("storage.cnrm.cloud.google.com", "StorageBucket"),
              ("s3.services.k8s.aws", "Bucket")}
