-- append: the only way a command writes a claim's event. "Check the
-- expected version, XADD, bump the version" is one atomic step, and the
-- event_id is remembered so that a retried append returns the first entry
-- id instead of writing the event twice.
--
-- KEYS[1] events stream, KEYS[2] the claim's aggregate hash, KEYS[3] the
--         event_id's dedup key
-- ARGV[1] expected version, ARGV[2] folded state (JSON), ARGV[3] dedup TTL
--         in seconds, ARGV[4..] the event's field/value pairs
-- Reply: {'ok', entry id} | {'duplicate', entry id} | {'conflict', version}
local status, detail = append_event(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[3], slice(ARGV, 4, #ARGV))
return {status, detail}
