-- append: the only way a command writes a claim's event. "Check the
-- expected version, XADD, bump the version" is one atomic step (see
-- append_event in lib.lua), and a retried append returns the first entry
-- id instead of writing the event twice.
--
-- KEYS[1] events stream, KEYS[2] the claim's aggregate hash, KEYS[3] the
--         partition's event-id index (only for caller-chosen event ids;
--         otherwise not touched)
-- ARGV[1] claim id, ARGV[2] expected version, ARGV[3] event_id,
--         ARGV[4] "1" to record the event_id in the index, ARGV[5] the
--         entry's time ('': Redis's clock; see xadd in lib.lua),
--         ARGV[6] n, ARGV[7..6+n] the claim's state after the event
--         (field/value pairs of the aggregate), ARGV[7+n..] the event's
--         field/value pairs
-- Reply: {'ok', entry id} | {'duplicate', entry id} | {'conflict', version}
local n = tonumber(ARGV[6])
local index = ''
if ARGV[4] == '1' then index = KEYS[3] end
local status, detail = append_event(KEYS[1], KEYS[2], index, ARGV[1], ARGV[2], ARGV[3], ARGV[5], 7, 6 + n, 7 + n, #ARGV)
return {status, detail}
