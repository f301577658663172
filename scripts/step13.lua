-- Step 13: faults on purpose
--
-- What you learn here:
--   * At-least-once delivery is what makes a crash harmless. An entry a
--     consumer has read stays PENDING in its group (the PEL, XPENDING)
--     until the consumer acknowledges it (XACK). A worker killed mid-batch
--     acknowledges nothing: started again under the same consumer name it
--     reads its own pending entries first, and any other consumer takes
--     them over (XAUTOCLAIM) once they have been idle for min_idle.
--   * Idempotent effects are what make a second delivery harmless: every
--     handler applies a claim's event only at the claim's next version, so
--     an entry handled twice changes nothing the second time.
--   * A client that cannot reach Redis (paused, its connection closed, the
--     server restarting, a master failing over) waits and tries again; a
--     submit tried again under the same event id is never written twice.
--   * The proof, after every fault: each claim the submit loop filed is in
--     the stream once and was decided by the processor exactly once, and
--     the analytics worker's counters equal a replay of the events.
--
-- A submit loop (submit_loop{}) files claims in the background the whole
-- time, and this step runs its own four workers, in a keyspace of its own
-- (step13:), so nothing it breaks is yours. Which faults a server can
-- have (chaos.can tells, and this step says why it skips one):
--   the embedded server  kill a worker, a slow consumer, a crashing one
--   a redis-server       those, CLIENT PAUSE and CLIENT KILL; a restart when
--                        `claimsctl serve --aof` runs it (it starts it again)
--   a cluster            those, and failovers, with replicas
--                        (`claimsctl serve --cluster 3 --replicas 1`)
--
-- Watch it from another terminal while it runs: `claimsctl --prefix step13:`
-- and then groups(), or redis-cli XPENDING step13:claims:events processors.

local lab = require("lab")
print("== Step 13: faults ==")
if server().seed then
  -- A seeded run's workers take turns only when the session waits, on a
  -- logical clock: a fault needs them running on their own, on real time.
  error("step 13 breaks things on real time: run it without --seed (and without CLAIMSCTL_SEED)", 0)
end

local cluster = server().mode == "cluster"
-- On a cluster, one partition per master: a failover then stops a third of
-- the claims, and the others go on.
keyspace{prefix = "step13:", partitions = cluster and 3 or 1}
print(("this step works in a keyspace of its own: keyspace{prefix=\"step13:\"} (%d partition%s)"):format(
  server().partitions, server().partitions == 1 and "" or "s"))
lab.sample_data()

-- In claimsctl os.clock() is the wall clock since the process started
-- (in seconds, to the microsecond), which is what a timeline needs.
local function now_ms() return math.floor(os.clock() * 1000) end
local began = os.date("!%Y-%m-%dT%H:%M:%SZ", os.time() - 1) -- for replay{from=}

-- The four workers, each one consumer of its group. min_idle=1000: an
-- entry pending for 1 s is presumed abandoned and taken over by another
-- consumer's recovery, which looks every 250 ms (the defaults are 30 s
-- and 5 s: a lab step has no time for those).
local groups = {"processors", "analytics", "notifications", "audit"}
local worker = {processors = "processor", analytics = "analytics", notifications = "notifications", audit = "audit"}
local opts = {min_idle = 1000, recover_every = 250, log = false}
local consumer = {}
for _, g in ipairs(groups) do
  consumer[g] = start(worker[g], opts)
  print(("  %-13s started as consumer %s of group %s"):format(worker[g], consumer[g], g))
end
print("  submit loop   files a sample claim every 10 ms in the background: submit_loop{every=10}")

