-- deadletter: acks the entry and, only if it was still pending in the
-- group, appends it to the DLQ: one atomic step, so an entry is never both
-- pending and dead, and two consumers racing to give up on the same entry
-- (one took it over from the other) write one dead letter, not two.
--
-- KEYS[1] source stream, KEYS[2] dead-letter stream
-- ARGV[1] group, ARGV[2] entry id, ARGV[3..] the dead letter's field/value pairs
-- Reply: {'ok', dead letter id} | {'gone', ''} (no longer pending)
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return {'gone', ''} end
return {'ok', redis.call('XADD', KEYS[2], '*', unpack(ARGV, 3))}
