-- A million small keys.
for i = 1, 1000000 do redis("SET", key("k" .. i), "v") end
