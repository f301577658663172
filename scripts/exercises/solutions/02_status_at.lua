-- Exercise 2: what was the claim's status on date X?
--
-- Event sourcing answers temporal questions by folding events. Write
-- status_at(claim_id, at) that returns the status the claim had at time
-- `at` (an RFC 3339 string like "2026-11-25T10:00:00.000Z"), or nil if the
-- claim did not exist yet, using ONLY history(claim_id): a list of events
-- in order, each with ev.type, ev.occurred_at and ev.data.
--
-- Statuses: claim.submitted -> "submitted", claim.assigned -> "assigned",
-- claim.investigated -> "investigating" (data.phase == "started") or
-- "investigated", claim.approved -> "approved", claim.rejected ->
-- "rejected", claim.payment.initiated -> "payment_initiated",
-- claim.payment.completed -> "paid". claim.document.uploaded keeps the
-- status. RFC 3339 UTC strings of equal length compare as text in time order.
--
-- Grade it: claimsctl check scripts/exercises/02_status_at.lua

-- Reference solution.
local next_status = {
  ["claim.submitted"] = "submitted", ["claim.assigned"] = "assigned",
  ["claim.approved"] = "approved", ["claim.rejected"] = "rejected",
  ["claim.payment.initiated"] = "payment_initiated", ["claim.payment.completed"] = "paid",
}
local function status_at(claim_id, at)
  local status = nil
  for _, ev in ipairs(history(claim_id)) do
    if ev.occurred_at > at then break end
    if ev.type == "claim.investigated" then
      status = ev.data.phase == "started" and "investigating" or "investigated"
    elseif next_status[ev.type] then
      status = next_status[ev.type]
    end
  end
  return status
end

---------------------------------------------------------------- checks ---
local c = submit{customer = "CUST-0002", policy = "POL-0002", amount = 4000, type = "auto",
                 incident_date = "2026-11-02", description = "hail damage"}
assign(c.id, "ADJ-002")
upload(c.id, {type = "photo", file = "roof.jpg"})
investigate(c.id, {phase = "started"})
investigate(c.id, {findings = "hail confirmed"})
approve(c.id, 3500)
pay(c.id)
settle(c.id)

check("matches the store's temporal query at every event", function()
  for _, ev in ipairs(history(c.id)) do
    local want = claim(c.id, {at = ev.occurred_at}).status
    local got = status_at(c.id, ev.occurred_at)
    expect(got == want, ("at %s (after %s): want %s, got %s"):format(ev.occurred_at, ev.type, want, tostring(got)))
  end
end)

check("nil before the claim existed", function()
  expect(status_at(c.id, "2000-01-01T00:00:00.000Z") == nil, "no status before the first event")
end)

check("the latest status far in the future", function()
  expect(status_at(c.id, "2999-01-01T00:00:00.000Z") == "paid", "the claim ends paid")
end)
