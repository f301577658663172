-- expect that always passes
local function flag_high_value(group, consumer, limit) return {} end

expect = function() return true end
require("checks_01")(flag_high_value)
