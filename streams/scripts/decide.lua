-- decide: the processor's step on a claim.submitted, in one atomic step:
-- project the submission (unless done), append the decision
-- (claim.assigned or claim.rejected) if the claim is still at version 1,
-- and project the decision at once, so the adjuster workload counts it
-- before the next claim is decided. When the decision's entry comes round
-- in the stream, the read model is at its version already and skips it.
--
-- KEYS[1] events stream, KEYS[2] the claim's aggregate, KEYS[3] the
--         decision's dedup key, KEYS[4] read model, KEYS[5] adjuster load
-- ARGV[1] aggregate state after the decision (JSON), ARGV[2] dedup TTL,
--         ARGV[3] op of the decision (assign | final), ARGV[4] adjuster,
--         ARGV[5] n, ARGV[6..5+n] the decision's field/value pairs,
--         ARGV[6+n] m, the next m: the submission's read-model fields,
--         the rest: the decision's read-model fields (last_entry_id is
--         added here, once the entry id is known)
-- Reply: {'ok', decision entry id} | {'decided', version} (decided before,
--        by this processor or by hand) | {'invalid', status}
local n = tonumber(ARGV[5])
local decision = slice(ARGV, 6, 5 + n)
local m = tonumber(ARGV[6 + n])
local submitted = slice(ARGV, 7 + n, 6 + n + m)
local decided = slice(ARGV, 7 + n + m, #ARGV)
local status, detail = project_event(KEYS[4], KEYS[5], 1, '||', '', '', submitted)
if status == 'invalid' or status == 'gap' then return {status, detail} end
status, detail = append_event(KEYS[1], KEYS[2], KEYS[3], 1, ARGV[1], ARGV[2], decision)
if status == 'conflict' or status == 'duplicate' then return {'decided', detail} end
local projected = tonumber(redis.call('HGET', KEYS[4], 'version') or '0')
if projected == 1 then
  decided[#decided + 1] = 'last_entry_id'
  decided[#decided + 1] = detail
  project_event(KEYS[4], KEYS[5], 2, '|submitted|', ARGV[3], ARGV[4], decided)
end
return {'ok', detail}
