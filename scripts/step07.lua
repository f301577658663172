-- Step 7: submit claims and observe events
--
-- What you learn here:
--   * A batch of claims becomes a batch of stream entries (XADD).
--   * A consumer group (XGROUP CREATE) keeps its own position in the stream;
--     XREADGROUP hands each entry to ONE consumer of the group and records
--     it as *pending* until the consumer acknowledges it with XACK.
--   * Pending goes back to zero only when every delivered entry is acked:
--     that is how Redis knows nothing was lost.
--
-- Run it twice and it still works: every run adds new claims.

local lab = require("lab")
print("== Step 7: submit test claims, then process them with a consumer group ==")

local claims = {}
local customers = { "CUST-0001", "CUST-0002", "CUST-0003", "CUST-0004", "CUST-0005" }
local types = { "auto", "home", "health", "property", "travel" }
for i = 1, 10 do
  claims[i] = submit{
    customer = customers[(i - 1) % #customers + 1],
    policy = ("POL-%04d"):format(i),
    amount = 500 * i,
    type = types[(i - 1) % #types + 1],
    incident_date = lab.days_ago(21 - i),
    description = "test claim " .. i,
  }
end
print(("submitted %d claims"):format(#claims))

-- Move some of them through the lifecycle, as adjusters would.
for i = 1, 6 do
  assign(claims[i].id, ("ADJ-%03d"):format((i - 1) % 3 + 1))
end
for i = 1, 4 do
  upload(claims[i].id, { type = "photo", file = ("claim-%d.jpg"):format(i) })
  investigate(claims[i].id, { findings = "damage consistent with the report", fraud_risk = "low" })
end
approve(claims[1].id, { amount = claims[1].amount })
approve(claims[2].id, { amount = claims[2].amount * 0.8 })
reject(claims[3].id, { reason = "damage predates the policy", code = "not_covered" })
pay(claims[1].id)
settle(claims[1].id)
print("moved claims 1-6 along: assigned, documents, investigations, 2 approvals, 1 rejection, 1 payment")

-- Consume everything with a group of our own, 10 entries at a time.
local group, consumer = "step07-readers", "reader-1"
local seen, byType = 0, {}
while true do
  local events = consume(group, consumer, { count = 10 })
  if #events == 0 then break end
  for _, ev in ipairs(events) do
    byType[ev.type] = (byType[ev.type] or 0) + 1
    seen = seen + 1
  end
  local g = info().events.groups[group]
  print(("read %2d events, pending now %d"):format(#events, g.pending))
  ack(group, events)
end

local g = info().events.groups[group]
print(("after acking: pending %d, lag %d"):format(g.pending, g.lag))
for _, t in ipairs({ "claim.submitted", "claim.assigned", "claim.document.uploaded", "claim.investigated",
                     "claim.approved", "claim.rejected", "claim.payment.initiated", "claim.payment.completed" }) do
  print(("  %-26s %d"):format(t, byType[t] or 0))
end

expect(g.pending == 0, "every delivered event was acked")
expect(g.lag == 0, "the group has read the whole stream")
expect(seen >= 29, "this run appended 29 events, and the group read them all")
expect(claim(claims[1].id).status == "paid", "claim 1 went all the way to paid")
expect(claim(claims[3].id).status == "rejected", "claim 3 was rejected")

print()
print("Now you should see: each batch pending until acked, and pending back to 0 after XACK.")
print("(The group starts at the beginning of the stream: on a server shared with earlier")
print("steps it also reads their events, so the counts above can be larger than this step's.)")
print("Try it in the REPL: evs = consume('mine', 'me', {count=3}) then ack('mine', evs).")
