"""References: every name one rendered object uses resolves to another.

- Selectors (Service, PodMonitor, NetworkPolicy, PodDisruptionBudget, Deployment) match
  at least one synthesized pod of their namespace; a ScaledObject targets a Deployment.
- Named ports (Service targetPort, probes, PodMonitor endpoints) exist on the pods'
  containers.
- Secrets (with their keys), ConfigMaps (with their keys), ServiceAccounts and PVCs a pod
  uses are rendered (an ExternalSecret's target is a Secret) or declared external.
(Metrics read by alerts and dashboards: render/conformance/metric_sources.py.)
"""

from __future__ import annotations

from typing import Any

from render.conformance.manifests import Manifest
from render.conformance.pods import Pod, namespace_of, pods
from render.conformance.report import Outcome
from render.problems import Problem

NAME = "references (selectors, ports, Secrets)"
# Created by Kubernetes itself in every namespace.
BUILTIN_SERVICE_ACCOUNTS = {"default"}


def _d(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """matchLabels and matchExpressions (In, NotIn, Exists, DoesNotExist); a bare map is matchLabels."""
    if "matchLabels" not in selector and "matchExpressions" not in selector:
        selector = {"matchLabels": selector}
    if any(labels.get(k) != str(v) for k, v in _d(selector.get("matchLabels")).items()):
        return False
    for e in selector.get("matchExpressions") or []:
        key, op, values = e.get("key"), e.get("operator"), [str(v) for v in e.get("values") or []]
        ok = {"In": labels.get(key) in values, "NotIn": labels.get(key) not in values,
              "Exists": key in labels, "DoesNotExist": key not in labels}.get(op, False)
        if not ok:
            return False
    return True


def check(manifests: list[Manifest]) -> Outcome:
    all_pods = pods(manifests)
    by_ns: dict[str, list[Pod]] = {}
    for p in all_pods:
        by_ns.setdefault(p.namespace, []).append(p)
    failures: list[Problem] = []
    checked = 0
    for m in manifests:
        if not m.is_object:
            continue
        found, n = _selectors(m, by_ns.get(namespace_of(m), []), manifests)
        failures += found
        checked += n
    for p in all_pods:
        found, n = _pod_refs(p, manifests)
        failures += found
        checked += n
    return Outcome(NAME, checked, "references", failures)


def _selectors(m: Manifest, ns_pods: list[Pod], manifests: list[Manifest]) -> tuple[list[Problem], int]:
    spec = _d(m.obj.get("spec"))
    where: list[tuple[tuple[str | int, ...], dict[str, Any], list[str]]] = []  # path, selector, named ports to find
    if m.kind == "Service" and spec.get("selector"):
        ports = [p.get("targetPort") for p in spec.get("ports") or [] if isinstance(p.get("targetPort"), str)]
        where.append((("spec", "selector"), {"matchLabels": spec["selector"]}, ports))
    elif m.kind == "PodMonitor":
        ports = [e.get("port") for e in spec.get("podMetricsEndpoints") or [] if isinstance(e.get("port"), str)]
        where.append((("spec", "selector"), _d(spec.get("selector")), ports))
    elif m.kind in ("NetworkPolicy", "PodDisruptionBudget") and (_d(spec.get("podSelector")) or m.kind == "PodDisruptionBudget"):
        key = "podSelector" if m.kind == "NetworkPolicy" else "selector"
        ports = [p.get("port") for r in spec.get("ingress") or [] for p in r.get("ports") or [] if isinstance(p.get("port"), str)]
        where.append(((("spec", key)), _d(spec.get(key)), ports))
    elif m.kind == "ScaledObject":
        target = _d(spec.get("scaleTargetRef")).get("name")
        ok = any(o.kind == "Deployment" and o.name == target and namespace_of(o) == namespace_of(m) for o in manifests)
        return ([] if ok else [m.problem(("spec", "scaleTargetRef", "name"), f"no Deployment {target!r} in {namespace_of(m)}")]), 1
    out = []
    for path, selector, ports in where:
        chosen = [p for p in ns_pods if matches(selector, p.labels)]
        if not chosen:
            out.append(m.problem(path, "selects no pod of the rendered workloads", "fix the labels or the selector"))
            continue
        for port in ports:
            if not any(_has_port(p, port) for p in chosen):
                out.append(m.problem(path, f"no selected pod has a container port named {port!r}",
                                     f"pods: {', '.join(sorted(p.name for p in chosen))}"))
    return out, sum(1 + len(ports) for _, _, ports in where)


def _has_port(p: Pod, name: str) -> bool:
    return any(port.get("name") == name for c in p.containers for port in _d(c).get("ports") or [])


def _provided(manifests: list[Manifest], ns: str) -> dict[str, dict[str, set[str] | None]]:
    """kind -> name -> its keys (None: any key) of what the namespace has."""
    out: dict[str, dict[str, set[str] | None]] = {"Secret": {}, "ConfigMap": {}, "ServiceAccount": {}, "PVC": {}}
    for m in manifests:
        if namespace_of(m) != ns or not m.is_object:
            continue
        spec = _d(m.obj.get("spec"))
        if m.kind == "ConfigMap":
            out["ConfigMap"][m.name] = set(_d(m.obj.get("data"))) | set(_d(m.obj.get("binaryData")))
        elif m.kind == "Secret":
            out["Secret"][m.name] = set(_d(m.obj.get("data"))) | set(_d(m.obj.get("stringData")))
        elif m.kind == "ExternalSecret":
            target = _d(spec.get("target"))
            keys = {str(d.get("secretKey")) for d in spec.get("data") or []}
            template = _d(target.get("template"))
            keys = keys | set(_d(template.get("data"))) if template.get("mergePolicy") == "Merge" or not template else \
                set(_d(template.get("data")))
            out["Secret"][str(target.get("name", m.name))] = None if spec.get("dataFrom") else keys
        elif m.kind == "ServiceAccount":
            out["ServiceAccount"][m.name] = None
        elif m.kind == "StatefulSet":
            for c in spec.get("volumeClaimTemplates") or []:
                claim = str(_d(c.get("metadata")).get("name"))
                out["PVC"][claim] = None
                # The claims the StatefulSet controller creates: <template>-<set>-<ordinal>
                # (a restore Job mounts the stopped Redis's data-redis-0). Scaled to zero with
                # whenScaled: Retain, the set keeps the claim of ordinal 0 it made when it ran
                # (a move's copy state stops the target's Redis so its restore can load it).
                kept = _d(spec.get("persistentVolumeClaimRetentionPolicy")).get("whenScaled") == "Retain"
                for ordinal in range(max(int(spec.get("replicas", 1) or 0), 1 if kept else 0)):
                    out["PVC"][f"{claim}-{m.name}-{ordinal}"] = None
    out["ServiceAccount"].update(dict.fromkeys(BUILTIN_SERVICE_ACCOUNTS))
    return out


def _uses(p: Pod) -> list[tuple[tuple[str | int, ...], str, str, str | None]]:
    """(path under the pod template, kind, name, key) of everything the pod refers to."""
    out: list[tuple[tuple[str | int, ...], str, str, str | None]] = []
    spec = p.spec
    if spec.get("serviceAccountName"):
        out.append((("spec", "serviceAccountName"), "ServiceAccount", str(spec["serviceAccountName"]), None))
    for i, c in enumerate(spec.get("containers") or []):
        for j, e in enumerate(_d(c).get("env") or []):
            ref = _d(_d(e.get("valueFrom")))
            for field, kind in (("secretKeyRef", "Secret"), ("configMapKeyRef", "ConfigMap")):
                if field in ref and not ref[field].get("optional"):
                    out.append((("spec", "containers", i, "env", j), kind, str(ref[field].get("name")), str(ref[field].get("key"))))
        for j, e in enumerate(_d(c).get("envFrom") or []):
            for field, kind in (("secretRef", "Secret"), ("configMapRef", "ConfigMap")):
                if field in e and not e[field].get("optional"):
                    out.append((("spec", "containers", i, "envFrom", j), kind, str(e[field].get("name")), None))
    for i, v in enumerate(spec.get("volumes") or []):
        path = ("spec", "volumes", i)
        if "configMap" in v:
            out += [(path, "ConfigMap", str(v["configMap"].get("name")), item.get("key")) for item in v["configMap"].get("items") or [{}]]
        if "secret" in v:
            out += [(path, "Secret", str(v["secret"].get("secretName")), item.get("key")) for item in v["secret"].get("items") or [{}]]
        if "persistentVolumeClaim" in v:
            out.append((path, "PVC", str(v["persistentVolumeClaim"].get("claimName")), None))
    return out


def _pod_refs(p: Pod, manifests: list[Manifest]) -> tuple[list[Problem], int]:
    have = _provided(manifests, p.namespace)
    out = []
    uses = _uses(p)
    for path, kind, name, key in uses:
        keys = have[kind].get(name, False)
        where = p.path + path
        if keys is False:
            out.append(p.source.problem(where, f"{kind} {name!r} is neither rendered in {p.namespace} nor external",
                                        "render it, or fix the name"))
        elif key is not None and isinstance(keys, set) and key not in keys:
            out.append(p.source.problem(where, f"{kind} {name!r} has no key {key!r} (it has: {', '.join(sorted(keys))})"))
    for i, c in enumerate(p.spec.get("containers") or []):
        for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
            handler = _d(_d(c).get(probe))
            port = _d(handler.get("tcpSocket") or handler.get("httpGet")).get("port")
            if isinstance(port, str) and not any(x.get("name") == port for x in _d(c).get("ports") or []):
                out.append(p.source.problem(p.path + ("spec", "containers", i, probe), f"probe port {port!r} is not a port of the container"))
    return out, len(uses)
