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
--       (assign | final), [4] adjuster, then three groups, each a count
--       and that many values: the aggregate's state after the decision,
--       the decision's field/value pairs, the submission's read-model
--       fields; the rest: the decision's read-model fields (last_entry_id
--       is added here, once the entry id is known)
-- Reply: {'ok', decision entry id} | {'decided', version or entry id}
--        (decided before, by this processor or by hand) |
--        {'invalid', status}
ops.decide = function(k, from, to)
  local at = from + 4
  local function group()
    local first, last = at + 1, at + tonumber(ARGV[at])
    at = last + 1
    return first, last
  end
  local sfrom, sto = group()
  local dfrom, dto = group()
  local pfrom, pto = group()
  local status, detail = project_event(k[3], k[4], 1, '||', '', '', pfrom, pto)
  if status == 'invalid' or status == 'gap' then return {status, detail} end
  status, detail = append_event(k[1], k[2], '', ARGV[from], 1, ARGV[from + 1], sfrom, sto, dfrom, dto)
  if status == 'conflict' or status == 'duplicate' then return {'decided', detail} end
  if tonumber(hget(k[3], 'version') or '0') == 1 then
    project_event(k[3], k[4], 2, '|submitted|', ARGV[from + 2], ARGV[from + 3], at, to, {'last_entry_id', detail})
  end
  return {'ok', detail}
end
