-- Step 11: stream maintenance and optimisation
--
-- What you learn here:
--   * XINFO STREAM / XINFO GROUPS (info(), groups()): length, first and last
--     entry, memory, and per group: pending, lag, consumers and their idle time.
--   * A stream grows forever unless trimmed (XTRIM MAXLEN / MINID). Trimming
--     an event store deletes history, so: look first (a dry run), make sure
--     no group still needs the entries (pending or unread), archive them,
--     and only then trim. The archive can be imported back.
--   * This step REMOVES all but the newest 5 entries of claims:events. They
--     go to a new archive first (data/claims-archive-N.jsonl, a number per
--     run: earlier archives are kept), and are imported back into a new
--     stream claims:restored-N. Replays and report() afterwards see only
--     what is left; the workers' projections (stats(), the read model)
--     keep what they counted.
--   * With partitions (--partitions N) the events are N streams, and XTRIM
--     works on one stream at a time: trim{maxlen=...} keeps that many of each.

local lab = require("lab")
print("== Step 11: maintenance ==")
lab.sample_data()
-- A group of this step's own, so that earlier steps' groups do not matter.
local group = "maintenance-demo"
repeat -- catch up with what exists
  local n = consume(group, "m1", {count = 1000}, function(ev) end)
until n == 0
local claims = lab.submit_claims(30)
-- Workers running in other terminals decide these claims: let them finish,
-- so the stream holds still while it is measured and trimmed.
local busy = {}
for _, g in ipairs(groups()) do
  if #g.running > 0 then busy[#busy + 1] = g.name end
end
if #busy > 0 then
  if lab.running("processors") then lab.decided(claims) end
  wait_idle(busy)
  print("(workers run in other terminals: " .. table.concat(busy, ", ") .. "; they have handled everything)")
end
local handled = consume(group, "m1", {count = 20}, function(ev) end)
print(("30 claims submitted; the %s group handled %d entries"):format(group, handled))

local ev = info().events
print(("\nclaims:events: %d entries, %s bytes, first %s, last %s"):format(
  ev.length, tostring(ev.memory_bytes or "?"), ev.first_id, ev.last_id))
-- Without partitions there is one stream; with them, info() lists each.
local partitions = ev.partitions or {ev}
if #partitions > 1 then
  for _, p in ipairs(partitions) do print(("  %s: %s"):format(p.key, lab.count(p.length, "entry", "entries"))) end
end
for _, g in ipairs(groups()) do
  print(("group %s: pending %d, lag %d, last delivered %s"):format(g.name, g.pending, g.lag, g.last_delivered_id))
end

-- Where this run's archive and restored copy go: the first number not used
-- by an earlier run, so nothing of an earlier run is overwritten. The
-- archives are files in this folder's data/, the restored streams keys on
-- this server: after a lab on another server (or in another folder) the
-- two differ, and each is said for what it is.
local n = 1
local archived, restored_runs = {}, {}
while true do
  local file = lab.exists(("data/claims-archive-%d.jsonl"):format(n))
  local stream = #keys(("claims:restored-%d*"):format(n)) > 0
  if not file and not stream then break end
  if file then archived[#archived + 1] = n end
  if stream then restored_runs[#restored_runs + 1] = n end
  n = n + 1
end
local archive, restored = ("data/claims-archive-%d.jsonl"):format(n), ("claims:restored-%d"):format(n)
-- "claims:restored-1", "claims:restored-1 .. -3", "claims:restored-1, claims:restored-3".
local function names(prefix, suffix, list)
  if #list == 1 then return prefix .. list[1] .. suffix end
  if list[#list] - list[1] + 1 == #list then
    return ("%s%d%s .. -%d%s"):format(prefix, list[1], suffix, list[#list], suffix)
  end
  local out = {}
  for _, i in ipairs(list) do out[#out + 1] = prefix .. i .. suffix end
  return table.concat(out, ", ")
end
local kept_files = #archived > 0 and names("data/claims-archive-", ".jsonl", archived)
local kept_streams = #restored_runs > 0 and names("claims:restored-", "", restored_runs)
if kept_files and kept_streams and table.concat(archived, ",") == table.concat(restored_runs, ",") then
  print(("\n%s left %s and %s: they are kept; this run's number is %d"):format(
    #archived == 1 and "an earlier run" or "earlier runs", kept_files, kept_streams, n))
elseif kept_files or kept_streams then
  print(("\nkept from earlier runs: %s in this folder's data/, %s on this server\n(those runs were in another folder or on another server); this run's number is %d, free in both"):format(
    kept_files or "no archive", kept_streams or "no restored stream", n))
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

-- The same plan again with confirm=true: quiet=true, as the dry run just
-- showed it, warnings and all.
print("\n-- confirm: refused, because groups (" .. group .. " among them) have not read them all --")
local ok, err = pcall(trim, {maxlen = maxlen, confirm = true, archive = archive, quiet = true})
print(ok and "removed?!" or ("refused: " .. tostring(err)))
expect(not ok, "a trim that would lose unread entries is refused")
expect(not lab.exists(archive), "a refused trim writes no archive")

print(("\n-- let the group finish, then trim for real: %d entries of claims:events go, archived first to %s --"):format(
  length - keep, archive))
repeat
  local more = consume(group, "m1", {count = 100}, function(ev) end)
until more == 0
local done
ok, err = pcall(trim, {maxlen = maxlen, confirm = true, archive = archive, quiet = true})
if ok then
  done = err
else
  -- On a server shared with earlier steps, their demo groups have unread
  -- entries too, and so have the workers' groups while no worker runs. In
  -- production you would stop here and let them catch up; this is a lab,
  -- so we decide to drop their backlog.
  -- Who: the groups the dry run warned of (plan.groups sums them over the
  -- partitions), but this step's own, which has read everything since.
  local others = {}
  for _, g in ipairs(plan.groups) do
    if g.name ~= group and (g.pending > 0 or g.unread > 0) then others[#others + 1] = g.name end
  end
  print("still refused, by other groups: " .. table.concat(others, ", ") .. ".")
  print("They are demo groups of earlier steps that never read to the end, and workers' groups, which")
  print("catch up only while their worker runs. In production you would stop here and let them catch")
  print("up. This is a lab: force=true drops their backlog.")
  done = trim{maxlen = maxlen, confirm = true, archive = archive, force = true, quiet = true}
end
expect(done.removed == length - keep and info().events.length == keep, "archived and removed all but the newest")
print(("removed %d entries; claims:events keeps the newest %d, %s holds the rest"):format(done.removed, keep, archive))

print(("\n-- the archive loads back into a new stream, %s (its ids are older than claims:events') --"):format(restored))
-- An archive of several partitions goes to one stream per partition
-- (claims:restored-N:p0 ...): their ids interleave, and may even repeat.
local imported, targets = import(archive, {stream = restored})
print(("imported %d entries into %s, with their original ids"):format(imported, table.concat(targets, ", ")))
expect(imported == done.removed, "every archived entry came back")
for _, name in ipairs(targets) do
  print(("XLEN %s = %d"):format(name, redis("XLEN", key(name))))
end

print()
print("Now you should see: XINFO figures, a dry run, a refused trim that would have lost")
print("unread events, a real trim with its numbered archive, and the archive imported back")
print("into a stream of its own. Run it again and the next number is used; nothing is deleted.")
