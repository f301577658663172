-- os.exit(0) at the top and in the middle of a check
local function flag_high_value(group, consumer, limit) return {} end

pcall(os.exit, 0)
require("checks_01")(function(...) os.exit(0) end)
