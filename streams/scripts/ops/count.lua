-- count: counts one event into the analytics counters, once. Beside the
-- counters it keeps, per claim, the last counted version, status,
-- submission time and adjuster: the version makes a redelivery a no-op
-- (the read model's guard), the rest is what moving a claim between status
-- counters and timing it needs.
--
-- keys: [1] stats hash, [2] per-claim state hash
-- args: [1] claim id, [2] version, [3] new status ("" unchanged),
--       [4] occurred_at in ms, [5] adjuster ("" unless assigned),
--       [6] "1" if this decides the claim, [7] "1" if it pays it,
--       [8] "1" if it closes it (rejected, paid),
--       [9..] triples of kind (i|f), field, increment
-- Reply: {'ok', previous status} | {'skip'|'gap', counted version}
ops.count = function(k, from, to)
  local A = from - 1
  local claim = ARGV[A + 1]
  local ver, status, sub, adj = 0, '', '', ''
  local st = hget(k[2], claim)
  if st then
    local a, b, c, d = string.match(st, '^(%d+)|([^|]*)|([^|]*)|(.*)$')
    ver, status, sub, adj = tonumber(a), b, c, d
  end
  local v = tonumber(ARGV[A + 2])
  if v <= ver then return {'skip', tostring(ver)} end
  if v > ver + 1 then return {'gap', tostring(ver)} end
  local prev = status
  local at = tonumber(ARGV[A + 4])
  local new, assigned = ARGV[A + 3], ARGV[A + 5]
  local function incr(field, by) hincr(k[1], field, by, false) end
  if new ~= '' and new ~= status then
    if status ~= '' then incr('status:' .. status, -1) end
    incr('status:' .. new, 1)
    status = new
  end
  if v == 1 then sub = ARGV[A + 4] end
  if assigned ~= '' and assigned ~= adj then
    if adj ~= '' then incr('adjuster:' .. adj .. ':open', -1) end
    incr('adjuster:' .. assigned .. ':assigned', 1)
    incr('adjuster:' .. assigned .. ':open', 1)
    adj = assigned
  end
  if sub ~= '' and ARGV[A + 6] == '1' then
    incr('processing_ms:sum', at - tonumber(sub))
    incr('processing:count', 1)
  end
  if sub ~= '' and ARGV[A + 7] == '1' then
    incr('resolution_ms:sum', at - tonumber(sub))
    incr('resolution:count', 1)
  end
  if adj ~= '' and ARGV[A + 8] == '1' then
    incr('adjuster:' .. adj .. ':open', -1)
    incr('adjuster:' .. adj .. ':resolved', 1)
  end
  for i = A + 9, to, 3 do
    hincr(k[1], ARGV[i + 1], ARGV[i + 2], ARGV[i] == 'f')
  end
  hset(k[2], claim, v .. '|' .. status .. '|' .. sub .. '|' .. adj)
  return {'ok', prev}
end
