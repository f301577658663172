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
-- Where claims:events ends now. With --partitions it is several streams,
-- and an entry id orders only its own stream: keep one id per partition,
-- as XREAD takes one id per stream.
local mark = info().events.last_ids
print(("5 claims submitted, the last as %s; no worker is running yet."):format(claims[#claims].event_id))

-- A consumer named "peek" joins the processors group and reads one entry:
-- the group now exists, 1 entry is pending (delivered, not acked), 4 lag.
local peeked = consume("processors", "peek", {count = 1})
local taken = peeked[1].claim_id -- the oldest claim (with --partitions: the oldest of the first partition)
lab.show_groups()
-- peek acks it without doing the processor's work. A group hands each entry
-- to ONE of its consumers, so the processor will never see that claim.
ack("processors", peeked)

print("\nnow the processor starts; monitor() tails the events it appends:")
start("processor", {log = false})
-- Watch lag RISE while the processor works: every decision it appends is
-- a new entry of claims:events that its own group has not read yet.
local seen = monitor{from = mark, events = 4, seconds = 10}
expect(seen == 4, ("the processor decided the 4 claims peek did not take, saw %d"):format(seen))
expect(claim(taken).status == "submitted", "the claim peek took is left to peek, not to the processor")
wait_idle("processors")
stop("processor")

print("\nthe same figures as a table, as info() returns them:")
local ev = info().events
print(("claims:events length %d, first %s, last %s"):format(ev.length, ev.first_id, ev.last_id))
lab.show_groups()

print()
print("Now you should see: the processor's claim.assigned / claim.rejected events arriving")
print("live, lag rising as the processor appends them and falling to 0 once it has read")
print("its own events too, and the one claim peek took left undecided: a group hands each")
print("entry to one of its consumers only.")
