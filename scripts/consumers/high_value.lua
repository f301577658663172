-- A consumer written in Lua: flags high-value claims.
--
-- Run it in the background with spawn("scripts/consumers/high_value.lua")
-- (or in a terminal of its own: claimsctl worker scripts/consumers/high_value.lua).
-- It runs on its own Lua state, as one consumer of the group below, with the
-- same guarantees as the built-in workers: each event is acked after
-- handle() returns; an error leaves it pending, to be retried and, after
-- five deliveries, dead-lettered to claims:dlq.

group = "high-value"
limit = tonumber(os.getenv("HIGH_VALUE_LIMIT") or "") or 10000

function handle(ev)
  if ev.type ~= "claim.submitted" then
    return "skipped " .. ev.type
  end
  if ev.data.amount > limit then
    return ("FLAGGED claim %s: %d over the limit of %d"):format(ev.claim_id:sub(1, 8), ev.data.amount, limit)
  end
  return "below the limit"
end
