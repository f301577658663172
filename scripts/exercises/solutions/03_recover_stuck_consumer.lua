-- Exercise 3: recover the work of a crashed consumer
--
-- A consumer of the group "payments" read some events and crashed before
-- acking them: they sit in the group's pending list (XPENDING) and no other
-- consumer will ever get them by reading new entries. Another consumer is
-- only slow: its entries are pending too, but not idle for long.
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

-- The checks (in lib/checks_03.lua): do not edit.
require("checks_03")(rescue)
