-- Step 11: stream maintenance and optimisation
--
-- What you learn here:
--   * XINFO STREAM / XINFO GROUPS (info(), groups()): length, first and last
--     entry, memory, and per group: pending, lag, consumers and their idle time.
--   * A stream grows forever unless trimmed (XTRIM MAXLEN / MINID). Trimming
--     an event store deletes history, so: look first (a dry run), make sure
--     no group still needs the entries (pending or unread), archive them,
--     and only then trim. The archive can be imported back.
--   * With partitions (--partitions N) the events are N streams, and XTRIM
--     works on one stream at a time: trim{maxlen=5} keeps 5 of each.

local lab = require("lab")
print("== Step 11: maintenance ==")
lab.sample_data()
-- A group of this step's own, so that earlier steps' groups do not matter.
local group = "maintenance-demo"
consume(group, "m1", {count = 1000}, function(ev) end) -- catch up with what exists
local claims = lab.submit_claims(30)
local handled = consume(group, "m1", {count = 20}, function(ev) end)
print(("30 claims submitted; the %s group handled %d of them"):format(group, handled))

local ev = info().events
print(("\nclaims:events: %d entries, %s bytes, first %s, last %s"):format(
  ev.length, tostring(ev.memory_bytes or "?"), ev.first_id, ev.last_id))
-- Without partitions there is one stream; with them, info() lists each.
local partitions = ev.partitions or {ev}
if #partitions > 1 then
  for _, p in ipairs(partitions) do print(("  %s: %d entries"):format(p.key, p.length)) end
end
for _, g in ipairs(groups()) do
  print(("group %s: pending %d, lag %d, last delivered %s"):format(g.name, g.pending, g.lag, g.last_delivered_id))
end

-- Trim everything but the newest 5 entries. XTRIM works on one stream at a
-- time, so with partitions maxlen counts in each of them: keep 1 of each.
local maxlen = #partitions > 1 and 1 or 5
ev = info().events
local length, keep = ev.length, 0
for _, p in ipairs(ev.partitions or {ev}) do keep = keep + math.min(p.length, maxlen) end
print(("\n-- a dry run: what would trim{maxlen=%d} remove? --"):format(maxlen))
local plan = trim{maxlen = maxlen}
expect(plan.dry_run and plan.count == length - keep, "a dry run plans the removals and writes nothing")
expect(info().events.length == length, "nothing removed by the dry run")

print("\n-- confirm: refused, because " .. group .. " has not read them all --")
local archive = "data/claims-archive.jsonl"
os.remove(archive) -- trim appends to an archive; start a fresh one for this demo
local ok, err = pcall(trim, {maxlen = maxlen, confirm = true, archive = archive})
print(ok and "removed?!" or ("refused: " .. tostring(err)))
expect(not ok, "a trim that would lose unread entries is refused")

print("\n-- let the group finish, then trim for real, archiving first --")
consume(group, "m1", {count = 100}, function(ev) end)
local done
ok, err = pcall(trim, {maxlen = maxlen, confirm = true, archive = archive})
if ok then
  done = err
else
  -- On a server shared with earlier steps, their demo groups have unread
  -- entries too. In production you would stop here and let them catch up;
  -- these groups are finished demos, so we decide to drop their backlog.
  print("still refused, by groups of earlier steps (finished demos that never read to the end).")
  print("In production you would stop here. This is a lab: we drop their backlog with force=true.")
  done = trim{maxlen = maxlen, confirm = true, archive = archive, force = true}
end
expect(done.removed == length - keep and info().events.length == keep, "archived and removed all but the newest")

print("\n-- the archive loads back (into another stream: the ids are older than claims:events') --")
for _, name in ipairs(keys("claims:restored*")) do redis("DEL", key(name)) end -- a fresh target, if you run this step twice
-- An archive of several partitions goes to one stream per partition
-- (claims:restored:p0 ...): their ids interleave, and may even repeat.
local n, targets = import(archive, {stream = "claims:restored"})
print(("imported %d entries into %s, with their original ids"):format(n, table.concat(targets, ", ")))
expect(n == done.removed, "every archived entry came back")
for _, name in ipairs(targets) do
  print(("XLEN %s = %d"):format(name, redis("XLEN", key(name))))
end

print()
print("Now you should see: XINFO figures, a dry run, a refused trim that would have lost")
print("unread events, a real trim with its archive, and the archive imported back.")
