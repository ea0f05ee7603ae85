-- ArgoCD health of an AWS Controllers for Kubernetes (ACK) resource, e.g. an S3 Bucket or
-- an IAM Role. ACK reports ACK.ResourceSynced (the AWS resource matches the spec),
-- ACK.Terminal (an error retrying cannot fix) and ACK.Recoverable (an error it retries).
-- As ArgoCD's own check (resource_customizations/_.services.k8s.aws/_/health.lua in
-- argoproj/argo-cd): only Terminal is Degraded. A Recoverable error (throttling, a
-- transient AccessDenied while IAM propagates) is Progressing: Degraded would fail the
-- sync wave and halt a rollout for an error ACK is already retrying.
local hs = {status = "Progressing", message = "Waiting for the ACK controller"}
if obj.status == nil or obj.status.conditions == nil then
  return hs
end

local found = {}
for _, c in ipairs(obj.status.conditions) do
  found[c.type] = c
end

local function text(c, fallback)
  if c.message ~= nil and c.message ~= "" then
    return fallback .. ": " .. c.message
  end
  return fallback
end

-- The first of these conditions that is True decides, in this order.
local verdicts = {
  {"ACK.Terminal", "Degraded", "Terminal error"},
  {"ACK.Recoverable", "Progressing", "Error (ACK retries)"},
  {"ACK.ResourceSynced", "Healthy", "In sync with AWS"},
}
for _, v in ipairs(verdicts) do
  local c = found[v[1]]
  if c ~= nil and c.status == "True" then
    hs.status = v[2]
    hs.message = text(c, v[3])
    return hs
  end
end
local synced = found["ACK.ResourceSynced"]
if synced ~= nil then
  hs.message = text(synced, "Not yet in sync with AWS")
end
return hs
