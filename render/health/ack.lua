-- ArgoCD health of an AWS Controllers for Kubernetes (ACK) resource, e.g. an S3 Bucket or
-- an IAM Role. ACK reports ACK.ResourceSynced (the AWS resource matches the spec),
-- ACK.Terminal (an error retrying cannot fix) and ACK.Recoverable (an error it retries).
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

local terminal = found["ACK.Terminal"]
if terminal ~= nil and terminal.status == "True" then
  hs.status = "Degraded"
  hs.message = text(terminal, "Terminal error")
  return hs
end
local recoverable = found["ACK.Recoverable"]
if recoverable ~= nil and recoverable.status == "True" then
  hs.status = "Degraded"
  hs.message = text(recoverable, "Error (ACK retries)")
  return hs
end
local synced = found["ACK.ResourceSynced"]
if synced ~= nil and synced.status == "True" then
  hs.status = "Healthy"
  hs.message = text(synced, "In sync with AWS")
  return hs
end
if synced ~= nil then
  hs.message = text(synced, "Not yet in sync with AWS")
end
return hs
