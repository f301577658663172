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
--   * Optimistic concurrency: a command can say which version of the claim
--     it expects; if someone else changed the claim first, it is refused.

local lab = require("lab")
print("== Step 4: producing claim events ==")
-- A processor in another terminal (claimsctl worker processor) decides
-- every new claim, appending claim.assigned or claim.rejected: count its
-- decision too, and give it the sample policies to check claims against.
local processor = lab.running("processors")
if processor then
  lab.sample_data()
  print("(a processor runs as " .. table.concat(processor, ", ") .. ": it will decide the claim below,")
  print(" so the sample policies of step 3 are loaded for it)")
  wait_idle("processors") -- done with earlier claims: what it appends now is about ours
end
local before = info().events.length

-- 1. A valid claim. trace(true) shows the one Redis command submit sends:
--    EVALSHA runs the append script (streams/scripts/append.lua), which
--    claimsctl loaded into Redis when it connected, by its SHA1. A new claim
--    has nothing to read first, so this is one round trip. Inside the
--    script, atomically: HMGET the claim's aggregate (no version yet: new),
--    XADD the event to claims:events, HSET the aggregate to version 1.
trace(true)
local c = submit{
  customer = "CUST-0001", policy = "POL-0001", amount = 2500, type = "auto",
  incident_date = lab.days_ago(11), description = "Rear-ended at a traffic light",
}
trace(false)
print(("claim %s submitted: version %d, stream entry %s"):format(c.id, c.version, c.entry_id))
print("That EVALSHA names 3 keys (the stream, the claim's aggregate hash, the event-id index), then")
print("its arguments: the claim id, the version it expects (0: a new claim), the event_id, 0 (no")
print("caller-chosen event_id to index), the entry's time (\"\": XADD * lets Redis number it by its")
print("clock; a run with --seed gives its own), 4 and the aggregate's new state (status, amount),")
print("then the eight fields the script XADDs. The entry, as")
local cli = server().redis_cli
if cli == "" then cli = "redis-cli" end
print(("%s XRANGE %s %s %s shows it:"):format(cli, key("claims:events", c.id), c.entry_id, c.entry_id))
local entry = redis("XRANGE", key("claims:events", c.id), c.entry_id, c.entry_id)[1]
for i = 1, #entry[2], 2 do
  print(("  %-12s %s"):format(entry[2][i], entry[2][i + 1]))
end
expect(c.status == "submitted", "a new claim is submitted")
if processor then
  local decided = lab.decided({c})[1]
  print(("the processor decided it at once: %s, version %d"):format(decided.status, decided.version))
  expect(info().events.length == before + 2, "one entry for the submission, one for the processor's decision")
else
  expect(info().events.length == before + 1, "one submit appends exactly one entry")
end

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
if processor then
  -- The processor assigned the claim (version 2) before we could: an
  -- assign that expects version 1 loses the race, as a second adjuster's
  -- would.
  ok, err = pcall(assign, c.id, { adjuster = "ADJ-001", expected_version = 1 })
  expect(not ok, "an assign expecting version 1 loses to the processor's")
  print("refused (the processor was first):\n    " .. tostring(err))
else
  -- The claim is at version 1; claiming it is at 0 loses the race.
  ok, err = pcall(assign, c.id, { adjuster = "ADJ-001", expected_version = 0 })
  expect(not ok, "a stale expected_version must fail")
  print("refused (stale version):\n    " .. tostring(err))
  assign(c.id, { adjuster = "ADJ-001", expected_version = 1 })
end
local assigned = claim(c.id)
expect(assigned.version == 2 and assigned.status == "assigned", "the claim is assigned, at version 2")

print()
print("The claim's history, one stream entry per event:")
for _, ev in ipairs(history(c.id)) do
  print(("  v%d  %-16s %s  by %s"):format(ev.version, ev.type, ev.id, ev.actor))
end
print()
print("Now you should see: one valid claim with two events in claims:events, seven")
print("refusals that wrote nothing, and the XADD that submit sent inside the script.")
