"""The pull-request gate of `dataplane validate --against REF`: changes that would strand data.

- immutable: rendered objects of the base revision against the pull request's: fields the
  API server (or the cloud controller) refuses to change, and data-holding objects removed;
- placement: a tenant's cluster, region and database mode, which move only through the
  migration flow (from the shared platform) or the move flow's states (render/move/).
"""
