-- Step 12: partitioning the event stream
--
-- What you learn here:
--   * One stream is served by one Redis, one command at a time. To go past
--     one machine, the events are split into N streams, partitions, by a
--     hash of the claim id: claims:{a}:events, claims:{b}:events ...
--     Every event of one claim lands in the same partition, so a claim's
--     events stay in order; claims in different partitions are independent.
--   * Redis Cluster spreads keys over 16384 hash slots, and each master
--     serves some of them. A script or a MULTI may only touch keys of one
--     slot. The {tag} in a key name is its hash tag: only the tag is hashed,
--     so every key of a partition (its stream, each claim's aggregate, read
--     model, audit trail) shares one slot, and the append script that
--     checks the version and XADDs in one step stays legal.
--   * A worker reads every partition of its group; the DLQ, replay, report
--     and the state view cover them all.
--
-- Runs anywhere. Started with --partitions N (on a cluster or not), it uses
-- the session's own partitions; otherwise it works in a keyspace of its own
-- with 4 partitions on this same server (keyspace{...}), and comes back.

local lab = require("lab")
print("== Step 12: partitions ==")
local own = server().partitions > 1
if not own then
  keyspace{prefix = "step12:", partitions = 4}
  print("this session has one partition (the lab's claims:events); this step works in a")
  print("keyspace of its own with 4: keyspace{prefix=\"step12:\", partitions=4}")
end
local n = server().partitions
lab.sample_data()

-- 1. Where each claim goes.
print(("\n-- 1. %d claims over %d partitions: a hash of the claim id picks one --"):format(12, n))
local claims = lab.submit_claims(12)
local per = {}
for _, c in ipairs(claims) do
  local stream = key("claims:events", c.id)
  per[stream] = (per[stream] or 0) + 1
  print(("  claim %s  ->  %s"):format(c.id:sub(1, 8), stream))
end
-- How many of these claims each partition got; on a server the step ran on
-- before, a stream also holds the earlier runs' events, said apart.
local ev = info().events
local counted = 0
for i, p in ipairs(ev.partitions) do
  local here = per[p.key] or 0
  counted = counted + here
  local where = p.node ~= "" and (" on master " .. p.node) or ""
  local all = p.length ~= here and ("  (%s in the stream in all, earlier ones too)"):format(lab.count(p.length, "entry", "entries")) or ""
  print(("  partition %d: %-26s %-9s slot %5d%s%s"):format(i - 1, p.key, lab.count(here, "claim", "claims"), slot(p.key), where, all))
end
expect(#ev.partitions == n, "info() lists every partition")
expect(counted == #claims, "each of this run's claims is in one partition")

-- 2. A hash tag keeps one claim's keys in one slot.
local c = claims[1]
print(("\n-- 2. claim %s: every key of it shares its partition's hash tag --"):format(c.id:sub(1, 8)))
local names = {key("claims:events", c.id), key("claims:aggregate:" .. c.id), key("claim:" .. c.id), key("claims:audit:" .. c.id)}
for _, k in ipairs(names) do
  print(("  slot %5d  %s"):format(slot(k), k))
  expect(slot(k) == slot(names[1]), k .. " is in the slot of its partition's stream")
end
local untagged = names[2]:gsub("{%w+}:", "")
print(("  without the tag, %s... would be in slot %d: another master's, maybe"):format(
  untagged:sub(1, #untagged - 28), slot(untagged)))
-- A script over two partitions' keys: a single server runs it, a cluster
-- refuses it (CROSSSLOT) before it runs.
local a, b = key("claims:events", 0), key("claims:events", 1)
local ok, err = pcall(redis, "EVAL", "return redis.call('XLEN', KEYS[1]) + redis.call('XLEN', KEYS[2])", 2, a, b)
if ok then
  print(("  a script over %s and %s runs here (one server), but a cluster would refuse it: CROSSSLOT"):format(a, b))
else
  print(("  a script over %s and %s: %s"):format(a, b, tostring(err):match("CROSSSLOT[^\n]*") or tostring(err)))
end

-- 3. A claim's events stay in order in its partition.
print(("\n-- 3. claim %s through its life: every event in one partition, versions in order --"):format(c.id:sub(1, 8)))
lab.assign(c, "ADJ-001")
upload(c.id, {type = "photo", file = "dent.jpg"})
investigate(c.id, {findings = "as described", fraud_risk = "low"})
approve(c.id, c.amount)
local versions, streams = {}, {}
for _, e in ipairs(history(c.id)) do versions[#versions + 1] = e.version end
for i = 0, n - 1 do
  for _, entry in ipairs(redis("XRANGE", key("claims:events", i), "-", "+")) do
    local f = entry[2]
    for j = 1, #f, 2 do
      if f[j] == "claim_id" and f[j + 1] == c.id then streams[key("claims:events", i)] = true end
    end
  end
end
local where = {}
for s in pairs(streams) do where[#where + 1] = s end
print(("  versions %s, all in %s"):format(table.concat(versions, ", "), table.concat(where, ", ")))
expect(#where == 1 and where[1] == key("claims:events", c.id), "all of the claim's events are in its partition")
for i, v in ipairs(versions) do expect(v == i, "version " .. i .. " follows " .. (i - 1)) end

-- 4. Consumers spread over the partitions.
print("\n-- 4. two processors share the partitions' work --")
start("processor", {consumer = "step12-a", log = false})
start("processor", {consumer = "step12-b", log = false})
wait_idle("processors")
stop("all")
for i, p in ipairs(info().events.partitions) do
  local g = p.groups.processors
  local who = {}
  for name, cs in pairs(g.consumers) do who[#who + 1] = name end
  table.sort(who)
  print(("  partition %d: pending %d, lag %d, consumers %s"):format(i - 1, g.pending, g.lag, table.concat(who, " ")))
  expect(g.pending == 0 and g.lag == 0, "partition " .. (i - 1) .. " is read to the end")
end
local decided = 0
for _, x in ipairs(claims) do
  if claim(x.id).version >= 2 then decided = decided + 1 end
end
print(("  the processors decided all %d claims, whichever partition each is in"):format(decided))
expect(decided == #claims, "every claim was decided")

if not own then
  keyspace()
  print("\nback in this session's own keyspace (the step's is kept under step12:)")
end

print()
print("Now you should see: claims spread over the partitions by their id, one claim's keys")
print("in one slot thanks to the {tag}, a claim's events in order in one partition, and two")
print("consumers of one group reading every partition. On a cluster (claimsctl serve --cluster 3,")
print("then --cluster ADDRS --partitions 6) each partition also names the master that serves it.")
