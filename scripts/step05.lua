-- Step 5: the claims event consumers
--
-- What you learn here:
--   * Four consumer groups read the SAME stream, each at its own pace and
--     position: processors, analytics, notifications and audit. A group
--     sees every event once; adding a group does not take events from the
--     others.
--   * The processor drives the process: on claim.submitted it checks the
--     policy and appends claim.assigned (least-loaded adjuster) or
--     claim.rejected. Those new events flow back into every group.
--   * Each worker acks an event only after its effect is stored, and every
--     effect is idempotent: a redelivered event never counts twice.
--
-- In the lab these are separate terminals; here they run in the background,
-- unless they already run in terminals of their own (with claimsctl serve
-- in another):
--     claimsctl worker processor
-- Then this step uses those.

local lab = require("lab")
local count = lab.count
print("== Step 5: four consumer groups on claims:events ==")
lab.sample_data()

local workers = lab.workers{"processor", "analytics", "notifications", "audit"}

local claims = lab.submit_claims(10)
print(("submitted %d claims; the workers pick them up..."):format(#claims))
local mine = {"processors", "analytics", "notifications", "audit"}
wait_idle(mine)
print("the four workers' groups have read and acked everything:")
lab.show_groups(mine)
-- On a server used before, claims:events has more groups: the demos of
-- later steps, which read only while their step runs. They are not this
-- step's, and their lag is no worker's backlog.
local others = {}
for _, g in ipairs(groups()) do
  local ours = false
  for _, name in ipairs(mine) do ours = ours or g.name == name end
  if not ours then others[#others + 1] = ("%s (lag %d)"):format(g.name, g.lag) end
end
if #others > 0 then
  print(("  (claims:events has %s more, of other steps: %s; each reads only while its step runs)"):format(
    count(#others, "group", "groups"), table.concat(others, ", ")))
end

local assigned, rejected = 0, 0
for _, c in ipairs(claims) do
  local now = claim(c.id)
  if now.status == "assigned" then assigned = assigned + 1 end
  if now.status == "rejected" then rejected = rejected + 1 end
end
print(("the processor assigned %d claims and rejected %d (lapsed policies)"):format(assigned, rejected))
expect(assigned + rejected == #claims, "every claim was decided by the processor")
expect(rejected == 2, "claims on POL-0005 and POL-0010 (lapsed) are rejected")
for _, c in ipairs(claims) do
  local now = claim(c.id)
  if now.status == "rejected" then
    print(("  claim %s on %s: %s"):format(c.id:sub(1, 8), now.policy_id, now.rejection_reason))
  end
end

-- The read model (CQRS): one hash per claim, kept by the processor.
local view = redis("HGETALL", key("claim:" .. claims[1].id))
print("read model claim:" .. claims[1].id:sub(1, 8) .. "...:")
for i = 1, #view, 2 do
  if view[i] == "status" or view[i] == "adjuster" or view[i] == "version" then
    print(("  %-9s %s"):format(view[i], view[i + 1]))
  end
end
-- Notifications go out for decisions, payments and high-value claims: here
-- the rejections. Analytics appends a snapshot every 10 events it counts.
print(("claims:notifications holds %s (decisions, payments, high-value claims), claims:analytics %s"):format(
  count(info().notifications.length, "alert", "alerts"), count(info().analytics.length, "snapshot", "snapshots")))
print("(the analytics worker appends a snapshot every 10 events it counts)")
workers.stop()

print()
print("Now you should see: four groups at pending 0 / lag 0, claims assigned or rejected")
print("by the processor, and the read model hash claim:<id> it keeps.")
