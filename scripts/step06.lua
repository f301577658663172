-- Step 6: stream monitoring
--
-- What you learn here:
--   * How to watch the streams while they work. The lab uses Redis Insight
--     on the three streams claims:events, claims:analytics and
--     claims:notifications, and on the three consumer groups processors,
--     analytics and notifications. Here you have three equivalents:
--       - monitor(): a live tail of claims:events (XREAD BLOCK, which reads
--         without a group, so watching never disturbs the consumers), with
--         each group's progress;
--       - the REPL's state view: after every command, each stream's length
--         and last id, each group's pending, lag and consumers;
--       - redis-cli in another terminal (Redis Insight shows the same):
--           redis-cli -p PORT XINFO STREAM claims:events
--           redis-cli -p PORT XINFO GROUPS claims:events
--           redis-cli -p PORT XPENDING claims:events processors
--           redis-cli -p PORT XREVRANGE claims:notifications + - COUNT 5
--   * pending = delivered to a consumer, not yet acked;
--     lag     = in the stream, not yet delivered to the group.
--   * Each worker writes its own stream: the processor appends decisions to
--     claims:events itself, analytics appends snapshots to claims:analytics,
--     notifications appends alerts to claims:notifications.

local lab = require("lab")
print("== Step 6: watching the streams ==")
lab.sample_data()
print("the workers of the three groups:")
local workers = lab.workers{"processor", "analytics", "notifications"}
wait_idle({"processors", "analytics", "notifications"}) -- earlier claims first

-- Where claims:events ends now. With --partitions it is several streams,
-- and an entry id orders only its own stream: keep one id per partition,
-- as XREAD takes one id per stream.
local mark = info().events.last_ids
local claims = lab.submit_claims(5)
print(("\n5 claims submitted, the first as stream entry %s."):format(claims[1].entry_id))
print("monitor() tails claims:events from before them: the submissions, then the processor's")
print("decisions, one new entry each, while each group's pending and lag move as the workers")
print("read and ack them:")
-- From the mark: the 5 submissions, and the processor's 5 decisions.
local seen = monitor{from = mark, events = 2 * #claims, seconds = 15}
expect(seen == 2 * #claims, ("the monitor saw 5 submissions and 5 decisions arrive, saw %d"):format(seen))
local decided = lab.decided(claims)
wait_idle({"processors", "analytics", "notifications"})

print("\n-- the three streams, as Redis Insight's Streams view shows them --")
local i = info()
for _, name in ipairs({"events", "analytics", "notifications"}) do
  local s = i[name]
  print(("claims:%-14s length %-5d first %s  last %s"):format(name, s.length, s.first_id, s.last_id))
end
lab.show_last("claims:analytics")
lab.show_last("claims:notifications")

print("\n-- the consumer groups on claims:events (XINFO GROUPS, XINFO CONSUMERS) --")
lab.show_groups({"processors", "analytics", "notifications"})
for _, g in ipairs(groups()) do
  if g.name == "processors" or g.name == "analytics" or g.name == "notifications" then
    expect(g.pending == 0 and g.lag == 0, g.name .. " has read and acked everything")
    expect(#g.running > 0, "a worker runs in " .. g.name)
  end
end
local rejected = 0
for _, c in ipairs(decided) do
  if c.status == "rejected" then rejected = rejected + 1 end
end
print(("\nthe processor decided all %d claims (%d rejected: a lapsed policy); the notifier alerted"):format(
  #decided, rejected))
print("on its decisions, and analytics counted every event.")
expect(#decided == #claims, "every claim was decided")
workers.stop()

print()
print("Now you should see: the processor's decisions arriving live, pending and lag rising")
print("and falling back to 0, the newest analytics snapshot and notification, and three")
print("groups at pending 0 / lag 0 with the consumers that did the work.")
