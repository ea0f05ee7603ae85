"""Progressive platform rollouts: the plan (registry/rollout.yaml), the state of the
rollout in progress (rollout/state.yaml), the ArgoCD health gate and the commands."""
