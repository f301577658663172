-- declares the checks from inside its function
local function flag_high_value(group, consumer, limit) return {} end

require("checks_01")(function()
  check("flags exactly the claims over the limit", function() end)
  check("acks every event it read", function() end)
  check("reads each event only once", function() end)
  return {}
end)
