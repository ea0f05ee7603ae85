"""Cluster operations on one tenant's namespace (`dataplane status|doctor|scale|ray-dashboard`).

`snapshot` and `diagnose` are pure functions over plain dicts shaped like Kubernetes API
responses; only `kube` talks to a cluster (and only it imports the `kubernetes` client).
"""
