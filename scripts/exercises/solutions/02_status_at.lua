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

-- The checks (in lib/checks_02.lua): do not edit.
require("checks_02")(status_at)