-- Whether group has acknowledged entry id of stream: delivered (the
-- group's last-delivered-id in XINFO GROUPS is at or past it) and no longer
-- pending (XPENDING from id to id lists nothing). False while Redis does
-- not answer.
local function acked(group, stream, id)
  local ok, infos = pcall(redis, "XINFO", "GROUPS", stream)
  if not ok then return false end
  for _, info in ipairs(infos) do
    local f, i = {}, 1
    while info[i] ~= nil and info[i + 1] ~= nil do f[info[i]] = info[i + 1]; i = i + 2 end
    if f.name == group then
      local last = f["last-delivered-id"]
      if last ~= id and not lab.id_after(last, id) then return false end
      local ok2, pel = pcall(redis, "XPENDING", stream, group, id, id, 1)
      return ok2 and #pel == 0
    end
  end
  return false
end

-- After a fault: the first claim the loop files from now on (in stream,
-- if given: the partition a failover stopped) is the probe; the loop is
-- back when the probe is acknowledged to it, and each worker when its
-- group has acknowledged the probe. Times are ms after hit.
local function follow(loop, hit, stream)
  local back, n0, probe = {}, loop.status().submitted, nil
  while true do
    local st = loop.status() -- no Redis command: it answers during a pause
    if not probe and st.submitted > n0 and (not stream or st.last_stream == stream) then
      probe = {stream = st.last_stream, entry = st.last_entry}
      back.loop = now_ms() - hit
    end
    local all = probe ~= nil
    if probe then
      for _, g in ipairs(groups) do
        if not back[g] then
          if acked(g, probe.stream, probe.entry) then back[g] = now_ms() - hit else all = false end
        end
      end
    end
    if all then return back end
    if now_ms() - hit > 60000 then
      error(("60 s after the fault the loop or a worker is still not back (probe %s): groups() says who is stuck"):format(
        probe and probe.entry or "none: the loop filed nothing"), 2)
    end
    sleep(10)
  end
end

-- The proof. Every claim the loops acknowledged so far: in the stream
-- once (its claim.submitted), decided once (one claim.assigned or
-- claim.rejected), counted by the analytics worker as a replay counts it.
local filed, unsure = {}, {}
local function prove(res)
  for _, id in ipairs(res.ids) do filed[#filed + 1] = id end
  for _, id in ipairs(res.unsure) do unsure[#unsure + 1] = id end
  lab.decided(res.ids, 60)
  wait_idle(groups, {timeout = 60})
  local submitted, decided = {}, {}
  replay({from = began}, function(ev)
    if ev.type == "claim.submitted" then submitted[ev.claim_id] = (submitted[ev.claim_id] or 0) + 1 end
    if ev.type == "claim.assigned" or ev.type == "claim.rejected" then decided[ev.claim_id] = (decided[ev.claim_id] or 0) + 1 end
  end)
  local lost, doubled = 0, 0
  for _, id in ipairs(filed) do
    if submitted[id] == nil or decided[id] == nil then lost = lost + 1 end
    if (submitted[id] or 0) > 1 or (decided[id] or 0) > 1 then doubled = doubled + 1 end
  end
  for _, id in ipairs(unsure) do -- may have landed or not; never twice
    if (submitted[id] or 0) > 1 or (decided[id] or 0) > 1 or (submitted[id] and not decided[id]) then doubled = doubled + 1 end
  end
  local s, r = stats(), report()
  local same = s.claims == r.claims and s.events == r.events and math.abs(s.claimed_total - r.claimed.total) < 0.005
  for _, st in ipairs(lab.statuses) do same = same and (s.by_status[st] or 0) == (r.by_status[st] or 0) end
  print(("  proof: the %d claims filed so far are each in the stream once and decided once (lost %d, doubled %d)"):format(
    #filed, lost, doubled))
  print(("         stats() %s report(): %d claims, %d events, %s"):format(same and "=" or "~=", r.claims, r.events,
    lab.status_counts(r.by_status)))
  expect(lost == 0, ("no claim lost (%d acknowledged claims missing or undecided)"):format(lost))
  expect(doubled == 0, ("no claim doubled (%d submitted or decided twice)"):format(doubled))
  expect(same, "the analytics worker's counters equal a replay of the events")
  expect(res.failed == 0, ("no submit refused (%d: %s)"):format(res.failed, res.last_error))
  return lost == 0 and doubled == 0 and same
end

local timeline, skipped = {}, {}

-- Runs one fault under a fresh submit loop: warms up, injects (inject
-- returns what the timeline should add, and hit= when it waited for the
-- right moment first), follows the recovery, proves.
local function fault(n, title, what, watch, inject)
  print(("\n-- %d. %s --"):format(n, title))
  print("  in Redis: " .. what)
  print("  watch:    " .. watch)
  local loop = submit_loop{every = 10}
  while loop.status().submitted < 20 do sleep(10) end -- traffic flows
  local hit = now_ms()
  local extra = inject(loop, hit) or {}
  hit = extra.hit or hit
  local over = now_ms() - hit
  local back = follow(loop, hit, extra.stream)
  for k, v in pairs(extra.back or {}) do back[k] = v end
  local res = loop.stop()
  print(("  timeline: fault at +0 ms, over at +%d ms; back: submit loop +%d, %s; the loop's slowest submit took %d ms (%d attempts tried again)"):format(
    over, back.loop, table.concat((function()
      local parts = {}
      for _, g in ipairs(groups) do parts[#parts + 1] = ("%s +%d"):format(worker[g], back[g]) end
      return parts
    end)(), ", "), res.longest_ms, res.retried))
  if extra.note then print("            " .. extra.note) end
  local ok = prove(res)
  timeline[#timeline + 1] = {title = title, hit = hit, over = over, back = back, claims = res.submitted, ok = ok}
end

local function skip(n, title, why)
  print(("\n-- %d. %s: skipped --"):format(n, title))
  print("  " .. why)
  skipped[#skipped + 1] = ("%s (%s)"):format(title, why)
end

-- 1. Kill the processor mid-batch.
fault(1, "kill the processor mid-batch",
  "the processor's goroutine is abandoned as a killed process is: no more writes, no XACK; what it had read stays in its PEL",
  "it is started again as the same consumer and reads its own pending entries first (XREADGROUP ... 0), then new ones",
  function(loop, hit)
    local deadline = now_ms() + 2000 -- kill it holding entries, if it can be caught at it
    while (pending("processors").consumers[consumer.processors] or 0) == 0 and now_ms() < deadline do sleep(1) end
    hit = now_ms()
    local k = chaos.kill("processor")
    consumer.processors = start("processor", opts)
    return {hit = hit, note = ("killed holding %d pending entr%s; started again as %s"):format(k.pending, k.pending == 1 and "y" or "ies", consumer.processors)}
  end)

-- 2. A slow consumer.
fault(2, "a slow analytics consumer",
  "one more consumer of group analytics that sleeps 1.5 s over each entry: XREADGROUP hands it its share, which waits in its PEL",
  "pending(\"analytics\") grows; an entry it holds past min_idle (1 s) is taken over by the other consumer, so it is handled twice and counted once",
  function(loop, hit)
    local c = chaos.slow("analytics", 1500, {min_idle = 1000, recover_every = 60000, log = false})
    local handed, n, deadline = {}, 0, now_ms() + 3000
    while now_ms() < deadline do
      for _, e in ipairs(pending("analytics").entries) do
        if e.consumer == c and not handed[e.id] then handed[e.id], n = true, n + 1 end
      end
      sleep(20)
    end
    stop(c) -- it finishes the entry in hand first
    return {note = ("the slow consumer %s was handed %d entr%s, each held past min_idle; stopped at +%d ms"):format(
      c, n, n == 1 and "y" or "ies", now_ms() - hit)}
  end)

-- 3. A consumer that crashes.
fault(3, "a processor that crashes on a claim",
  "one more consumer of group processors that dies as kill -9 would (no XACK) on the first claim.submitted it is handed",
  "the entry stays pending on the dead consumer until it is idle for min_idle (1 s); then the processor's XAUTOCLAIM takes it over and decides it",
  function(loop, hit)
    local c = chaos.crash_on("processor", function(e) return e.type == "claim.submitted" end,
      {restarts = 0, min_idle = 1000, recover_every = 60000, log = false})
    local crashed
    while not crashed do
      for _, w in ipairs(workers()) do
        if w.consumer == c and not w.running then crashed = now_ms() - hit end
      end
      if now_ms() - hit > 30000 then error("the crashing consumer was never handed a claim in 30 s") end
      sleep(5)
    end
    -- The entry it died on: the first claim.submitted it holds (a read in
    -- flight as it died may have handed it one more entry, left pending too).
    local abandoned, claim_id
    for _, p in ipairs(pending("processors").entries) do
      for _, k in ipairs(p.consumer == c and lab.stream_keys("claims:events") or {}) do
        local e = redis("XRANGE", k, p.id, p.id)[1]
        local f = {}
        for i = 1, e and #e[2] or 0, 2 do f[e[2][i]] = e[2][i + 1] end
        if f.type == "claim.submitted" and (not abandoned or lab.id_after(abandoned, p.id)) then
          abandoned, claim_id = p.id, f.claim_id
        end
      end
    end
    expect(claim_id ~= nil, "the dead consumer left the entry it died on pending")
    -- Nobody else can decide that claim until its entry is taken over.
    while claim_id and claim(claim_id).version < 2 do sleep(5) end
    local taken = now_ms() - hit
    return {note = ("%s crashed at +%d ms holding entry %s (claim %s); the processor took it over and decided it at +%d ms"):format(
      c, crashed, abandoned or "?", claim_id and claim_id:sub(1, 8) or "?", taken), back = {takeover = taken}}
  end)

-- 4. The server stops answering.
local ok, why = chaos.can("pause")
if ok then
  fault(4, "CLIENT PAUSE 1500 ms",
    "for 1.5 s the server answers no client: every command waits (none fails), the loop's submit and every worker's XREADGROUP alike",
    "the loop's submit and every worker resume at once when the pause ends; this step's own commands wait too",
    function() chaos.pause(1500) end)
else
  skip(4, "CLIENT PAUSE", why)
end

-- 5. Every connection dropped.
ok, why = chaos.can("drop_clients")
if ok then
  fault(5, "CLIENT KILL every client",
    "CLIENT KILL TYPE normal closes every client connection: the workers' blocked XREADGROUPs, the loop's, this session's",
    "go-redis dials again; a worker logs a failed read and reads on; what it had read and not acknowledged is still pending",
    function() chaos.drop_clients() end)
else
  skip(5, "CLIENT KILL", why)
end

-- 6. The server restarts.
ok, why = chaos.can("restart_server")
if cluster then
  skip(6, "restarting the server", "a cluster has a redis-server per node: one that dies is failed over (8)")
elseif ok then
  fault(6, "kill -9 redis-server, restarted from its AOF",
    "redis-server dies; `claimsctl serve --aof` starts it again, which replays its append-only file: streams, groups and PELs come back",
    "connections are refused until it is back; then the groups resume at their last-delivered-id, the PELs as they were",
    function()
      local r = chaos.restart_server()
      return {note = ("pid %d -> %d, down %d ms, %d events before and %d after"):format(r.pid_before, r.pid_after, r.down_ms, r.events_before, r.events_after)}
    end)
else
  skip(6, "restarting the server", why)
end

-- 7 and 8. A master fails over.
-- A failover needs partition 0's master to have a replica: after one, the
-- old master rejoins as the new one's replica (a killed one once it is
-- started again), which CLUSTER REPLICAS lists a moment later.
local function replica_back(what, hit)
  while not chaos.can("failover") do
    if now_ms() - hit > 60000 then error(what .. " did not come back as a replica within 60 s") end
    sleep(50)
  end
  print(("  %s is a replica of the new master (CLUSTER REPLICAS lists it) at +%d ms"):format(what, now_ms() - hit))
end
ok, why = chaos.can("failover")
if ok then
  fault(7, "CLUSTER FAILOVER of partition 0's master",
    "its replica asks the master to stop taking writes, catches up with it, and takes its slots over: a planned failover, nothing lost",
    "claims of that partition wait a moment (MOVED, then the new master); the other partitions never stop",
    function()
      local f = chaos.failover(0)
      return {stream = f.stream, note = ("%s took slot %d (%s) over from %s in %d ms"):format(f.new_master, f.slot, f.stream, f.old_master, f.ms)}
    end)
  replica_back("the old master", timeline[#timeline].hit)
  ok, why = chaos.can("failover_kill")
  if ok then
    fault(8, "kill -9 of partition 0's master",
      "the master dies; after the node timeout its replica is voted master of its slots; an append acknowledged by the dead master but not yet copied would be lost (replication is asynchronous: --durable WAITs for a replica)",
      "the partition's claims wait for the promotion (2 to 3 s); the dead node comes back as a replica of the new master",
      function()
        local f = chaos.failover(0, {kill = true})
        return {stream = f.stream, note = ("%s: %s promoted in %d ms"):format(f.how, f.new_master, f.ms)}
      end)
    replica_back("the killed master", timeline[#timeline].hit)
  else
    skip(8, "kill -9 of a master", why)
  end
else
  skip(7, "failovers", why)
end

stop("all")
local left = 0
for _, w in ipairs(workers()) do if w.running then left = left + 1 end end
expect(left == 0, "every worker of this step stopped")

print("\n-- the timeline: ms after each fault hit, until each was back --")
print(("  %-44s %6s %6s %9s %9s %13s %6s %7s  %s"):format("fault", "over", "loop", "processor", "analytics", "notifications", "audit", "claims", "proof"))
for _, t in ipairs(timeline) do
  print(("  %-44s %6d %6d %9d %9d %13d %6d %7d  %s"):format(t.title, t.over, t.back.loop, t.back.processors, t.back.analytics,
    t.back.notifications, t.back.audit, t.claims, t.ok and "nothing lost or doubled" or "FAILED"))
end
for _, s in ipairs(skipped) do print("  skipped: " .. s) end
keyspace()

print()
print("Now you should see: each fault hit while claims kept coming, every worker back")
print("within moments (or min_idle), and after each one every claim decided exactly once")
print("and the analytics equal to a replay: at-least-once delivery plus idempotent effects.")
