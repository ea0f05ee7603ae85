"""dataplane: render isolated single-tenant data planes from one Git repository."""

# Part of every cache key and of every rendered object's annotations: bump it when a
# change to the engine changes what it renders.
ENGINE_VERSION = "0.1.0"
