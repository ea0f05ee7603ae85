-- ArgoCD health of a KubeRay RayCluster (ray.io/v1), e.g. the child cluster of a RayService.
-- KubeRay >= 1.2 sets conditions RayClusterProvisioned (all pods ready once; never reset),
-- HeadPodReady, ReplicaFailure, RayClusterSuspending and RayClusterSuspended; older
-- releases only set status.state ("ready", "failed", "suspended").
local hs = {status = "Progressing", message = "Waiting for KubeRay to report the RayCluster status"}
if obj.status == nil then
  return hs
end
local st = obj.status

local function is_true(kind)
  local c = condition(kind)
  return c ~= nil and c.status == "True"
end

if spec_unobserved() then
  hs.message = "KubeRay has not yet observed the latest spec"
  return hs
end

if st.state == "failed" then
  hs.status = "Degraded"
  hs.message = "RayCluster failed: " .. (st.reason or "")
  return hs
end
if is_true("ReplicaFailure") then
  hs.status = "Degraded"
  hs.message = describe(condition("ReplicaFailure"), "Pods cannot be created or deleted")
  return hs
end
if is_true("RayClusterSuspended") or st.state == "suspended" then
  hs.status = "Suspended"
  hs.message = "RayCluster is suspended"
  return hs
end
if is_true("RayClusterSuspending") then
  hs.message = "RayCluster is suspending"
  return hs
end

local provisioned = condition("RayClusterProvisioned")
local head = condition("HeadPodReady")
if provisioned ~= nil or head ~= nil then
  if head ~= nil and head.status ~= "True" then
    if provisioned ~= nil and provisioned.status == "True" then
      -- Provisioned once, so a head that is not ready now is a failure, not a start-up.
      hs.status = "Degraded"
      hs.message = describe(condition("HeadPodReady"), "Head pod is not ready")
      return hs
    end
    hs.message = describe(condition("HeadPodReady"), "Waiting for the head pod")
    return hs
  end
  if provisioned == nil or provisioned.status ~= "True" then
    hs.message = describe(condition("RayClusterProvisioned"), "Waiting for all Ray pods to be ready")
    return hs
  end
  hs.status = "Healthy"
  hs.message = "Head pod ready; " .. tostring(st.readyWorkerReplicas or 0) .. " worker(s) ready"
  return hs
end

if st.state == "ready" then
  hs.status = "Healthy"
  hs.message = "RayCluster is ready"
end
return hs
