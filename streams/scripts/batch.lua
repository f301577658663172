-- batch: carries out a batch of operations (the files in ops/, each
-- sent in front of this one, with lib.lua and batchlib.lua) in one atomic
-- step, in order, and answers each one's reply. A worker's whole batch is
-- one call; the writes the operations deferred are made at the end.
--
-- KEYS: every key the operations touch, once each
-- ARGV[1] n, then per operation: its name, the number q of its keys and q
--         indexes into KEYS, the number r of its arguments and those r
-- Reply: n replies, each {status, detail}
local replies = {}
local at = 2
for i = 1, tonumber(ARGV[1]) do
  local op = ops[ARGV[at]]
  local q = tonumber(ARGV[at + 1])
  local k = {}
  for j = 1, q do k[j] = KEYS[tonumber(ARGV[at + 1 + j])] end
  local r = tonumber(ARGV[at + 2 + q])
  local from = at + 3 + q
  replies[i] = op(k, from, from + r - 1)
  at = from + r
end
flush()
return replies
