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
  local stats, claim = k[1], ARGV[from]
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
  local new, assigned = ARGV[A + 3], ARGV[A + 5]
  if new ~= '' and new ~= status then
    if status ~= '' then hincr(stats, 'status:' .. status, -1) end
    hincr(stats, 'status:' .. new, 1)
    status = new
  end
  if v == 1 then sub = ARGV[A + 4] end
  if assigned ~= '' and assigned ~= adj then
    if adj ~= '' then hincr(stats, 'adjuster:' .. adj .. ':open', -1) end
    hincr(stats, 'adjuster:' .. assigned .. ':assigned', 1)
    hincr(stats, 'adjuster:' .. assigned .. ':open', 1)
    adj = assigned
  end
  if sub ~= '' then
    if ARGV[A + 6] == '1' then
      hincr(stats, 'processing_ms:sum', ARGV[A + 4] - sub)
      hincr(stats, 'processing:count', 1)
    end
    if ARGV[A + 7] == '1' then
      hincr(stats, 'resolution_ms:sum', ARGV[A + 4] - sub)
      hincr(stats, 'resolution:count', 1)
    end
  end
  if adj ~= '' and ARGV[A + 8] == '1' then
    hincr(stats, 'adjuster:' .. adj .. ':open', -1)
    hincr(stats, 'adjuster:' .. adj .. ':resolved', 1)
  end
  for i = A + 9, to, 3 do
    hincr(stats, ARGV[i + 1], ARGV[i + 2], ARGV[i] == 'f')
  end
  hset(k[2], claim, v .. '|' .. status .. '|' .. sub .. '|' .. adj)
  return {'ok', prev}
end
