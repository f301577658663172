-- Helpers shared by the lab's step scripts: require("lab").
--
-- A step works on its own (the embedded server starts empty every run)
-- and on a server shared with earlier steps, with earlier runs of the lab
-- and with workers running in other terminals (`claimsctl worker
-- processor` ...): a step that needs claims or sample data makes them, a
-- step that needs a worker uses the one running elsewhere or starts its
-- own, and a step that moves claims by hand waits until the processor is
-- done with them.

local lab = {}

-- The date n days before today (UTC), as incident_date wants it: claims in
-- the lab happened recently, whatever day the lab runs. lab.days_ago(-7)
-- is a week from now.
function lab.days_ago(n)
  return os.date("!%Y-%m-%d", os.time() - n * 86400)
end

-- The sample customers and policies of step 3 (idempotent: same seed, same
-- day, same data).
function lab.sample_data()
  return sample_data{customers = 10, policies = 20, seed = 1}
end

-- Submits n claims spread over the sample policies. Policy n covers claim
-- type n (auto, home, health, life, property, travel, liability, auto ...),
-- every fifth policy is lapsed, so some claims are rejected by the processor.
local types = {"auto", "home", "health", "life", "property", "travel", "liability"}
local stories = {
  auto = "Rear-ended at a traffic light", home = "Water damage from a burst pipe",
  health = "Emergency room visit", life = "Beneficiary claim",
  property = "Storm damaged the warehouse roof", travel = "Lost luggage on a connecting flight",
  liability = "Visitor slipped on a wet floor",
}
function lab.submit_claims(n, first)
  local claims = {}
  first = first or 1
  for i = first, first + n - 1 do
    local p = (i - 1) % 20 + 1
    local t = types[(p - 1) % #types + 1]
    claims[#claims + 1] = submit{
      customer = ("CUST-%04d"):format((p - 1) % 10 + 1),
      policy = ("POL-%04d"):format(p),
      amount = 250 * ((i * 7) % 40 + 1),
      type = t,
      incident_date = lab.days_ago(i % 20 + 1),
      description = stories[t],
    }
  end
  return claims
end

-- Workers -----------------------------------------------------------------

-- The group each built-in worker consumes claims:events in.
lab.group_of = {processor = "processors", analytics = "analytics", notifications = "notifications", audit = "audit"}

-- The consumers that workers run in group right now, in this session or
-- in another terminal (groups() lists them as running: each running worker
-- renews its mark every second), or nil when nobody runs it.
function lab.running(group)
  for _, g in ipairs(groups()) do
    if g.name == group and #g.running > 0 then return g.running end
  end
  return nil
end

-- Makes sure the built-in workers named run, e.g. lab.workers{"processor",
-- "analytics"}. One that already runs (`claimsctl worker processor` in
-- another terminal) is used as it is: two processors would share the work,
-- which is fine, but this step's output would then depend on who took
-- what. The others are started here, in the background, and stopped by
-- the returned handle's stop(): workers elsewhere are left alone.
function lab.workers(names)
  local started = {}
  for _, name in ipairs(names) do
    local group = lab.group_of[name]
    local elsewhere = lab.running(group)
    if elsewhere then
      print(("  %-13s already runs as %s (group %s): this step uses it"):format(name, table.concat(elsewhere, ", "), group))
    else
      local consumer = start(name, {log = false})
      started[#started + 1] = consumer
      -- A seeded run (claimsctl --seed N) steps its workers in turn.
      local how = server().seed and "stepped in turn with the others" or "in the background"
      print(("  %-13s started here, %s, as consumer %s of group %s"):format(name, how, consumer, group))
    end
  end
  return {
    started = started,
    stop = function()
      for _, consumer in ipairs(started) do stop(consumer) end
    end,
  }
end

-- Waits until the processor has decided each claim (a claim or its id):
-- its version is 2 or more, claim.assigned or claim.rejected appended after
-- claim.submitted. Returns their current states, in order. A step moves a
-- claim by hand only once the processor is done with it; otherwise the two
-- race, and the loser gets a version conflict, or a claim that is already
-- rejected.
function lab.decided(list, seconds)
  seconds = seconds or 30
  local deadline = os.time() + seconds
  local out = {}
  for i, c in ipairs(list) do
    local id = type(c) == "table" and c.id or c
    while true do
      local now = claim(id)
      if now and now.version >= 2 then
        out[i] = now
        break
      end
      if os.time() > deadline then
        error(("the processor has not decided claim %s within %d s: does one run? groups() lists who runs"):format(
          id:sub(1, 8), seconds), 2)
      end
      sleep(50)
    end
  end
  return out
end

-- The claim, assigned: by hand to adjuster, or, if a processor runs (in
-- another terminal), by that processor, whose decision this then waits
-- for instead of racing it.
function lab.assign(c, adjuster)
  if lab.running("processors") then
    local now = lab.decided({c})[1]
    print(("  (a processor runs: it decided claim %s itself: %s%s)"):format(c.id:sub(1, 8), now.status,
      now.adjuster and now.adjuster ~= "" and (" to " .. now.adjuster) or ""))
    return now
  end
  return assign(c.id, adjuster)
end

-- Stream ids --------------------------------------------------------------

-- Whether stream id a comes after b ("1795597353284-2" > "1795597353284-10"
-- is false): ids compare by their two numbers, not as text.
function lab.id_after(a, b)
  local ams, aseq = a:match("^(%d+)-(%d+)$")
  local bms, bseq = b:match("^(%d+)-(%d+)$")
  if tonumber(ams) ~= tonumber(bms) then return tonumber(ams) > tonumber(bms) end
  return tonumber(aseq) > tonumber(bseq)
end

-- Files -------------------------------------------------------------------

-- Whether a file exists (io here only writes to the terminal: renaming a file to
-- itself succeeds only if it is there).
function lab.exists(path)
  return os.rename(path, path) == true
end

-- Printing ----------------------------------------------------------------

-- "1 claim", "3 claims": a count with its noun.
function lab.count(n, one, many)
  return ("%d %s"):format(n, n == 1 and one or many)
end

-- Every status in lifecycle order, as the dashboard lists them.
lab.statuses = {"submitted", "assigned", "investigating", "investigated", "approved", "rejected",
                "payment_initiated", "paid"}

-- "submitted 2, assigned 5, investigating 0, ..." for a by_status table
-- (report() or stats()), every status in the dashboard's order.
function lab.status_counts(by_status)
  local parts = {}
  for _, s in ipairs(lab.statuses) do
    parts[#parts + 1] = ("%s %d"):format(s, by_status[s] or 0)
  end
  return table.concat(parts, ", ")
end

-- Prints the groups of claims:events (or only those named): pending, lag
-- and consumers, with who runs them now.
function lab.show_groups(only)
  local wanted
  if only then
    wanted = {}
    for _, name in ipairs(only) do wanted[name] = true end
  end
  for _, g in ipairs(groups()) do
    if not wanted or wanted[g.name] then
      local consumers = {}
      for _, c in ipairs(g.consumers) do
        local marks = {}
        if c.running then marks[#marks + 1] = "running" end
        if c.idle then marks[#marks + 1] = "idle" end
        consumers[#consumers + 1] = ("%s(%d%s)"):format(c.name, c.pending,
          #marks > 0 and (", " .. table.concat(marks, ", ")) or "")
      end
      print(("  %-16s pending %-3d lag %-4d consumers %s"):format(g.name, g.pending, g.lag,
        #consumers > 0 and table.concat(consumers, " ") or "-"))
    end
  end
end

-- The keys of one of the lab's streams: claims:notifications is one key,
-- or with --partitions one per partition (key(name, p) names each);
-- claims:analytics is one key either way.
function lab.stream_keys(stream)
  local ok, k = pcall(key, stream)
  if ok then return {k} end
  local out = {}
  for p = 0, server().partitions - 1 do out[#out + 1] = key(stream, p) end
  return out
end

-- The entries of a stream after a mark (info().<kind>.last_ids, one id per
-- partition; nil for all of them), oldest first, as XRANGE returns them.
function lab.entries_after(stream, mark)
  local out = {}
  for i, k in ipairs(lab.stream_keys(stream)) do
    local after = mark and mark[i]
    local from = (after and after ~= "0-0") and ("(" .. after) or "-"
    for _, e in ipairs(redis("XRANGE", k, from, "+")) do out[#out + 1] = e end
  end
  table.sort(out, function(a, b) return lab.id_after(b[1], a[1]) end)
  return out
end

-- The newest entry of a stream (claims:analytics, claims:notifications ...)
-- as redis-cli XREVRANGE key + - COUNT 1 shows it: its id and fields.
function lab.show_last(stream)
  local newest
  for _, k in ipairs(lab.stream_keys(stream)) do
    local e = redis("XREVRANGE", k, "+", "-", "COUNT", "1")[1]
    if e and (not newest or lab.id_after(e[1], newest[1])) then newest = e end
  end
  if not newest then
    print(("  %s is empty"):format(stream))
    return
  end
  local id, fields = newest[1], newest[2]
  print(("  newest entry of %s, %s:"):format(stream, id))
  for i = 1, #fields, 2 do
    local value = fields[i + 1]
    if #value > 100 then value = value:sub(1, 97) .. "..." end
    print(("    %-22s %s"):format(fields[i], value))
  end
end

return lab
