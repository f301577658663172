-- Raw redis(): 10 MB appends to keys of its own, 200 of them (2 GB).
local chunk = string.rep("x", 10 * 1024 * 1024)
for k = 1, 200 do redis("APPEND", key("big" .. k), chunk) end
