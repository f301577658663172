-- deadletter: acks the entry and, only if it was still pending in the
-- group, appends it to the DLQ: one atomic step, so an entry is never both
-- pending and dead, and two consumers racing to give up on the same entry
-- (one took it over from the other) write one dead letter, not two.
--
-- keys: [1] source stream, [2] dead-letter stream
-- args: [1] group, [2] entry id, [3..] the dead letter's field/value pairs
-- Reply: {'ok', dead letter id} | {'gone', ''} (no longer pending)
ops.deadletter = function(k, from, to)
  if redis.call('XACK', k[1], ARGV[from], ARGV[from + 1]) == 0 then return {'gone', ''} end
  return {'ok', redis.call('XADD', k[2], '*', unpack(ARGV, from + 2, to))}
end
