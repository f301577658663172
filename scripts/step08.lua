-- Step 8: the claims analytics dashboard
--
-- What you learn here:
--   * Two ways to get analytics from an event stream:
--       - a PROJECTION kept up to date as events arrive: the analytics
--         worker (group "analytics") increments counters in claims:stats
--         and appends snapshots to claims:analytics;
--       - a REPLAY that recomputes everything from the events: report().
--     Both must agree; the replay is the truth, the projection is fast.
--   * Claims per hour, processing time (submitted -> decided), resolution
--     time (submitted -> paid), status distribution, amounts, adjuster load.
--
-- Live version: `claimsctl dashboard` in another terminal (refreshes until
-- Ctrl-C), or dashboard() at the REPL.

local lab = require("lab")
print("== Step 8: analytics ==")
lab.sample_data()
start("processor", {log = false})
start("analytics", {log = false})

local claims = lab.submit_claims(20)
wait_idle({"processors"})
-- Adjusters work some of the assigned claims to a decision and payment.
local worked = 0
for _, c in ipairs(claims) do
  local now = claim(c.id)
  if now.status == "assigned" and worked < 8 then
    worked = worked + 1
    investigate(c.id, {findings = "documents in order"})
    if worked <= 6 then
      approve(c.id, now.amount * 0.9)
      if worked <= 4 then pay(c.id); settle(c.id) end
    else
      reject(c.id, {reason = "damage not covered by the policy", code = "not_covered"})
    end
  end
end
wait_idle({"processors", "analytics"})

dashboard{once = true}

local r, s = report(), stats()
print(("report() from the events: %d claims, %d paid, approval rate %.0f%%"):format(
  r.claims, r.by_status.paid or 0, r.approval_rate * 100))
print(("stats() from the analytics worker: %d claims, %d paid"):format(s.claims, s.by_status.paid or 0))
-- (On a server shared with earlier steps both also count those claims.)
expect(r.claims >= 20 and r.claims == s.claims, "both count the same claims, at least these 20")
expect((r.by_status.paid or 0) >= 4 and r.by_status.paid == s.by_status.paid, "both count the same paid claims")
expect(r.claimed.total == s.claimed_total, "both sum the same claimed amount")
print(("analytics snapshots appended to claims:analytics: %d"):format(info().analytics.length))
stop("all")

print()
print("Now you should see: the dashboard's bars, and the analytics worker's counters")
print("agreeing with the report recomputed from the events.")
