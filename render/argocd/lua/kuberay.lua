-- Helpers of the KubeRay health scripts. render/argocd/health.py writes this text before
-- each of them, since an argocd-cm health script is one self-contained chunk.

-- The status condition of this type, or nil.
local function condition(kind)
  if obj.status == nil or obj.status.conditions == nil then
    return nil
  end
  for _, c in ipairs(obj.status.conditions) do
    if c.type == kind then
      return c
    end
  end
  return nil
end

-- `fallback`, followed by the condition's message (or reason) when it has one.
local function describe(c, fallback)
  local text = ""
  if c ~= nil then
    text = c.message or c.reason or ""
  end
  if text == "" then
    return fallback
  end
  return fallback .. ": " .. text
end

-- True while KubeRay has not acted on the latest spec yet: its status describes an older one.
local function spec_unobserved()
  local generation = obj.metadata and obj.metadata.generation
  local observed = obj.status and obj.status.observedGeneration
  return generation ~= nil and observed ~= nil and observed < generation
end
