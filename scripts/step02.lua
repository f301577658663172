-- Step 2: understanding claims event sourcing
--
-- What you learn here:
--   * The eight event types of a claim and what each one carries. Events
--     are facts in the past tense ("claim.approved"), never edited or
--     deleted: the stream is an immutable audit trail.
--   * The claim's state is not stored as such: it is FOLDED from its
--     events. Each event type may only follow certain statuses (the state
--     machine), which is how bad histories are refused before they exist.

local lab = require("lab")
print("== Step 2: the claim's events ==")
print()
for _, s in ipairs(schema()) do
  print(s.type)
  print("    required: " .. table.concat(s.required, ", "))
  if #s.optional > 0 then
    print("    optional: " .. table.concat(s.optional, ", "))
  end
  print("    follows:  " .. table.concat(s.follows, " | "))
end
expect(#schema() == 8, "the lab names eight event types")

print()
print("A claim's life, event by event, with the state folded after each one:")
if lab.running("processors") then
  -- A processor in another terminal checks each new claim's policy.
  lab.sample_data()
  print("  (a processor runs: the sample policies of step 3 are loaded, so it can check this claim's)")
end
local c = submit{customer = "CUST-0002", policy = "POL-0002", amount = 1800, type = "home",
                 incident_date = lab.days_ago(16), description = "Storm damaged the garage roof"}
lab.assign(c, "ADJ-001")
upload(c.id, {type = "photo", file = "roof.jpg"})
investigate(c.id, {phase = "started"})
investigate(c.id, {findings = "Storm damage confirmed by the weather report", fraud_risk = "low"})
approve(c.id, 1500)
pay(c.id, {method = "bank_transfer"})
settle(c.id)

for _, ev in ipairs(history(c.id)) do
  local state = claim(c.id, {version = ev.version})
  print(("  v%d %-26s -> status %-18s (stream entry %s)"):format(ev.version, ev.type, state.status, ev.id))
end
expect(claim(c.id).status == "paid", "the folded state ends paid")

print()
print("Now you should see: the eight event types with their fields, and one claim")
print("whose status is nothing but the fold of its events, one stream entry each.")
