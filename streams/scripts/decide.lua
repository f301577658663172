-- decide: the processor's step on a claim.submitted, in one atomic step:
-- project the submission (unless done), append the decision
-- (claim.assigned or claim.rejected) if the claim is still at version 1,
-- and project the decision at once, so the adjuster workload counts it
-- before the next claim is decided. When the decision's entry comes round
-- in the stream, the read model is at its version already and skips it.
--
-- KEYS[1] events stream, KEYS[2] the claim's aggregate, KEYS[3] read
--         model, KEYS[4] adjuster load
-- ARGV[1] claim id, ARGV[2] the decision's event_id, ARGV[3] op of the
--         decision (assign | final), ARGV[4] adjuster,
--         ARGV[5] s, then s: the aggregate's state after the decision,
--         then n, n: the decision's field/value pairs,
--         then m, m: the submission's read-model fields,
--         the rest: the decision's read-model fields (last_entry_id is
--         added here, once the entry id is known)
-- Reply: {'ok', decision entry id} | {'decided', version or entry id}
--        (decided before, by this processor or by hand) |
--        {'invalid', status}
-- The groups are ranges of ARGV: [from, to] of each.
local at = 5
local function group()
  local count = tonumber(ARGV[at])
  local from, to = at + 1, at + count
  at = to + 1
  return from, to
end
local sfrom, sto = group()
local dfrom, dto = group()
local pfrom, pto = group()
local status, detail = project_event(KEYS[3], KEYS[4], 1, '||', '', '', pfrom, pto)
if status == 'invalid' or status == 'gap' then return {status, detail} end
status, detail = append_event(KEYS[1], KEYS[2], '', ARGV[1], 1, ARGV[2], sfrom, sto, dfrom, dto)
if status == 'conflict' or status == 'duplicate' then return {'decided', detail} end
if tonumber(redis.call('HGET', KEYS[3], 'version') or '0') == 1 then
  project_event(KEYS[3], KEYS[4], 2, '|submitted|', ARGV[3], ARGV[4], at, #ARGV)
  redis.call('HSET', KEYS[3], 'last_entry_id', detail)
end
return {'ok', detail}
