-- Stream maintenance from Lua: info(), groups(), trim{}, import(), rebuild().
-- Every Test* function runs as a Go subtest on a fresh key prefix, on real
-- Redis and on the embedded server. The Go side (maintenance_test.go) adds:
--   tmp                      a fresh temporary folder for this test
--   backend                  "redis" or "embedded"
--   write_file(path, text), read_file(path) -> text | nil
--   stream_ids(name)         ids of a stream (name without the prefix)
--   del_keys(name, ...)      DEL keys (names without the prefix)
--   xadd_raw(name, k, v ...) XADD * with raw fields, like redis-cli would

local h = require("helpers")
local new_claim, refused, has, lines = h.new_claim, h.refused, h.has, h.lines

-- An archive line of a claim event at a fixed id, as trim writes them.
local function event_line(id, claim_id, version, typ, at, data)
  return string.format('{"id":"%s","fields":{"type":"%s","claim_id":"%s","version":"%d",' ..
    '"event_id":"ev-%s","occurred_at":"%s","actor":"test","data":%q,"schema":"1"}}',
    id, typ, claim_id, version, id, at, data)
end

-- Four events on 2026-11-20 at 10:00, 10:30, 11:00 and 12:00 UTC; the ids
-- are those milliseconds, as the server would have given them.
local fixture_ids = {"1795168800000-0", "1795170600000-0", "1795172400000-0", "1795176000000-0"}
local function write_fixture(path)
  local submitted = '{"amount":1000,"claim_type":"auto","customer_id":"C","description":"x","incident_date":"2026-11-01","policy_id":"P"}'
  write_file(path, table.concat({
    event_line(fixture_ids[1], "claim-a", 1, "claim.submitted", "2026-11-20T10:00:00.000Z", submitted),
    event_line(fixture_ids[2], "claim-a", 2, "claim.assigned", "2026-11-20T10:30:00.000Z", '{"adjuster":"ADJ-001"}'),
    event_line(fixture_ids[3], "claim-b", 1, "claim.submitted", "2026-11-20T11:00:00.000Z", submitted),
    event_line(fixture_ids[4], "claim-a", 3, "claim.document.uploaded", "2026-11-20T12:00:00.000Z", '{"type":"photo","file":"a.jpg"}'),
  }, "\n") .. "\n")
end

function TestDryRunWritesNothing()
  new_claim(); new_claim(); new_claim()
  local archive = tmp .. "/dry/archive.jsonl"
  local p = trim{maxlen = 1, archive = archive}
  expect(p.dry_run == true, "without confirm it is a dry run")
  expect(p.count == 2 and p.length == 3 and p.remaining == 1, "plan: 2 of 3 would go")
  expect(p.removed == 0, "nothing removed")
  expect(info().events.length == 3, "the stream is untouched")
  expect(read_file(archive) == nil, "no archive written on a dry run")
  p = trim{before = "2999-01-01T00:00:00Z"}
  expect(p.dry_run and p.count == 3, "before a future time: everything would go, got " .. p.count)
  expect(info().events.length == 3, "still untouched")
end

