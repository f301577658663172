-- trim{} and import() on a store with six partitions: every Test* function
-- runs as a Go subtest on a fresh key prefix, on real Redis and on the
-- embedded server (maintenance_partitions_test.go). The helpers are those
-- of maintenance_test.lua: tmp, write_file, read_file, stream_ids.

local h = require("helpers")
local new_claim, refused, has, lines = h.new_claim, h.refused, h.has, h.lines

-- n claims; returns them and the event streams' lengths, by key.
local function claims_in_partitions(n)
  local c = {}
  for i = 1, n do c[i] = new_claim(100 * i) end
  local lengths = {}
  for _, p in ipairs(info().events.partitions) do lengths[p.key] = p.length end
  return c, lengths
end

function TestTrimPlansEveryPartition()
  local _, lengths = claims_in_partitions(30)
  local p = trim{maxlen = 2}
  expect(#p.partitions == 6, "a plan per partition, got " .. #p.partitions)
  local want = 0
  for _, part in ipairs(p.partitions) do
    local len = lengths[part.stream]
    expect(part.length == len and part.count == math.max(len - 2, 0), part.stream .. " keeps 2 of " .. tostring(len))
    want = want + part.count
  end
  expect(p.count == want and p.length == 30 and p.remaining == 30 - want, "totals: " .. p.count .. " of " .. p.length)
  expect(p.first_id == nil, "ids are per partition")

  local archive = tmp .. "/parts.jsonl"
  p = trim{maxlen = 2, archive = archive, confirm = true}
  expect(p.removed == want, "removed " .. tostring(p.removed))
  for _, part in ipairs(info().events.partitions) do
    expect(part.length == math.min(lengths[part.key], 2), part.key .. " holds " .. part.length)
  end
  local per = {}
  for _, line in ipairs(lines(read_file(archive))) do
    local stream = string.match(line, '"stream":"([^"]+)"')
    expect(stream ~= nil and has(stream, ":events"), "each line names its stream: " .. line)
    per[stream] = (per[stream] or 0) + 1
  end
  for _, part in ipairs(p.partitions) do
    local name = string.gsub(part.stream, "^[^:]*:", "", 1) -- without the test's prefix
    expect((per[name] or 0) == part.count and part.removed == part.count, name .. ": archived what went")
  end
end

function TestTrimBeforeCoversEveryPartition()
  claims_in_partitions(12)
  local p = trim{before = "2999-01-01T00:00:00Z", confirm = true}
  expect(p.count == 12 and p.removed == 12, "everything before a future time, got " .. p.count)
  expect(info().events.length == 0, "every partition emptied")
end

function TestTrimRefusedForAnyPartition()
  claims_in_partitions(12)
  consume("processors", "w1", {count = 3})
  local p = trim{maxlen = 0}
  expect(p.groups[1].name == "processors" and p.groups[1].pending == 3 and p.groups[1].unread == 9, "group figures summed over the partitions")
  expect(#p.warnings > 0 and has(p.warnings[1], ":events: group processors"), "warnings name their partition: " .. tostring(p.warnings[1]))
  local err = refused(trim, {maxlen = 0, confirm = true, archive = tmp .. "/refused.jsonl"})
  expect(has(err, "trim refused: group processors still has ") and has(err, " partitions") and has(err, "force=true") and has(err, "nothing removed"), err)
  expect(info().events.length == 12 and read_file(tmp .. "/refused.jsonl") == nil, "nothing removed, no archive")
  p = trim{maxlen = 0, confirm = true, force = true}
  expect(p.removed == 12, "force removes them")
end

function TestImportGoesBackToEachClaimsPartition()
  local c = claims_in_partitions(18)
  for i = 1, 6 do assign(c[i].id, "ADJ-001") end
  local archive = tmp .. "/all.jsonl"
  trim{maxlen = 0, archive = archive, confirm = true}
  expect(info().events.length == 0, "trimmed")
  local n, targets = import(archive)
  expect(n == 24, "24 back, got " .. n)
  expect(#targets > 1, "into several partitions: " .. table.concat(targets, " "))
  local r = rebuild()
  expect(r.claims == 18 and r.events == 24 and r.broken == 0, "every claim folds from its own partition")
  expect(claim(c[1].id).status == "assigned" and claim(c[1].id).version == 2, "claim 1 is back")
  local later = investigate(c[1].id, {findings = "ok"})
  expect(later.version == 3, "commands go on")
end

function TestImportIntoANamedStreamPerPartition()
  claims_in_partitions(24)
  local archive = tmp .. "/all.jsonl"
  local p = trim{maxlen = 0, archive = archive, confirm = true}
  local sources = 0
  for _, part in ipairs(p.partitions) do
    if part.count > 0 then sources = sources + 1 end
  end
  local n, targets = import(archive, {stream = "claims:restored"})
  expect(n == 24 and #targets == sources, n .. " into " .. #targets .. " streams, from " .. sources)
  local total = 0
  for i, name in ipairs(targets) do
    expect(name == "claims:restored:p" .. (i - 1), "target " .. i .. " is " .. name)
    local ids = stream_ids(name)
    for j = 2, #ids do expect(ids[j - 1] < ids[j] or #ids[j - 1] < #ids[j], name .. " ascends") end
    total = total + #ids
  end
  expect(total == 24, "every entry in one of them")
end

function TestImportOldArchiveByClaim()
  local line = '{"id":"%s","fields":{"type":"claim.submitted","claim_id":"%s","version":"1"}}'
  local text = {}
  for i = 1, 12 do text[i] = string.format(line, "1795168800000-" .. i, "claim-" .. i) end
  write_file(tmp .. "/old.jsonl", table.concat(text, "\n") .. "\n")
  expect(import(tmp .. "/old.jsonl") == 12, "an archive without streams imports by claim")
  local used = 0
  for _, part in ipairs(info().events.partitions) do
    if part.length > 0 then used = used + 1 end
  end
  expect(used > 1, "spread over the partitions, got " .. used)
end

-- wait_idle() right after start() waits until the worker's group exists on
-- every partition, and its claims are decided.
function TestWaitIdleAfterStartOnEveryPartition()
  sample_data{}
  local cs = {}
  for i = 1, 12 do
    cs[i] = submit{customer = "CUST-0001", policy = "POL-0001", amount = 100 + i, type = "auto",
                   incident_date = os.date("!%Y-%m-%d"), description = "partition " .. i}
  end
  start("processor", {log = false})
  wait_idle()
  stop("processor")
  for _, c in ipairs(cs) do
    local got = claim(c.id).status
    expect(got == "assigned", "claim " .. c.id .. " decided by the time wait_idle returned, got " .. tostring(got))
  end
end
