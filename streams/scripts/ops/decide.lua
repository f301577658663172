-- decide: the processor's step on a claim.submitted, in one atomic step:
-- project the submission (unless done), append the decision
-- (claim.assigned or claim.rejected) if the claim is still at version 1,
-- and project the decision at once, so the adjuster workload counts it
-- before the next claim is decided. When the decision's entry comes round
-- in the stream, the read model is at its version already and skips it.
--
-- keys: [1] events stream, [2] the claim's aggregate, [3] read model,
--       [4] adjuster load
-- args: [1] claim id, [2] the decision's event_id, [3] op of the decision
--       (assign | final), [4] adjuster, [5] the claim's status after the
--       decision, [6] the submission's entry id, [7] the decision's entry
--       time ('': Redis's clock; see xadd), then three groups, each a
--       count and that many values: the aggregate's state after the
--       decision, the decision's field/value pairs, the submission's
--       read-model fields; the rest: the decision's read-model fields
--       (last_entry_id is added here: the submission's, or the decision's
--       once its entry id is known)
-- Reply: {'ok', decision entry id} | {'decided', version or entry id}
--        (decided before, by this processor or by hand) |
--        {'invalid', status}
ops.decide = function(k, from, to)
  local at = from + 7
  local sfrom, sto = at + 1, at + tonumber(ARGV[at])
  at = sto + 1
  local dfrom, dto = at + 1, at + tonumber(ARGV[at])
  at = dto + 1
  local pfrom, pto = at + 1, at + tonumber(ARGV[at])
  local rfrom = pto + 1
  local readmodel, submitted = k[3], ARGV[from + 5]
  if sets[readmodel] then
    -- An earlier operation of this call left writes to this read model:
    -- go through the deferred writes, so they land in order.
    local status, detail = project_event(readmodel, k[4], 1, '||', '', '', pfrom, pto, {'last_entry_id', submitted})
    if status == 'invalid' or status == 'gap' then return {status, detail} end
    status, detail = append_event(k[1], k[2], '', ARGV[from], 1, ARGV[from + 1], ARGV[from + 6], sfrom, sto, dfrom, dto)
    if status == 'conflict' or status == 'duplicate' then return {'decided', detail} end
    if tonumber(hget(readmodel, 'version') or '0') == 1 then
      project_event(readmodel, k[4], 2, '|submitted|', ARGV[from + 2], ARGV[from + 3], rfrom, to, {'last_entry_id', detail})
    end
    return {'ok', detail}
  end
  -- The usual case: the read model is written here, one HSET, instead of
  -- field by field through the deferred writes (most of this op's time);
  -- what later operations of the call read of it is kept in values.
  prime(readmodel, 'version', 'status', 'adjuster', 'documents')
  local cur = tonumber(hget(readmodel, 'version') or '0')
  local status = hget(readmodel, 'status') or ''
  if cur == 0 and status ~= '' then return {'invalid', status} end
  local fields = values[readmodel]
  local result, detail = append_event(k[1], k[2], '', ARGV[from], 1, ARGV[from + 1], ARGV[from + 6], sfrom, sto, dfrom, dto)
  if result == 'conflict' or result == 'duplicate' then
    if cur == 0 then
      redis.call('HSET', readmodel, 'last_entry_id', submitted, unpack(ARGV, pfrom, pto))
      fields.version, fields.status, fields.documents = '1', 'submitted', '0'
    end
    return {'decided', detail}
  end
  if cur == 0 then
    redis.call('HSET', readmodel, 'last_entry_id', detail, unpack(ARGV, pfrom, to))
    fields.documents = '0'
  elseif cur == 1 and status == 'submitted' then
    redis.call('HSET', readmodel, 'last_entry_id', detail, unpack(ARGV, rfrom, to))
  else
    return {'ok', detail}
  end
  fields.version, fields.status = '2', ARGV[from + 4]
  local prev, adjuster = fields.adjuster or '', ARGV[from + 3]
  if ARGV[from + 2] == 'assign' then
    if prev ~= adjuster then
      if prev ~= '' then zincr(k[4], prev, -1) end
      zincr(k[4], adjuster, 1)
    end
    fields.adjuster = adjuster
  elseif prev ~= '' then
    zincr(k[4], prev, -1)
  end
  return {'ok', detail}
end
