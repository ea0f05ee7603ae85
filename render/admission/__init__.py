"""The cluster's last line: ValidatingAdmissionPolicies rendered under argocd/admission/
(policies), including the one that keeps each tenant's secret objects to its own store
(secret_policy).
"""
