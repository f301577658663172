-- Exercise 3: recover the work of a crashed consumer
--
-- A consumer of the group "payments" read some events and crashed before
-- acking them: they sit in the group's pending list (XPENDING) and no other
-- consumer will ever get them by reading new entries.
--
-- Write rescue(group, me, min_idle) that takes over the entries that have
-- been pending for at least min_idle milliseconds, handles them (here:
-- counts the claim.submitted ones) and acks them. It returns how many
-- entries it took over. It must NOT take entries that are not idle long
-- enough: their consumer may just be slow.
--
-- Hints: pending(group) shows count, consumers and each entry's idle_ms;
-- recover(group, me, {min_idle = ms}) takes idle entries over (XAUTOCLAIM)
-- and returns them as events; ack(group, events) acknowledges them.
--
-- Grade it: claimsctl check scripts/exercises/03_recover_stuck_consumer.lua

-- Reference solution.
local function rescue(group, me, min_idle)
  local taken = recover(group, me, {min_idle = min_idle})
  local submitted = 0
  for _, ev in ipairs(taken) do
    if ev.type == "claim.submitted" then submitted = submitted + 1 end
  end
  ack(group, taken)
  return #taken
end

---------------------------------------------------------------- checks ---
for i = 1, 5 do
  submit{customer = "CUST-0003", policy = "POL-0003", amount = 100 * i, type = "health",
         incident_date = "2026-11-03", description = "exercise claim " .. i}
end
local crashed = consume("payments", "crashed-worker", {count = 3}) -- and then it died

check("leaves entries alone while they are not idle long enough", function()
  local took = rescue("payments", "rescuer", 60000)
  expect(took == 0, ("nothing is idle for a minute yet, but %d were taken"):format(took))
  expect(pending("payments").count == 3, "the 3 entries are still pending for crashed-worker")
end)

check("takes over and acks the idle entries", function()
  sleep(120)
  local took = rescue("payments", "rescuer", 100)
  expect(took == 3, ("3 entries were idle for 100 ms, took %d"):format(took))
  local p = pending("payments")
  expect(p.count == 0, ("nothing may stay pending, found %d"):format(p.count))
end)

check("the rest of the stream is still there for the group", function()
  local rest = consume("payments", "rescuer", {count = 10})
  expect(#rest == 2, ("the 2 unread events are still unread, got %d"):format(#rest))
  ack("payments", rest)
end)
