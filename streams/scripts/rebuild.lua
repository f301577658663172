-- rebuild: writes one claim's aggregate, folded from its events, unless a
-- command appended to the claim after the fold read the stream: a newer
-- version in the hash is left alone, so a rebuild racing live writers
-- never rolls a claim back. An unreadable version counts as 0 and is
-- repaired.
--
-- KEYS[1] the claim's aggregate hash
-- ARGV[1] version, ARGV[2] the last event's event_id, ARGV[3] entry ids
--         (comma-separated), ARGV[4..] the claim's state (field/value pairs)
-- Reply: {'ok', ''} | {'newer', stored version}
local cur = tonumber(redis.call('HGET', KEYS[1], 'version') or '0') or 0
if cur > tonumber(ARGV[1]) then return {'newer', tostring(cur)} end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'version', ARGV[1], 'eid', ARGV[2], 'entries', ARGV[3], unpack(ARGV, 4))
return {'ok', ''}
