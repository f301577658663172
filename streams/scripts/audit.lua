-- audit: appends one line to a claim's trail unless the trail holds this
-- event already. A claim's trail is short (a line per event of the claim),
-- so scanning it is cheaper than a marker key per event, and the trail
-- stays the single record an auditor reads.
--
-- KEYS[1] the claim's trail stream
-- ARGV[1] event_id, ARGV[2..] the line's field/value pairs
-- Reply: {'ok'|'duplicate', trail entry id}
for _, entry in ipairs(redis.call('XRANGE', KEYS[1], '-', '+')) do
  local f = entry[2]
  for i = 1, #f, 2 do
    if f[i] == 'event_id' and f[i + 1] == ARGV[1] then return {'duplicate', entry[1]} end
  end
end
return {'ok', redis.call('XADD', KEYS[1], '*', unpack(ARGV, 2))}
