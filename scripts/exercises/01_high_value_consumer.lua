-- Exercise 1: a consumer that flags high-value claims
--
-- Write flag_high_value(group, consumer, limit). It reads claims:events as
-- one consumer of a consumer group (consume), returns the claim ids of the
-- claim.submitted events whose amount is over limit, and acks EVERY event
-- it read, flagged or not, so nothing stays pending.
--
-- Hints: consume(group, consumer, {count=10}) returns at most 10 events and
-- an empty table when the group has read everything; ev.data.amount is the
-- amount of a claim.submitted event; ack(group, events) acks a batch.
--
-- Grade it: claimsctl check scripts/exercises/01_high_value_consumer.lua

local function flag_high_value(group, consumer, limit)
  -- YOUR CODE HERE
  return {}
end

-- The checks (in lib/checks_01.lua): do not edit.
require("checks_01")(flag_high_value)
