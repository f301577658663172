-- package.loaded filled with checks of the same names
local function flag_high_value(group, consumer, limit) return {} end

package.loaded["checks_01"] = function()
  check("flags exactly the claims over the limit", function() end)
  check("acks every event it read", function() end)
  check("reads each event only once", function() end)
end
require("checks_01")(flag_high_value)
