-- notify: appends a notification unless this event was notified before;
-- the marker and the XADD are one atomic step, so a redelivery (or a crash
-- between the two) can neither lose nor double an alert.
--
-- KEYS[1] notifications stream, KEYS[2] the event's marker key
-- ARGV[1] marker TTL in seconds, ARGV[2..] the notification's field/value pairs
-- Reply: {'ok'|'duplicate', notification id}
local seen = redis.call('GET', KEYS[2])
if seen then return {'duplicate', seen} end
local id = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 2))
redis.call('SET', KEYS[2], id, 'EX', ARGV[1])
return {'ok', id}
