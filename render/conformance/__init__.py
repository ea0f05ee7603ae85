"""Deep validation: rendered objects checked by the real engines' own rules.

Used by `dataplane validate --deep`, never by rendering: the heavy packages
(kubernetes-validate, ray, celery, yamllint) are imported inside these modules only.

- `manifests`: read every YAML document under rendered/ and argocd/
- `k8s`: built-in kinds, Kubernetes' published OpenAPI schemas (strict)
- `openapi`, `crds`: custom resources, the openAPIV3Schema of their CRDs
- `serve`: each RayService's serveConfigV2, Ray Serve's own schema classes
- `celeryconf`: each tenant's Celery configuration, loaded by Celery itself
- `lint`: yamllint with the project's strict config
- `deep`: runs them all and dispatches each object by apiVersion/kind
"""
