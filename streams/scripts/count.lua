-- count: counts one event into the analytics counters, once. Beside the
-- counters it keeps, per claim, the last counted version, status,
-- submission time and adjuster: the version makes a redelivery a no-op
-- (the read model's guard), the rest is what moving a claim between status
-- counters and timing it needs.
--
-- KEYS[1] stats hash, KEYS[2] per-claim state hash
-- ARGV[1] claim id, ARGV[2] version, ARGV[3] new status ("" unchanged),
--         ARGV[4] occurred_at in ms, ARGV[5] adjuster ("" unless assigned),
--         ARGV[6] "1" if this decides the claim, ARGV[7] "1" if it pays it,
--         ARGV[8] "1" if it closes it (rejected, paid),
--         ARGV[9..] triples of kind (i|f), field, increment
-- Reply: {'ok', previous status} | {'skip'|'gap', counted version}
local ver, status, sub, adj = 0, '', '', ''
local st = redis.call('HGET', KEYS[2], ARGV[1])
if st then
  local a, b, c, d = string.match(st, '^(%d+)|([^|]*)|([^|]*)|(.*)$')
  ver, status, sub, adj = tonumber(a), b, c, d
end
local v = tonumber(ARGV[2])
if v <= ver then return {'skip', tostring(ver)} end
if v > ver + 1 then return {'gap', tostring(ver)} end
local prev = status
local at = tonumber(ARGV[4])
if ARGV[3] ~= '' and ARGV[3] ~= status then
  if status ~= '' then redis.call('HINCRBY', KEYS[1], 'status:' .. status, -1) end
  redis.call('HINCRBY', KEYS[1], 'status:' .. ARGV[3], 1)
  status = ARGV[3]
end
if v == 1 then sub = ARGV[4] end
if ARGV[5] ~= '' and ARGV[5] ~= adj then
  if adj ~= '' then redis.call('HINCRBY', KEYS[1], 'adjuster:' .. adj .. ':open', -1) end
  redis.call('HINCRBY', KEYS[1], 'adjuster:' .. ARGV[5] .. ':assigned', 1)
  redis.call('HINCRBY', KEYS[1], 'adjuster:' .. ARGV[5] .. ':open', 1)
  adj = ARGV[5]
end
if sub ~= '' and ARGV[6] == '1' then
  redis.call('HINCRBY', KEYS[1], 'processing_ms:sum', at - tonumber(sub))
  redis.call('HINCRBY', KEYS[1], 'processing:count', 1)
end
if sub ~= '' and ARGV[7] == '1' then
  redis.call('HINCRBY', KEYS[1], 'resolution_ms:sum', at - tonumber(sub))
  redis.call('HINCRBY', KEYS[1], 'resolution:count', 1)
end
if adj ~= '' and ARGV[8] == '1' then
  redis.call('HINCRBY', KEYS[1], 'adjuster:' .. adj .. ':open', -1)
  redis.call('HINCRBY', KEYS[1], 'adjuster:' .. adj .. ':resolved', 1)
end
for i = 9, #ARGV, 3 do
  if ARGV[i] == 'f' then
    redis.call('HINCRBYFLOAT', KEYS[1], ARGV[i + 1], ARGV[i + 2])
  else
    redis.call('HINCRBY', KEYS[1], ARGV[i + 1], ARGV[i + 2])
  end
end
redis.call('HSET', KEYS[2], ARGV[1], v .. '|' .. status .. '|' .. sub .. '|' .. adj)
return {'ok', prev}
