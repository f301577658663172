-- Step 9: event replay and recovery
--
-- What you learn here:
--   * Replay: the stream keeps every event, so any state can be recomputed
--     from the start (XRANGE), or from any point in time.
--   * Recovery: an entry delivered to a consumer stays PENDING until it is
--     acked. If the consumer crashes, another one takes its entries over
--     once they have been idle long enough (XPENDING, XAUTOCLAIM).
--   * Dead letters: an entry that keeps failing is moved to claims:dlq with
--     its error after a number of deliveries, so it stops blocking the
--     group; once the bug is fixed it can be put back (retry_dlq).

local lab = require("lab")
print("== Step 9: replay and recovery ==")
lab.sample_data()
local claims = lab.submit_claims(6)
-- Assigned by hand, or by a processor if one runs in another terminal: then
-- this step waits for all its decisions, so the stream holds still while
-- it is replayed.
for i = 1, 3 do lab.assign(claims[i], ("ADJ-%03d"):format(i)) end
if lab.running("processors") then lab.decided(claims) end

-- 1. Replay: recompute a figure from the events alone.
print("\n-- 1. replay --")
local per_type, total, since_4 = {}, 0, 0
for ev in replay{} do
  per_type[ev.type] = (per_type[ev.type] or 0) + 1
  total = total + 1
  if not lab.id_after(claims[4].entry_id, ev.id) then since_4 = since_4 + 1 end
end
print(("replayed %d events from the start: %d submitted, %d assigned"):format(
  total, per_type["claim.submitted"] or 0, per_type["claim.assigned"] or 0))
local later = replay({from = claims[4].entry_id}, function(ev) end)
print(("replay{from=%q} (claim 4's entry id) sees %d events: claim 4's and all after it"):format(claims[4].entry_id, later))
local since = claims[4].event.occurred_at
local by_time = replay({from = since}, function(ev) end)
print(("replay{from=%q} (its time) sees %d: events in the same millisecond count too"):format(since, by_time))
expect(per_type["claim.submitted"] >= 6, "at least this step's six submissions replayed")
expect(later == since_4, ("from= starts at claim 4's entry: %d events, counted %d in the full replay"):format(later, since_4))
if server().partitions == 1 then
  expect(later >= 6, "claims 4 to 6 and three assignments at least since claim 4")
  if lab.running("processors") then
    -- Another process appends too: its event can be stamped (occurred_at)
    -- before claim 4 and still land after it in the stream.
    print("(a processor in another terminal stamps its events itself: time and stream order may differ)")
  else
    expect(by_time >= later, "a time bound includes the whole millisecond")
  end
else
  -- Each partition numbers its own entries: an id from one says nothing
  -- about the others, whose clocks and counters run apart. Across
  -- partitions only time orders events, to the millisecond.
  print(("with %d partitions an entry id bounds only its own partition: from a time is the bound that holds"):format(server().partitions))
end

-- 2. A consumer crashes with entries pending; another recovers them.
print("\n-- 2. consumer recovery --")
local taken = consume("recovery-demo", "crashy", {count = 3})
print(("consumer 'crashy' read %d events and crashed before acking them"):format(#taken))
local p = pending("recovery-demo")
print(("XPENDING: %d pending, held by crashy: %d"):format(p.count, p.consumers.crashy or 0))

local early = recover("recovery-demo", "rescuer", {min_idle = 60000})
print(("recover with min_idle=60s right away takes %d: they are not idle long enough"):format(#early))
expect(#early == 0, "entries that are not idle enough are never stolen")

sleep(150)
local rescued = recover("recovery-demo", "rescuer", {min_idle = 100})
print(("after 150 ms, recover with min_idle=100ms takes %d, each now delivered %d times"):format(#rescued, rescued[1] and rescued[1].deliveries or 0))
ack("recovery-demo", rescued)
expect(#rescued == 3 and pending("recovery-demo").count == 0, "the rescuer finished crashy's work")

-- 3. Poison messages and the dead-letter queue.
print("\n-- 3. dead letters --")
-- Only this step's two entries count here: the malformed entry below is
-- dead-lettered by every group that reads it (workers in other terminals
-- too), and the flaky group may also meet entries other tools wrote since
-- it last ran, or earlier runs' dead letters.
redis("DEL", key("demo:fixed")) -- the flaky consumer's bug is not fixed yet
local bad = redis("XADD", key("claims:events", 0), "*", "foo", "bar") -- what a buggy tool might write (0: the first partition)
local poisoned = submit{customer = "CUST-0001", policy = "POL-0001", amount = 900, type = "auto",
                        incident_date = lab.days_ago(11), description = "poison: this one breaks the flaky consumer"}
local function ours(d) return d.source_id == bad or d.claim_id == poisoned.id end
local function flaky_letters()
  local out = {}
  for _, d in ipairs(dlq()) do
    if d.group == "flaky" and ours(d) then out[#out + 1] = d end
  end
  return out
end
spawn("scripts/consumers/flaky.lua", {min_idle = 50, recover_every = 50, max_deliveries = 3, log = false})
local deadline = 200
while #flaky_letters() < 2 and deadline > 0 do sleep(50); deadline = deadline - 1 end
for _, d in ipairs(flaky_letters()) do
  local times = d.deliveries == 1 and "1 delivery" or (d.deliveries .. " deliveries")
  print(("dead letter %s: entry %s of group %s after %s:\n    %s"):format(d.id, d.source_id, d.group, times, d.error))
end
expect(#flaky_letters() == 2, "the malformed entry and the poisoned claim are dead letters")

redis("SET", key("demo:fixed"), "1") -- the bug is fixed: put the poisoned claim back
for _, d in ipairs(flaky_letters()) do
  if d.claim_id == poisoned.id then retry_dlq(d.id) end
end
local retry_stream = key("claims:retry:flaky", poisoned.id)
print(("retry_dlq handed the event to group flaky alone: an entry of %s with retry_of=%s,"):format(
  retry_stream, poisoned.entry_id))
print("which flaky's consumer reads beside claims:events, acks and deletes; the other groups never see it again")
wait_idle("flaky")
print(("after the fix and retry_dlq, this step leaves %d dead letter in group flaky: the malformed entry, which no fix can handle"):format(#flaky_letters()))
expect(#flaky_letters() == 1, "the retried claim was handled")
local copies = 0
for _, e in ipairs(redis("XRANGE", key("claims:events", poisoned.id), poisoned.entry_id, "+")) do
  local f = e[2]
  for i = 1, #f, 2 do
    if f[i] == "event_id" and f[i + 1] == poisoned.event.event_id then copies = copies + 1 end
  end
end
print(("%s holds the poisoned claim's event %s: the log keeps each event once, retry or not"):format(
  key("claims:events", poisoned.id), copies == 1 and "once" or (copies .. " times")))
expect(copies == 1, "the retry wrote nothing to the shared stream")
local others = {}
for _, d in ipairs(dlq()) do
  if d.group ~= "flaky" and d.source_id == bad then others[#others + 1] = d.group end
end
if #others > 0 then
  table.sort(others)
  print(("every other group that reads claims:events dead-lettered it too (%s): dlq() lists %d more"):format(table.concat(others, ", "), #others))
end
stop("all")

print()
print("Now you should see: replay recomputing counts, a crashed consumer's entries taken")
print("over only once idle, and a poison message parked in claims:dlq until fixed, then")
print("handed back to the one group that failed on it.")
