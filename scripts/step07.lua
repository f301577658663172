-- Step 7: submit claims and observe events
--
-- What you learn here:
--   * The lab's processing workflow, with every worker at once:
--       1. a claim is submitted     -> one entry in claims:events (XADD);
--       2. the processor            -> checks its policy, appends claim.assigned
--                                      or claim.rejected to the same stream;
--       3. analytics                -> counts every event (claims:stats) and
--                                      appends snapshots to claims:analytics;
--       4. notifications            -> alerts on decisions, payments and
--                                      high-value claims, in claims:notifications.
--   * The three groups read the SAME entries, each at its own pace: each
--     XREADGROUP hands an entry to one consumer of the group, which acks it
--     (XACK) once its work is stored. monitor() watches them do it.
--   * Adjusters move claims on (documents, investigation, approval, payment)
--     only once the processor has decided them: a command that races the
--     processor loses with a version conflict (step 4).
--
-- Run it with the workers in terminals of their own (see the README) and
-- claims flow through them; without, this step starts them here.

local lab = require("lab")
print("== Step 7: submit test claims and watch them being processed ==")
lab.sample_data()
print("the workers (processors, analytics and notifications work together):")
local workers = lab.workers{"processor", "analytics", "notifications"}
local watched = {"processors", "analytics", "notifications"}
wait_idle(watched) -- earlier claims first, so the figures below are this step's

local stats_before = stats()
local alerts_before = info().notifications
local from = info().events.last_id
if from == "" then from = "0-0" end

-- 1. A batch of test claims: realistic ones on the sample policies, some of
--    them on lapsed or unknown policies, or for more than the policy covers.
local batch = sample_claims{count = 12, seed = 3}
print(("\nsubmitted %d test claims (submit_many: one XADD per claim, in one server-side script)"):format(batch.submitted))
expect(batch.submitted == 12, "all 12 test claims went in")

-- 2. Watch them: each submission, then the processor's decision on it, with
--    the groups' pending (delivered, not yet acked) and lag (not yet read).
print("monitoring claims:events: every submission, then the processor's decision for it")
local seen = monitor{from = from, events = 2 * batch.submitted, seconds = 20}
expect(seen == 2 * batch.submitted, ("12 submissions and 12 decisions arrived, saw %d events"):format(seen))

-- 3. Adjusters take the claims the processor assigned, once it is done.
local decided = lab.decided(batch.claims)
local assigned, rejected_by = {}, {}
for _, c in ipairs(decided) do
  if c.status == "assigned" then assigned[#assigned + 1] = c end
  if c.status == "rejected" then rejected_by[c.rejection_code] = (rejected_by[c.rejection_code] or 0) + 1 end
end
local codes = {}
for code, n in pairs(rejected_by) do codes[#codes + 1] = ("%s %d"):format(code, n) end
table.sort(codes)
print(("\nthe processor assigned %d claims and rejected %d (%s)"):format(#assigned, #decided - #assigned,
  #codes > 0 and table.concat(codes, ", ") or "none"))
expect(#assigned >= 4, "at least four claims to work on")

local moved = {}
for i = 1, math.min(4, #assigned) do
  local c = assigned[i]
  upload(c.id, {type = "photo", file = ("claim-%s.jpg"):format(c.id:sub(1, 8))})
  investigate(c.id, {phase = "started"})
  if i <= 3 then investigate(c.id, {findings = "damage consistent with the report", fraud_risk = "low"}) end
  if i == 1 then
    approve(c.id, c.amount)
    pay(c.id)
    settle(c.id)
    moved[#moved + 1] = c.id:sub(1, 8) .. " approved and paid"
  elseif i == 2 then
    approve(c.id, c.amount * 0.8)
    moved[#moved + 1] = c.id:sub(1, 8) .. " approved at 80%"
  elseif i == 3 then
    reject(c.id, {reason = "damage predates the policy", code = "not_covered"})
    moved[#moved + 1] = c.id:sub(1, 8) .. " rejected after investigation"
  else
    moved[#moved + 1] = c.id:sub(1, 8) .. " under investigation"
  end
end
print("adjusters moved four of them on: " .. table.concat(moved, "; "))
wait_idle(watched)

-- 4. What each group did with the same events.
print("\n-- what each group did --")
lab.show_groups(watched)
local stats_after = stats()
print(("analytics:     counted %d more claims and %d more events (claims:stats); claims:analytics has %d snapshots"):format(
  stats_after.claims - stats_before.claims, stats_after.events - stats_before.events, info().analytics.length))
local alerts = lab.entries_after("claims:notifications", alerts_before.last_ids)
print(("notifications: %d new alerts in claims:notifications:"):format(#alerts))
for _, entry in ipairs(alerts) do
  local f = {}
  for i = 1, #entry[2], 2 do f[entry[2][i]] = entry[2][i + 1] end
  print(("  %-10s %s"):format(f.kind, f.message))
end

expect(stats_after.claims - stats_before.claims == batch.submitted, "analytics counted each new claim once")
expect(#alerts >= (#decided - #assigned) + 3, "an alert per rejection, approval and payment at least")
expect(claim(assigned[1].id).status == "paid", "the first assigned claim went all the way to paid")
workers.stop()

print()
print("Now you should see: each submission followed by the processor's decision, pending")
print("and lag of all three groups rising and falling back to 0, and what each group made")
print("of the same events: decisions, counts and alerts.")
print("Try it in the REPL: evs = consume('mine', 'me', {count=3}) then ack('mine', evs).")
