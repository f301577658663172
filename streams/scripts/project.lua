-- project: applies one event to a claim's read model (claim:<id>) if and
-- only if it is the next one: the version check and the writes are one
-- atomic step, so a redelivered event is skipped and two consumers of one
-- group cannot apply a claim's events out of order. The adjuster workload
-- moves in the same step, hence exactly once per assignment.
--
-- KEYS[1] read model hash, KEYS[2] adjuster load sorted set
-- ARGV[1] version, ARGV[2] statuses the event may follow ("|a|b|"; "" is
--         a new claim), ARGV[3] op (assign | final | document | ""),
--         ARGV[4] adjuster, ARGV[5..] field/value pairs
-- Reply: {'ok'|'skip'|'gap', stored version} | {'invalid', stored status}
local status, detail = project_event(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], ARGV[4], 5, #ARGV)
return {status, detail}
