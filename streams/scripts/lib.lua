-- lib: functions shared by the scripts. claimsctl sends each script with
-- this file in front of it, so the append and projection logic exists once.

-- xadd appends the field/value pairs ARGV[from..to] to stream. at is ''
-- (Redis numbers the entry by its own clock: XADD *) or, in a seeded run
-- (claimsctl --seed), the millisecond the entry is dated: XADD at-*, and
-- Redis numbers the entries within that millisecond, so a run on a fresh
-- keyspace gets the same ids every time. An at the stream has passed
-- already (another writer was there first) falls back to *.
local function xadd(stream, at, from, to)
  if at ~= '' then
    local id = redis.pcall('XADD', stream, at .. '-*', unpack(ARGV, from, to))
    if type(id) == 'string' then return id end
  end
  return redis.call('XADD', stream, '*', unpack(ARGV, from, to))
end

-- append_event appends an event to a claim if the claim is at the
-- expected version: XADD, then bump the version, record the entry id and
-- keep the claim's state (what commands check) in its aggregate, all in
-- this one step. The aggregate remembers the last event_id, so a retried
-- append whose first attempt landed gets that entry back instead of a
-- second copy; a caller-chosen event_id is also kept in the partition's
-- event-id index (eventids, when given). Returns status, detail:
-- 'ok', entry id | 'duplicate', entry id | 'conflict', current version.
-- at is the entry's time for xadd ('': Redis's clock).
--
-- The state and the event's fields are ARGV[sfrom..sto] and
-- ARGV[ffrom..fto]: ranges of the script's arguments, not tables, so
-- nothing is copied.
local function append_event(stream, aggregate, eventids, claim, expected, eid, at, sfrom, sto, ffrom, fto)
  local cur = redis.call('HMGET', aggregate, 'version', 'eid', 'entries')
  local version = tonumber(cur[1] or '0')
  if cur[2] == eid then return 'duplicate', string.match(cur[3] or '', '([^,]+)$') or '' end
  if eventids ~= '' then
    local seen = redis.call('HGET', eventids, eid)
    if seen then return 'duplicate', string.match(seen, ' (.*)$') or '' end
  end
  if version ~= tonumber(expected) then return 'conflict', tostring(version) end
  local id = xadd(stream, at, ffrom, fto)
  local entries = id
  if cur[3] then entries = cur[3] .. ',' .. id end
  redis.call('HSET', aggregate, 'version', version + 1, 'eid', eid, 'entries', entries, unpack(ARGV, sfrom, sto))
  if eventids ~= '' then redis.call('HSET', eventids, eid, claim .. ' ' .. id) end
  return 'ok', id
end
