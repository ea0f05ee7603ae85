"""`dataplane cluster`: the committed output on a real local Kubernetes control plane.

components (build the pinned Go modules once) -> control_plane (kwokctl, 127.0.0.1) ->
bootstrap (CRDs, nodes, identities, KubeRay operator) -> apply (ArgoCD's order, health
per wave) -> verify (pods admitted, placed, within quota, Ready). Stand-in controllers
(standins.py) replace the cloud controllers only.
"""
