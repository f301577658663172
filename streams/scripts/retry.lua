-- retry: re-appends a dead letter's original fields to its source stream
-- and deletes it, and the other groups' dead letters of the same source
-- entry, from the DLQ: atomically, and only if the first one is still
-- there, so a retry racing another retry appends the entry once.
--
-- KEYS[1] dead-letter stream, KEYS[2] source stream
-- ARGV[1] n, ARGV[2..n+1] dead letter ids (the first one decides),
-- ARGV[n+2..] the original field/value pairs
-- Reply: {'ok', new entry id} | {'gone', ''} (retried meanwhile)
if #redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2]) == 0 then return {'gone', ''} end
local n = tonumber(ARGV[1])
local id = redis.call('XADD', KEYS[2], '*', unpack(ARGV, n + 2))
redis.call('XDEL', KEYS[1], unpack(ARGV, 2, n + 1))
return {'ok', id}
