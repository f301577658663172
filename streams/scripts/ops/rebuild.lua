-- rebuild: writes one claim's aggregate, folded from its events, unless a
-- command appended to the claim after the fold read the stream: a newer
-- version in the hash is left alone, so a rebuild racing live writers
-- never rolls a claim back. An unreadable version counts as 0 and is
-- repaired.
--
-- keys: [1] the claim's aggregate hash
-- args: [1] version, [2] the last event's event_id, [3] entry ids
--       (comma-separated), [4..] the claim's state (field/value pairs)
-- Reply: {'ok', ''} | {'newer', stored version}
ops.rebuild = function(k, from, to)
  local cur = tonumber(redis.call('HGET', k[1], 'version') or '0') or 0
  if cur > tonumber(ARGV[from]) then return {'newer', tostring(cur)} end
  redis.call('DEL', k[1])
  redis.call('HSET', k[1], 'version', ARGV[from], 'eid', ARGV[from + 1], 'entries', ARGV[from + 2], unpack(ARGV, from + 3, to))
  return {'ok', ''}
end
