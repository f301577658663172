-- batchlib: what the operations of one batch.lua call share. Reads go
-- through a cache and writes are deferred to the end of the call, where
-- each hash gets one HSET and each counter one HINCRBY, however many
-- operations moved it: the call is atomic, so this is the same as writing
-- at once, and a batch of a hundred events costs a few calls per event
-- instead of a dozen.

local values = {}   -- key -> field -> value, as read or written in this call
local sets = {}     -- key -> field -> value to write at the end
local incrs = {}    -- key -> field -> {integer sum, float sum}
local zincrs = {}   -- key -> member -> sum
local order = {}    -- keys in the order first written, for a stable flush
local seen = {}

local function touched(key)
  if not seen[key] then
    seen[key] = true
    order[#order + 1] = key
  end
end

-- hget reads a field (false when missing), once per call.
local function hget(key, field)
  local fields = values[key]
  if not fields then
    fields = {}
    values[key] = fields
  end
  local v = fields[field]
  if v == nil then
    v = redis.call('HGET', key, field)
    fields[field] = v
  end
  return v
end

-- prime reads the fields of a hash a call will need in one HMGET.
local function prime(key, ...)
  local fields = values[key]
  if fields then return end
  fields = {}
  values[key] = fields
  local names = {...}
  local got = redis.call('HMGET', key, unpack(names))
  for i, name in ipairs(names) do fields[name] = got[i] end
end

-- hset writes a field, at the end of the call.
local function hset(key, field, value)
  value = tostring(value)
  values[key] = values[key] or {}
  values[key][field] = value -- so later reads see the write
  sets[key] = sets[key] or {}
  sets[key][field] = value
  touched(key)
end

-- hincr adds to a counter (float: HINCRBYFLOAT), at the end of the call.
-- by may be a number or an argument's string (Lua's arithmetic reads it as
-- tonumber would). count.lua calls it a dozen times an event: the key is
-- touched when its counters are first made, not on every call.
local function hincr(key, field, by, float)
  local fields = incrs[key]
  if not fields then
    fields = {}
    incrs[key] = fields
    touched(key)
  end
  local c = fields[field]
  if not c then
    c = {0, false}
    fields[field] = c
  end
  c[1] = c[1] + by
  if float then c[2] = true end
end

-- zincr adds to a sorted set member's score, at the end of the call.
local function zincr(key, member, by)
  zincrs[key] = zincrs[key] or {}
  zincrs[key][member] = (zincrs[key][member] or 0) + by
  touched(key)
end

-- flush writes what the call deferred.
local function flush()
  for _, key in ipairs(order) do
    local fields = sets[key]
    if fields then
      local args = {}
      for f, v in pairs(fields) do
        args[#args + 1] = f
        args[#args + 1] = v
      end
      if #args > 0 then redis.call('HSET', key, unpack(args)) end
    end
    for f, c in pairs(incrs[key] or {}) do
      if c[2] then
        redis.call('HINCRBYFLOAT', key, f, string.format('%.17g', c[1]))
      else
        redis.call('HINCRBY', key, f, c[1]) -- even by 0: a counter that went up and down still shows
      end
    end
    for m, by in pairs(zincrs[key] or {}) do
      if by ~= 0 then redis.call('ZINCRBY', key, by, m) end
    end
  end
end

-- project_event applies an event to a claim's read model if and only if it
-- is the next one, and moves the adjuster workload in the same step.
-- allowed lists the statuses the event may follow ("|a|b|"; "" is a new
-- claim); op is assign | final | document | ""; the fields to set are
-- ARGV[from..to] and, if given, extra (a table of field/value pairs).
-- Returns status, detail: 'ok'|'skip'|'gap', stored version |
-- 'invalid', stored status.
local function project_event(readmodel, load, version, allowed, op, adjuster, from, to, extra)
  prime(readmodel, 'version', 'status', 'adjuster', 'documents')
  local cur = tonumber(hget(readmodel, 'version') or '0')
  local v = tonumber(version)
  if v <= cur then return 'skip', tostring(cur) end
  if v > cur + 1 then return 'gap', tostring(cur) end
  local status = hget(readmodel, 'status') or ''
  if not string.find(allowed, '|' .. status .. '|', 1, true) then return 'invalid', status end
  local prev = hget(readmodel, 'adjuster') or ''
  if op == 'assign' then
    if prev ~= adjuster then
      if prev ~= '' then zincr(load, prev, -1) end
      zincr(load, adjuster, 1)
    end
  elseif op == 'final' then
    if prev ~= '' then zincr(load, prev, -1) end
  elseif op == 'document' then
    hset(readmodel, 'documents', tonumber(hget(readmodel, 'documents') or '0') + 1)
  end
  for i = from, to, 2 do hset(readmodel, ARGV[i], ARGV[i + 1]) end
  if extra then
    for i = 1, #extra, 2 do hset(readmodel, extra[i], extra[i + 1]) end
  end
  return 'ok', tostring(v)
end
