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
local at = 5
local function group()
  local count = tonumber(ARGV[at])
  local g = slice(ARGV, at + 1, at + count)
  at = at + count + 1
  return g
end
local state = group()
local decision = group()
local submitted = group()
local decided = slice(ARGV, at, #ARGV)
local status, detail = project_event(KEYS[3], KEYS[4], 1, '||', '', '', submitted)
if status == 'invalid' or status == 'gap' then return {status, detail} end
status, detail = append_event(KEYS[1], KEYS[2], '', ARGV[1], 1, ARGV[2], state, decision)
if status == 'conflict' or status == 'duplicate' then return {'decided', detail} end
if tonumber(redis.call('HGET', KEYS[3], 'version') or '0') == 1 then
  decided[#decided + 1] = 'last_entry_id'
  decided[#decided + 1] = detail
  project_event(KEYS[3], KEYS[4], 2, '|submitted|', ARGV[3], ARGV[4], decided)
end
return {'ok', detail}
