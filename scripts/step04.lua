-- Step 4: the claims event producer
--
-- What you learn here:
--   * submit{...} validates a claim in Go *before* anything reaches Redis,
--     then appends ONE entry to the stream claims:events with XADD (through
--     a small server-side script that also checks the claim's version).
--   * Every entry is a flat list of string fields (type, claim_id, version,
--     event_id, occurred_at, actor, data, schema), so redis-cli can read it:
--         redis-cli XRANGE claims:events - +
--   * An invalid claim is refused with an error naming the field, and
--     NOTHING is written: the stream length does not change.
--   * Later events must follow the claim state machine: you cannot approve
--     a claim nobody has investigated.

local lab = require("lab")
print("== Step 4: producing claim events ==")
local before = info().events.length

-- 1. A valid claim. trace(true) shows the Redis commands submit sends:
--    HGETALL reads the claim's current version (a new claim has none), then
--    EVALSHA runs the append script by its SHA1. The first time, Redis does
--    not know the script yet and answers NOSCRIPT; the client then sends it
--    whole with EVAL. Only ONE event is appended: the EVALSHA was refused.
trace(true)
local c = submit{
  customer = "CUST-0001", policy = "POL-0001", amount = 2500, type = "auto",
  incident_date = lab.days_ago(11), description = "Rear-ended at a traffic light",
}
trace(false)
print(("claim %s submitted: version %d, stream entry %s"):format(c.id, c.version, c.event_id))
expect(c.status == "submitted", "a new claim is submitted")
expect(info().events.length == before + 1, "one submit appends exactly one entry")

-- 2. Invalid claims: each is refused by name, and the stream does not grow.
local invalid = {
  { why = "negative amount", claim = { customer = "CUST-0002", policy = "POL-0002", amount = -100,
      type = "home", incident_date = lab.days_ago(30), description = "burst pipe" } },
  { why = "unknown claim type", claim = { customer = "CUST-0002", policy = "POL-0002", amount = 900,
      type = "spaceship", incident_date = lab.days_ago(30), description = "meteor" } },
  { why = "incident in the future", claim = { customer = "CUST-0002", policy = "POL-0002", amount = 900,
      type = "home", incident_date = lab.days_ago(-7), description = "not yet" } },
  { why = "missing description", claim = { customer = "CUST-0002", policy = "POL-0002", amount = 900,
      type = "home", incident_date = lab.days_ago(30) } },
  { why = "a typo in a field name", claim = { customer = "CUST-0002", polcy = "POL-0002", amount = 900,
      type = "home", incident_date = lab.days_ago(30), description = "typo" } },
}
local length = info().events.length
for _, case in ipairs(invalid) do
  local ok, err = pcall(submit, case.claim)
  expect(not ok, case.why .. " must be refused")
  print(("refused (%s):\n    %s"):format(case.why, tostring(err)))
end
expect(info().events.length == length, "refused claims write nothing")

-- 3. The state machine: approve needs an investigated claim.
local ok, err = pcall(approve, c.id, { amount = 2000 })
expect(not ok, "approving a submitted claim must fail")
print("refused (approve too early):\n    " .. tostring(err))

-- 4. Optimistic concurrency: a command may say which version it expects.
--    The claim is at version 1; claiming it is at 0 loses the race.
ok, err = pcall(assign, c.id, { adjuster = "ADJ-001", expected_version = 0 })
expect(not ok, "a stale expected_version must fail")
print("refused (stale version):\n    " .. tostring(err))
local assigned = assign(c.id, { adjuster = "ADJ-001", expected_version = 1 })
expect(assigned.version == 2, "the claim moved to version 2")

print()
print("The claim's history, one stream entry per event:")
for _, ev in ipairs(history(c.id)) do
  print(("  v%d  %-16s %s  by %s"):format(ev.version, ev.type, ev.id, ev.actor))
end
print()
print("Now you should see: one valid claim with two events in claims:events, seven")
print("refusals that wrote nothing, and the XADD that submit sent inside the script.")