function TestTrimMaxlenRemovesExactlyTheOldestAndArchivesThem()
  local c = {}
  for i = 1, 5 do c[i] = new_claim(100 * i) end
  local archive = tmp .. "/a/b/archive.jsonl"
  local p = trim{maxlen = 2, archive = archive, confirm = true}
  expect(p.dry_run == false and p.removed == 3, "three removed, got " .. tostring(p.removed))
  expect(p.first_id == c[1].entry_id and p.last_id == c[3].entry_id, "the oldest three")
  local ev = info().events
  expect(ev.length == 2, "two left, got " .. ev.length)
  expect(ev.first_id == c[4].entry_id, "the fourth is now first")
  local got = lines(read_file(archive))
  expect(#got == 3, "three archived lines, got " .. #got)
  for i = 1, 3 do
    expect(has(got[i], '{"id":"' .. c[i].entry_id .. '","stream":"claims:events","fields":{"type":"claim.submitted"'),
      "line " .. i .. " is entry " .. i .. ", with its stream (without the prefix): " .. tostring(got[i]))
    expect(has(got[i], '"claim_id":"' .. c[i].id .. '"'), "line " .. i .. " keeps the stream fields")
  end
  -- A second trim into the same archive appends to it.
  p = trim{maxlen = 1, archive = archive, confirm = true}
  expect(p.removed == 1, "one more removed")
  got = lines(read_file(archive))
  expect(#got == 4 and has(got[4], c[4].entry_id), "appended as line 4")
  p = trim{maxlen = 1, confirm = true}
  expect(p.count == 0 and p.removed == 0, "nothing left to trim")
end

function TestTrimBeforeTime()
  local archive = tmp .. "/fixture.jsonl"
  write_fixture(archive)
  expect(import(archive) == 4, "fixture imported")
  local p = trim{before = "2026-11-20T11:00:00Z"}
  expect(p.count == 2, "two events before 11:00, got " .. p.count)
  expect(p.before == fixture_ids[3], "the time maps to the id of that millisecond: " .. tostring(p.before))
  expect(p.first_occurred_at == "2026-11-20T10:00:00.000Z" and p.last_occurred_at == "2026-11-20T10:30:00.000Z", "time range of the plan")
  p = trim{before = "2026-11-20T11:00:00Z", confirm = true}
  expect(p.removed == 2, "removed 2")
  local ids = stream_ids("claims:events")
  expect(#ids == 2 and ids[1] == fixture_ids[3] and ids[2] == fixture_ids[4], "11:00 and 12:00 stay")
  p = trim{before = fixture_ids[4]}
  expect(p.count == 1 and p.last_id == fixture_ids[3], "before= also takes a stream id")
end

function TestTrimWarnsAndRefusesPendingOrUnread()
  new_claim(); new_claim(); new_claim()
  consume("processors", "w1", {count = 1})
  local p = trim{maxlen = 0}
  expect(#p.warnings == 1, "one group at risk, got " .. #p.warnings)
  expect(has(p.warnings[1], "processors") and has(p.warnings[1], "1 pending") and has(p.warnings[1], "2 unread"), p.warnings[1] or "no warning")
  expect(p.groups[1].name == "processors" and p.groups[1].pending == 1 and p.groups[1].unread == 2, "per-group figures")
  local err = refused(trim, {maxlen = 0, confirm = true})
  expect(has(err, "refused") and has(err, "processors") and has(err, "force=true") and has(err, "nothing removed"), err)
  expect(info().events.length == 3, "nothing removed when refused")
  -- Reading everything and acking it makes the trim safe.
  consume("processors", "w1", {pending = true}, function() end)
  consume("processors", "w1", function() end)
  p = trim{maxlen = 1}
  expect(#p.warnings == 0, "no warning once the group is done")
  p = trim{maxlen = 1, confirm = true}
  expect(p.removed == 2, "removed without force")
end

function TestTrimForceRemovesPendingEntries()
  new_claim(); new_claim()
  consume("processors", "w1", {count = 1})
  local p = trim{maxlen = 0, confirm = true, force = true}
  expect(p.removed == 2, "force removes them anyway")
  expect(info().events.length == 0, "empty")
end

function TestTrimRefusesBadOptions()
  local err = refused(trim, {})
  expect(has(err, "maxlen=N") and has(err, "before=time"), err)
  err = refused(trim, {maxlen = 1, before = "2026-11-20"})
  expect(has(err, "not both"), err)
  err = refused(trim, {maxlen = -1})
  expect(has(err, "maxlen must be"), err)
  err = refused(trim, {before = "yesterday"})
  expect(has(err, "neither a stream id"), err)
  err = refused(trim, {maxlen = 1, confrim = true})
  expect(has(err, 'unknown option "confrim"'), err)
end

function TestTrimArchiveFailureRemovesNothing()
  new_claim(); new_claim()
  write_file(tmp .. "/blocker", "a file, not a folder")
  local err = refused(trim, {maxlen = 0, confirm = true, archive = tmp .. "/blocker/archive.jsonl"})
  expect(has(err, "archive failed") and has(err, "nothing removed"), err)
  expect(info().events.length == 2, "nothing removed when the archive cannot be written")
end

function TestImportBackWithOriginalIDs()
  local c = {new_claim(100), new_claim(200), new_claim(300)}
  local archive = tmp .. "/all.jsonl"
  trim{maxlen = 0, archive = archive, confirm = true}
  expect(info().events.length == 0, "trimmed")
  expect(import(archive, {stream = "claims:restored"}) == 3, "three into another stream")
  local ids = stream_ids("claims:restored")
  expect(#ids == 3 and ids[1] == c[1].entry_id and ids[3] == c[3].entry_id, "original ids in claims:restored")
  -- And back into claims:events itself, which real Redis only allows after
  -- lowering the stream's last generated id (XSETID).
  expect(import(archive) == 3, "three back into claims:events")
  ids = stream_ids("claims:events")
  expect(#ids == 3 and ids[1] == c[1].entry_id and ids[2] == c[2].entry_id, "original ids in claims:events")
  local later = new_claim(400)
  expect(later.entry_id > c[3].entry_id, "new events still go after them")
end

function TestImportRefusesOverlap()
  local first = new_claim()
  local archive = tmp .. "/one.jsonl"
  trim{maxlen = 0, archive = archive, confirm = true}
  local second = new_claim()
  local err = refused(import, archive)
  expect(has(err, second.entry_id) and has(err, first.entry_id), "names both ids: " .. err)
  expect(has(err, 'stream="claims:restored"') and has(err, "nothing written"), err)
  expect(info().events.length == 1, "nothing written")
end

function TestImportRefusesMalformedLines()
  local good = event_line("1795168800000-0", "claim-a", 1, "claim.submitted", "2026-11-20T10:00:00.000Z", "{}")
  local cases = {
    {good .. "\n{not json\n", "line 2", "JSON"},
    {'{"id":"1-1","fields":{"a":1}}\n', "line 1", 'field "a" must be a string'},
    {good .. "\n\n" .. '{"id":"5-0","fields":{"a":"b"}}\n', "line 3", "ascend"},
    {'{"id":"x","fields":{"a":"b"}}\n', "line 1", "not a stream id"},
    {'{"id":"7-0","fields":{}}\n', "line 1", "no fields"},
    {'{"id":"7-0","fields":{"a":"b"},"extra":1}\n', "line 1", 'unknown key "extra"'},
  }
  for i, case in ipairs(cases) do
    local path = tmp .. "/bad" .. i .. ".jsonl"
    write_file(path, case[1])
    local err = refused(import, path)
    expect(has(err, case[2]) and has(err, case[3]) and has(err, "nothing written"), "case " .. i .. ": " .. err)
  end
  expect(info().events.exists == false, "nothing was written, not even the stream")
  local err = refused(import, tmp .. "/missing.jsonl")
  expect(has(err, "missing.jsonl"), err)
end

function TestRebuildRestoresDeletedAggregates()
  local a = new_claim(1000)
  assign(a.id, "ADJ-001")
  local b = new_claim(2000)
  del_keys("claims:aggregate:" .. a.id, "claims:aggregate:" .. b.id)
  expect(claim(a.id) == nil, "the aggregate is gone")
  xadd_raw("claims:events", "note", "written by hand")
  local r = rebuild()
  expect(r.claims == 2 and r.events == 3, "two claims from three events, got " .. r.claims .. "/" .. r.events)
  expect(r.malformed == 1 and r.broken == 0, "the hand-written entry is skipped")
  local c = claim(a.id)
  expect(c.status == "assigned" and c.version == 2 and c.adjuster == "ADJ-001", "claim a is back")
  expect(#history(a.id) == 2, "its history reads again")
  local next = investigate(a.id, {findings = "ok"})
  expect(next.version == 3, "commands go on from the rebuilt version")
  expect(claim(b.id).amount == 2000, "claim b is back")
end

function TestRebuildAfterImportIntoEvents()
  write_fixture(tmp .. "/fixture.jsonl")
  import(tmp .. "/fixture.jsonl")
  local r = rebuild()
  expect(r.claims == 2 and r.events == 4, "claims of the fixture rebuilt")
  local a = claim("claim-a")
  expect(a.status == "assigned" and a.version == 3 and a.documents == 1, "claim-a folded")
end

function TestRebuildLeavesClaimsWhoseStartWasTrimmed()
  local a = new_claim()
  assign(a.id, "ADJ-001")
  trim{maxlen = 1, confirm = true}
  local r = rebuild()
  expect(r.broken == 1 and r.claims == 0 and r.skipped == 1, "one broken claim, nothing written")
  expect(has(r.problems[1], string.sub(a.id, 1, 8)), "names the claim: " .. tostring(r.problems[1]))
  expect(claim(a.id).version == 2, "its aggregate is left as it was")
end

function TestGroupsAndInfo()
  new_claim(); new_claim(); new_claim()
  consume("processors", "w1", {count = 2})
  consume("processors", "w2", {count = 1})
  consume("analytics", "a1", {count = 1}, function() end)
  local g = groups()
  expect(#g == 2, "two groups, got " .. #g)
  expect(g[1].name == "analytics" and g[1].pending == 0 and g[1].lag == 2, "analytics: 0 pending, lag 2")
  expect(g[2].name == "processors" and g[2].pending == 3 and g[2].lag == 0, "processors: 3 pending, lag 0")
  expect(#g[2].consumers == 2 and g[2].consumers[1].name == "w1" and g[2].consumers[1].pending == 2, "consumers by name")
  expect(g[2].consumers[2].name == "w2" and g[2].consumers[2].idle_ms >= 0, "idle_ms")
  expect(type(g[2].last_delivered_id) == "string" and g[2].last_delivered_id:match("^%d+%-%d+$"), "last delivered id")

  local ev = info().events
  expect(ev.length == 3 and ev.groups.processors.pending == 3 and ev.groups.analytics.lag == 2, "the state view's shape stays")
  -- MEMORY USAGE: Redis's own figure on redis-server; on the embedded
  -- server an estimate of the Go memory the stream holds. Both positive.
  expect(ev.memory_bytes > 0, "memory_bytes on " .. backend .. ": " .. tostring(ev.memory_bytes))
  expect(ev.first_type == "claim.submitted" and ev.first_occurred_at:match("^%d%d%d%d%-%d%d%-%d%dT.*Z$"), "first entry's time")
  expect(ev.last_occurred_at >= ev.first_occurred_at, "last entry's time")
  expect(ev.last_generated_id == ev.last_id, "last generated id")
  local dlq = info().dlq
  expect(dlq.exists == false and dlq.memory_bytes == 0, "a missing stream costs nothing")
end

function TestTrimRefusesAnArchiveThatWouldNotImport()
  new_claim(); new_claim()
  local archive = tmp .. "/twice.jsonl"
  trim{maxlen = 0, archive = archive, confirm = true}
  import(archive)
  -- The same entries again would repeat their ids in the archive.
  local err = refused(trim, {maxlen = 0, archive = archive, confirm = true})
  expect(has(err, "already holds entries up to") and has(err, "choose another file") and has(err, "nothing removed"), err)
  expect(info().events.length == 2, "nothing removed")
  expect(#lines(read_file(archive)) == 2, "the archive is as it was")
  write_file(tmp .. "/notes.txt", "some notes\n")
  err = refused(trim, {maxlen = 0, archive = tmp .. "/notes.txt", confirm = true})
  expect(has(err, "exists and is not an archive") and has(err, "nothing removed"), err)
  expect(read_file(tmp .. "/notes.txt") == "some notes\n", "a file that is not an archive is left alone")
end
