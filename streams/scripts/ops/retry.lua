-- retry: gives a dead letter of an event the store wrote another chance.
-- Its original fields are appended to its stream as a new entry, the
-- claim's aggregate records the new entry id for that version (the old
-- one is kept as superseded, so a group that reads the old entry later
-- skips it instead of counting the event twice), and the dead letters of
-- every group for that entry are deleted: atomically, and only if the
-- first dead letter is still there, so a retry racing another retry
-- appends the entry once.
--
-- keys: [1] dead-letter stream, [2] source stream, [3] the claim's
--       aggregate
-- args: [1] version, [2] the original entry id, [3] n, [4..3+n] dead
--       letter ids (the first one decides), [4+n..] the original
--       field/value pairs
-- Reply: {'ok', new entry id} | {'gone', ''} (retried meanwhile) |
--        {'foreign', the entry the store wrote for that version, or ''}
ops.retry = function(k, from, to)
  local A = from - 1
  if #redis.call('XRANGE', k[1], ARGV[A + 4], ARGV[A + 4]) == 0 then return {'gone', ''} end
  local agg = redis.call('HMGET', k[3], 'entries', 'retried')
  local entries = {}
  for id in string.gmatch(agg[1] or '', '[^,]+') do entries[#entries + 1] = id end
  local v = tonumber(ARGV[A + 1])
  if entries[v] ~= ARGV[A + 2] then return {'foreign', entries[v] or ''} end
  local n = tonumber(ARGV[A + 3])
  local id = redis.call('XADD', k[2], '*', unpack(ARGV, A + 4 + n, to))
  entries[v] = id
  local retried = ARGV[A + 2] .. '=' .. id
  if agg[2] then retried = agg[2] .. ',' .. retried end
  redis.call('HSET', k[3], 'entries', table.concat(entries, ','), 'retried', retried)
  redis.call('XDEL', k[1], unpack(ARGV, A + 4, A + 3 + n))
  return {'ok', id}
end
