-- lib: functions shared by the scripts. claimsctl sends each script with
-- this file in front of it, so the append and projection logic exists once.

-- append_event appends an event to a claim if the claim is at the
-- expected version: XADD, then bump the version, record the entry id and
-- keep the claim's state (what commands check) in its aggregate, all in
-- this one step. The aggregate remembers the last event_id, so a retried
-- append whose first attempt landed gets that entry back instead of a
-- second copy; a caller-chosen event_id is also kept in the partition's
-- event-id index (eventids, when given). Returns status, detail:
-- 'ok', entry id | 'duplicate', entry id | 'conflict', current version.
--
-- The state and the event's fields are ARGV[sfrom..sto] and
-- ARGV[ffrom..fto]: ranges of the script's arguments, not tables, so
-- nothing is copied.
local function append_event(stream, aggregate, eventids, claim, expected, eid, sfrom, sto, ffrom, fto)
  local cur = redis.call('HMGET', aggregate, 'version', 'eid', 'entries')
  local version = tonumber(cur[1] or '0')
  if cur[2] == eid then return 'duplicate', string.match(cur[3] or '', '([^,]+)$') or '' end
  if eventids ~= '' then
    local seen = redis.call('HGET', eventids, eid)
    if seen then return 'duplicate', string.match(seen, ' (.*)$') or '' end
  end
  if version ~= tonumber(expected) then return 'conflict', tostring(version) end
  local id = redis.call('XADD', stream, '*', unpack(ARGV, ffrom, fto))
  local entries = id
  if cur[3] then entries = cur[3] .. ',' .. id end
  redis.call('HSET', aggregate, 'version', version + 1, 'eid', eid, 'entries', entries, unpack(ARGV, sfrom, sto))
  if eventids ~= '' then redis.call('HSET', eventids, eid, claim .. ' ' .. id) end
  return 'ok', id
end

-- project_event applies an event to a claim's read model if and only if it
-- is the next one, and moves the adjuster workload in the same step.
-- allowed lists the statuses the event may follow ("|a|b|"; "" is a new
-- claim); op is assign | final | document | ""; the fields to set are
-- ARGV[from..to]. Returns status, detail: 'ok'|'skip'|'gap', stored
-- version | 'invalid', stored status.
local function project_event(readmodel, load, version, allowed, op, adjuster, from, to)
  local cur = tonumber(redis.call('HGET', readmodel, 'version') or '0')
  local v = tonumber(version)
  if v <= cur then return 'skip', tostring(cur) end
  if v > cur + 1 then return 'gap', tostring(cur) end
  local status = redis.call('HGET', readmodel, 'status') or ''
  if not string.find(allowed, '|' .. status .. '|', 1, true) then return 'invalid', status end
  local prev = redis.call('HGET', readmodel, 'adjuster') or ''
  if op == 'assign' then
    if prev ~= adjuster then
      if prev ~= '' then redis.call('ZINCRBY', load, -1, prev) end
      redis.call('ZINCRBY', load, 1, adjuster)
    end
  elseif op == 'final' then
    if prev ~= '' then redis.call('ZINCRBY', load, -1, prev) end
  elseif op == 'document' then
    redis.call('HINCRBY', readmodel, 'documents', 1)
  end
  redis.call('HSET', readmodel, unpack(ARGV, from, to))
  return 'ok', tostring(v)
end
