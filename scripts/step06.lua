-- Step 6: stream monitoring
--
-- What you learn here:
--   * How to watch the streams while they work. The lab uses Redis Insight;
--     here you have three equivalents:
--       - the REPL's state view: after every command, each stream's length
--         and last id, each group's pending, lag and consumers;
--       - monitor(): a live tail of claims:events (XREAD BLOCK, which reads
--         without a group, so watching never disturbs the consumers);
--       - redis-cli in another terminal, against the port printed at start:
--           redis-cli -p PORT XINFO STREAM claims:events
--           redis-cli -p PORT XINFO GROUPS claims:events
--           redis-cli -p PORT XPENDING claims:events processors
--           redis-cli -p PORT XREVRANGE claims:events + - COUNT 5
--   * pending = delivered to a consumer, not yet acked;
--     lag     = in the stream, not yet delivered to the group.

local lab = require("lab")
print("== Step 6: watching the streams ==")
lab.sample_data()
local claims = lab.submit_claims(5)
local last = claims[#claims].event_id
print(("5 claims submitted, the last as %s; no worker is running yet."):format(last))

-- A consumer named "peek" joins the processors group and reads one entry:
-- the group now exists, 1 entry is pending (delivered, not acked), 4 lag.
local peeked = consume("processors", "peek", {count = 1})
lab.show_groups()
-- peek acks it without doing the processor's work. A group hands each entry
-- to ONE of its consumers, so the processor will never see claim 1.
ack("processors", peeked)

print("\nnow the processor starts; monitor() tails the events it appends:")
start("processor", {log = false})
-- Watch lag RISE while the processor works: every decision it appends is
-- a new entry of claims:events that its own group has not read yet.
local seen = monitor{from = last, events = 4, seconds = 10}
expect(seen == 4, ("the processor decided the 4 claims peek did not take, saw %d"):format(seen))
expect(claim(claims[1].id).status == "submitted", "claim 1 went to peek, not to the processor")
wait_idle("processors")
stop("processor")

print("\nthe same figures as a table, as info() returns them:")
local ev = info().events
print(("claims:events length %d, first %s, last %s"):format(ev.length, ev.first_id, ev.last_id))
lab.show_groups()

print()
print("Now you should see: the processor's claim.assigned / claim.rejected events arriving")
print("live, lag rising as the processor appends them and falling to 0 once it has read")
print("its own events too, and claim 1 left undecided because peek, a consumer of the same")
print("group, took it.")
