-- its own checks_01.lua beside it (written by the test)
local function flag_high_value(group, consumer, limit) return {} end

require("checks_01")(flag_high_value)
