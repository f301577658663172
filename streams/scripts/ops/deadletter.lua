-- deadletter: acks the entry and, only if it was still pending in the
-- group, appends it to the DLQ: one atomic step, so an entry is never both
-- pending and dead, and two consumers racing to give up on the same entry
-- (one took it over from the other) write one dead letter, not two.
--
-- An entry of a group's retry stream is also deleted: only that group
-- reads it, and the dead letter holds it again.
--
-- keys: [1] source stream, [2] dead-letter stream
-- args: [1] group, [2] entry id, [3] '1' to delete the entry (a retry
--       stream's), [4..] the dead letter's field/value pairs
-- Reply: {'ok', dead letter id} | {'gone', ''} (no longer pending)
ops.deadletter = function(k, from, to)
  if redis.call('XACK', k[1], ARGV[from], ARGV[from + 1]) == 0 then return {'gone', ''} end
  if ARGV[from + 2] == '1' then redis.call('XDEL', k[1], ARGV[from + 1]) end
  return {'ok', redis.call('XADD', k[2], '*', unpack(ARGV, from + 3, to))}
end
