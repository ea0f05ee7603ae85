"""ArgoCD outputs: each tenant's AppProjects and Applications (tenant_apps), the platform's
own projects and root objects (platform_apps), and the Lua health checks ArgoCD lacks for
KubeRay and ACK kinds (health, scripts in lua/).
"""
