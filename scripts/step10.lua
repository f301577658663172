-- Step 10: stream aggregation and analysis
--
-- What you learn here:
--   * The whole analytics report is a fold over the event stream: replay
--     every event (XRANGE in pages), rebuild each claim's state, aggregate.
--     No table was updated to make it: the events are enough.
--   * The lab's report file, data/claims-analytics-report.json, written by
--     report{out=...} (or `claimsctl report -o FILE` from the shell).

local lab = require("lab")
print("== Step 10: the analytics report ==")
lab.sample_data()
local workers = lab.workers{"processor"}
local claims = lab.decided(lab.submit_claims(12))
for i, c in ipairs(claims) do
  if c.status == "assigned" and i % 2 == 0 then
    investigate(c.id, {findings = "verified"})
    approve(c.id, c.amount)
    pay(c.id); settle(c.id)
  end
end
workers.stop()

local out = "data/claims-analytics-report.json"
local replaced = lab.exists(out) and " (replacing the report of an earlier run)" or ""
local r = report{out = out}
print(("wrote %s%s: %d claims from %d events"):format(out, replaced, r.claims, r.events))
print("  status:   " .. lab.status_counts(r.by_status))
print(("  claimed:  %d in total, %.2f on average"):format(r.claimed.total, r.claimed.average))
print(("  paid:     %d in total over %d claims"):format(r.paid.total, r.paid.count))
print(("  approval rate %.0f%%, avg processing %s, avg resolution %s (as the dashboard says them)"):format(
  r.approval_rate * 100, r.avg_processing, r.avg_resolution))
for _, a in ipairs(r.adjuster_workload) do
  print(("  %s: %d assigned, %d open, %d resolved"):format(a.adjuster, a.assigned, a.open, a.resolved))
end
expect(r.claims >= 12, "at least these 12 claims in the report")
expect(r.by_status.paid ~= nil and r.by_status.paid > 0, "some claims were paid")
expect(os.rename(out, out), out .. " was written")

print()
print("Now you should see: the report's figures, and the file " .. out)
print("(cat it, or open it in your editor).")
