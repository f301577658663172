-- retry: gives a dead letter of an event the store wrote another chance.
-- Its original fields are appended to its stream as a new entry, the
-- claim's aggregate records the new entry id for that version (the old
-- one is kept as superseded, so a group that reads the old entry later
-- skips it instead of counting the event twice), and the dead letters of
-- every group for that entry are deleted: atomically, and only if the
-- first dead letter is still there, so a retry racing another retry
-- appends the entry once.
--
-- KEYS[1] dead-letter stream, KEYS[2] source stream, KEYS[3] the claim's
--         aggregate
-- ARGV[1] version, ARGV[2] the original entry id, ARGV[3] n,
--         ARGV[4..3+n] dead letter ids (the first one decides),
--         ARGV[4+n..] the original field/value pairs
-- Reply: {'ok', new entry id} | {'gone', ''} (retried meanwhile) |
--        {'foreign', the entry the store wrote for that version, or ''}
if #redis.call('XRANGE', KEYS[1], ARGV[4], ARGV[4]) == 0 then return {'gone', ''} end
local agg = redis.call('HMGET', KEYS[3], 'entries', 'retried')
local entries = {}
for id in string.gmatch(agg[1] or '', '[^,]+') do entries[#entries + 1] = id end
local v = tonumber(ARGV[1])
if entries[v] ~= ARGV[2] then return {'foreign', entries[v] or ''} end
local n = tonumber(ARGV[3])
local id = redis.call('XADD', KEYS[2], '*', unpack(ARGV, 4 + n))
entries[v] = id
local retried = ARGV[2] .. '=' .. id
if agg[2] then retried = agg[2] .. ',' .. retried end
redis.call('HSET', KEYS[3], 'entries', table.concat(entries, ','), 'retried', retried)
redis.call('XDEL', KEYS[1], unpack(ARGV, 4, 3 + n))
return {'ok', id}
