-- ArgoCD health of a KubeRay RayService (ray.io/v1).
-- KubeRay >= 1.3 reports conditions Ready, UpgradeInProgress and (with incremental
-- upgrades) RollbackInProgress; older releases only set status.serviceStatus. Serve
-- application statuses come from the active and the pending RayCluster.
local hs = {status = "Progressing", message = "Waiting for KubeRay to report the RayService status"}
if obj.status == nil then
  return hs
end
local st = obj.status

-- A failed or unhealthy Serve application, active or pending, makes the service Degraded.
local function failed_app(service, which)
  if service == nil or service.applicationStatuses == nil then
    return nil
  end
  for name, app in pairs(service.applicationStatuses) do
    if app.status == "DEPLOY_FAILED" or app.status == "UNHEALTHY" then
      local text = which .. " Serve application " .. name .. " is " .. app.status
      if app.message ~= nil and app.message ~= "" then
        text = text .. ": " .. app.message
      end
      return text
    end
  end
  return nil
end

local function deploying_app(service)
  if service == nil or service.applicationStatuses == nil then
    return nil
  end
  for name, app in pairs(service.applicationStatuses) do
    if app.status == "DEPLOYING" or app.status == "NOT_STARTED" then
      return "Serve application " .. name .. " is " .. app.status
    end
  end
  return nil
end

if spec_unobserved() then
  hs.message = "KubeRay has not yet observed the latest spec"
  return hs
end

local failure = failed_app(st.activeServiceStatus, "active") or failed_app(st.pendingServiceStatus, "pending")
if failure ~= nil then
  hs.status = "Degraded"
  hs.message = failure
  return hs
end

local rollback = condition("RollbackInProgress")
if rollback ~= nil and rollback.status == "True" then
  hs.message = describe(rollback, "Rolling back to the previous RayCluster")
  return hs
end
local upgrade = condition("UpgradeInProgress")
if upgrade ~= nil and upgrade.status == "True" then
  hs.message = describe(upgrade, "Zero-downtime upgrade in progress")
  return hs
end

local ready = condition("Ready")
if ready ~= nil then
  if ready.status == "True" then
    local deploying = deploying_app(st.activeServiceStatus)
    if deploying ~= nil then
      hs.message = deploying
      return hs
    end
    hs.status = "Healthy"
    hs.message = describe(ready, "Serving")
    return hs
  end
  if ready.reason == "InitializingTimeout" or ready.reason == "ZeroServeEndpoints" then
    hs.status = "Degraded"
    hs.message = describe(ready, "Not serving")
    return hs
  end
  hs.message = describe(ready, "Not ready yet")
  return hs
end

-- KubeRay releases without conditions.
local service_status = st.serviceStatus or ""
if service_status == "Running" then
  hs.status = "Healthy"
  hs.message = "Running"
elseif string.sub(service_status, 1, 6) == "Failed" then
  hs.status = "Degraded"
  hs.message = service_status
elseif service_status ~= "" then
  hs.message = service_status
end
return hs
