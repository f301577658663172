-- retry: hands a dead letter back to the group that gave up on it, and to
-- that group only. The event's fields go to the group's retry stream
-- (claims:retry:<group>) with retry_of naming its entry in the event
-- stream, which is left as it is: the log holds each event once. The group
-- is created on the retry stream if it is missing, and the dead letter is
-- deleted: atomically, and only if the letter is still there, so two
-- retries racing hand it back once. Only an event the store wrote goes
-- back: the claim's aggregate must record that entry for its version.
--
-- keys: [1] dead-letter stream, [2] the group's retry stream, [3] the
--       claim's aggregate
-- args: [1] version, [2] the event stream's entry id, [3] the dead letter
--       id, [4] the group, [5..] the event's field/value pairs, retry_of
-- Reply: {'ok', retry entry id} | {'gone', ''} (retried meanwhile) |
--        {'foreign', the entry the store wrote for that version, or ''}
ops.retry = function(k, from, to)
  local A = from - 1
  if #redis.call('XRANGE', k[1], ARGV[A + 3], ARGV[A + 3]) == 0 then return {'gone', ''} end
  local v, n, recorded = tonumber(ARGV[A + 1]), 0, ''
  for id in string.gmatch(redis.call('HGET', k[3], 'entries') or '', '[^,]+') do
    n = n + 1
    if n == v then recorded = id break end
  end
  if recorded ~= ARGV[A + 2] then return {'foreign', recorded} end
  local id = redis.call('XADD', k[2], '*', unpack(ARGV, A + 5, to))
  -- From 0: what the group has not read yet includes this entry. An
  -- existing group (BUSYGROUP) reads it as new anyway.
  redis.pcall('XGROUP', 'CREATE', k[2], ARGV[A + 4], '0')
  redis.call('XDEL', k[1], ARGV[A + 3])
  return {'ok', id}
end
