-- Step 8: the claims analytics dashboard
--
-- What you learn here:
--   * Two ways to get analytics from an event stream:
--       - a PROJECTION kept up to date as events arrive: the analytics
--         worker (group "analytics") increments counters in claims:stats
--         and appends snapshots to claims:analytics;
--       - a REPLAY that recomputes everything from the events: report().
--     Both must agree; the replay is the truth, the projection is fast.
--     Until the stream is trimmed (step 11): then the replay sees only the
--     events left, while the projection remembers everything it counted.
--   * Claims per hour, processing time (submitted -> decided), resolution
--     time (submitted -> paid), status distribution, amounts, adjuster load.
--
-- Live version: `claimsctl dashboard` in another terminal (refreshes until
-- Ctrl-C), or dashboard() at the REPL.

local lab = require("lab")
print("== Step 8: analytics ==")
lab.sample_data()
local workers = lab.workers{"processor", "analytics"}
wait_idle({"processors", "analytics"}) -- earlier claims first
local r0, s0 = report(), stats()

local claims = lab.decided(lab.submit_claims(20))
-- Adjusters work some of the assigned claims to a decision and payment.
local worked = 0
for _, c in ipairs(claims) do
  if c.status == "assigned" and worked < 8 then
    worked = worked + 1
    investigate(c.id, {findings = "documents in order"})
    if worked <= 6 then
      approve(c.id, c.amount * 0.9)
      if worked <= 4 then pay(c.id); settle(c.id) end
    else
      reject(c.id, {reason = "damage not covered by the policy", code = "not_covered"})
    end
  end
end
wait_idle({"processors", "analytics"})

dashboard{once = true}

local r, s = report(), stats()
print(("report() from the events:          %d claims, %d paid, approval rate %.0f%%"):format(
  r.claims, r.by_status.paid or 0, r.approval_rate * 100))
print(("stats() from the analytics worker: %d claims, %d paid"):format(s.claims, s.by_status.paid or 0))
if r0.claims == s0.claims then
  expect(r.claims == s.claims, "both count the same claims")
  expect(r.by_status.paid == s.by_status.paid, "both count the same paid claims")
  expect(r.claimed.total == s.claimed_total, "both sum the same claimed amount")
  print("they agree: the projection and the replay saw the same events.")
else
  -- claims:events was trimmed (step 11 of an earlier run): the replay
  -- misses the removed events, the projection counted them when they came.
  print(("before this step they differed already (%d vs %d claims): claims:events was trimmed, and the"):format(
    r0.claims, s0.claims))
  print("replay no longer sees the removed events (they are in the archive), while the analytics worker")
  print("counted them as they came. What this step added, both count alike:")
end
local added_r, added_s = r.claims - r0.claims, s.claims - s0.claims
local paid_r = (r.by_status.paid or 0) - (r0.by_status.paid or 0)
local paid_s = (s.by_status.paid or 0) - (s0.by_status.paid or 0)
print(("  this step: report() +%d claims, +%d paid; stats() +%d claims, +%d paid"):format(added_r, paid_r, added_s, paid_s))
expect(added_r == 20 and added_s == 20, "both counted this step's 20 claims")
expect(paid_r == 4 and paid_s == 4, "both counted this step's 4 payments")
expect(math.abs((r.claimed.total - r0.claimed.total) - (s.claimed_total - s0.claimed_total)) < 0.005,
  "both summed the same claimed amount for them")
print(("analytics snapshots appended to claims:analytics: %d"):format(info().analytics.length))
workers.stop()

print()
print("Now you should see: the dashboard's bars, and the analytics worker's counters")
print("agreeing with the report recomputed from the events.")
