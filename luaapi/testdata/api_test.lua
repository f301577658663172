-- The Lua API as students use it. Every Test* function runs as a Go
-- subtest on a fresh key prefix, on real Redis and on the embedded server.

local h = require("helpers")
local new_claim, refused, same_as_claim = h.new_claim, h.refused, h.same_as_claim

function TestSubmitReturnsTheClaim()
  local c = new_claim(2500)
  expect(type(c.id) == "string" and #c.id == 36, "claim id is a uuid")
  expect(c.version == 1, "version 1")
  expect(c.status == "submitted", "status submitted")
  expect(type(c.entry_id) == "string" and c.entry_id:match("^%d+%-%d+$"), "entry_id is the stream entry id")
  expect(c.event.id == c.entry_id, "the event's id is that entry id")
  expect(type(c.event_id) == "string" and #c.event_id == 36 and c.event.event_id == c.event_id, "event_id is the uuid, as on the wire")
  expect(c.event.type == "claim.submitted", "event type")
  expect(c.event.data.amount == 2500, "payload amount")
  expect(c.amount == 2500, "claim amount")
end

function TestInvalidSubmissionsWriteNothing()
  local before = info().events.length
  local err = refused(submit, {customer = "C", policy = "P", amount = 0, type = "auto",
                               incident_date = "2026-11-20", description = "x"})
  expect(err:find("amount must be greater than 0", 1, true), "names the field and rule: " .. err)
  err = refused(submit, {customer = "C", policy = "P", amount = 10, type = "boat",
                         incident_date = "2026-11-20", description = "x"})
  expect(err:find("type must be one of", 1, true), "aliased name in message: " .. err)
  err = refused(submit, {customer = "C", polcy = "P"})
  expect(err:find('"polcy" is not a field', 1, true), "typo named: " .. err)
  err = refused(submit, {customer = "C", policy_id = "P"})
  expect(err:find('"policy_id" is not a field of a claim: write policy', 1, true), "the event's name points to the short one: " .. err)
  err = refused(submit, {customer = "C", policyId = "P"})
  expect(err:find('"policyId" is not a field of a claim: write policy', 1, true), "the lab's JavaScript name too: " .. err)
  err = refused(submit, {customer = "C", incidentDate = "2026-11-20"})
  expect(err:find('"incidentDate" is not a field of a claim: write incident_date', 1, true), err)
  err = refused(submit, {customer = "C", policy = "P", amount = "lots", type = "auto",
                         incident_date = "2026-11-20", description = "x"})
  expect(err:find("amount must be a number", 1, true), "type named: " .. err)
  expect(info().events.length == before, "nothing was written")
end

function TestFullLifecycle()
  local c = new_claim(3000)
  assign(c.id, "ADJ-001")
  upload(c.id, {type = "photo", file = "a.jpg"})
  investigate(c.id, {phase = "started"})
  investigate(c.id, {findings = "ok", fraud_risk = "low"})
  local a = approve(c.id, 2500)
  expect(a.status == "approved" and a.approved_amount == 2500, "approved 2500")
  local p = pay(c.id)
  expect(p.status == "payment_initiated" and p.payment_id:match("^PAY%-"), "payment initiated")
  local s = settle(c.id)
  expect(s.status == "paid" and s.paid_amount == 2500 and s.version == 8, "paid at v8")
  local h = history(c.id)
  expect(#h == 8, "eight events in the history")
  expect(h[1].type == "claim.submitted" and h[8].type == "claim.payment.completed", "in order")
end

function TestInvalidTransitionsNameBothStates()
  local c = new_claim()
  local before = info().events.length
  local err = refused(approve, c.id, 100)
  expect(err:find("claim is submitted", 1, true) and err:find("needs an investigated claim", 1, true), err)
  reject(c.id, "policy lapsed")
  err = refused(assign, c.id, "ADJ-001")
  expect(err:find("rejected, which is final", 1, true), err)
  expect(info().events.length == before + 1, "only the rejection was written")
end

function TestApprovedAmountCannotExceedClaim()
  local c = new_claim(1000)
  assign(c.id, "ADJ-001")
  investigate(c.id, {findings = "ok"})
  local err = refused(approve, c.id, {amount = 1500})
  expect(err:find("at most the claimed amount 1000", 1, true), err)
end

function TestExpectedVersion()
  local c = new_claim()
  local err = refused(assign, c.id, {adjuster = "ADJ-1", expected_version = 5})
  expect(err:find("not the expected 5", 1, true), err)
  local a = assign(c.id, {adjuster = "ADJ-1", expected_version = 1})
  expect(a.version == 2, "v2")
  local e = emit(c.id, "claim.assigned", {adjuster = "ADJ-2"}, {expected_version = 2})
  expect(e.adjuster == "ADJ-2", "emit appends any type")
end

function TestConsumeAckPending()
  new_claim(); new_claim(); new_claim()
  local evs = consume("processors", "w1", {count = 2})
  expect(#evs == 2, "count respected")
  expect(evs[1].type == "claim.submitted" and evs[1].data.amount == 1000, "event table")
  local g = info().events.groups.processors
  expect(g.pending == 2, "two pending, got " .. g.pending)
  expect(g.lag == 1, "one not yet delivered, got " .. g.lag)
  expect(ack("processors", evs) == 2, "two acked")
  expect(ack("processors", evs) == 0, "acking twice is a no-op")
  local handled = consume("processors", "w1", function(ev) expect(ev.type == "claim.submitted", "handler sees events") end)
  expect(handled == 1, "handler mode handles the rest")
  g = info().events.groups.processors
  expect(g.pending == 0 and g.lag == 0, "all done")
end

function TestConsumeHandlerErrorLeavesPending()
  new_claim()
  local handled, failed = consume("g", "w", function(ev) error("cannot handle") end)
  expect(handled == 0 and failed == 1, "one failure")
  expect(info().events.groups.g.pending == 1, "the failed event stays pending")
end

function TestConsumeRefusesBadOptions()
  local err = refused(consume, "g", "w", {cuont = 1})
  expect(err:find('unknown option "cuont"', 1, true), err)
  err = refused(ack, "g", {"not-an-id"})
  expect(err:find("is not a stream id", 1, true), err)
end

function TestReplayFiltersAndFolds()
  local a = new_claim(100)
  local b = new_claim(200)
  assign(a.id, "ADJ-1")
  local n = 0
  for ev in replay{type = "claim.submitted"} do n = n + 1 end
  expect(n == 2, "two submissions, got " .. n)
  n = 0
  for ev in replay{claim = a.id} do n = n + 1 end
  expect(n == 2, "two events of claim a, got " .. n)
  local total = 0
  local count = replay({type = "claim.submitted"}, function(ev) total = total + ev.data.amount end)
  expect(count == 2 and total == 300, "fold with a handler")
  n = 0
  for ev in replay{from = b.entry_id} do n = n + 1 end
  expect(n == 2, "from a stream id (inclusive), got " .. n)
  n = 0
  for ev in replay{from = "2999-01-01T00:00:00Z"} do n = n + 1 end
  expect(n == 0, "nothing after a future time")
  local err = refused(replay, {from = "yesterday"})
  expect(err:find("neither a stream id", 1, true), err)
end

function TestClaimTemporalQuery()
  local c = new_claim()
  local now = claim(c.id)
  expect(now.status == "submitted", "current state")
  local past, why = claim(c.id, {at = "2000-01-01T00:00:00Z"})
  expect(past == nil and why:find("did not exist yet", 1, true), "no claim before its first event")
  assign(c.id, "ADJ-1")
  expect(claim(c.id, {version = 1}).status == "submitted", "state after version 1")
  expect(claim(c.id, {version = 2}).status == "assigned", "state after version 2")
  local none, why3 = claim(c.id, {version = 3})
  expect(none == nil and why3:find("versions 1 to 2", 1, true), "no version 3 yet")
  local missing, why2 = claim("no-such-claim")
  expect(missing == nil and why2:find("not found", 1, true), "unknown claim")
end

-- os.time() is seconds; read as an entry id it would be milliseconds of
-- 1970, and every bound would hold.
function TestTimesFromOsTime()
  local c = new_claim()
  local n
  local gone, why = claim(c.id, {at = os.time() - 3600})
  expect(gone == nil and why:find("did not exist yet", 1, true), "an hour ago it did not exist: " .. tostring(why))
  expect(claim(c.id, {at = os.time() + 60}).status == "submitted", "a minute from now it does")
  local now = claim(c.id, {at = os.time()})
  expect(now and now.status == "submitted", "at os.time() it exists: the whole of this second counts")
  n = 0
  for _ in replay{to = os.time(), claim = c.id} do n = n + 1 end
  expect(n == 1, "to = os.time() takes this second's events too")
  n = 0
  for _ in replay{from = os.time() + 60} do n = n + 1 end
  expect(n == 0, "nothing after a minute from now")
  n = 0
  for _ in replay{from = os.time() - 60, claim = c.id} do n = n + 1 end
  expect(n == 1, "its submission in the last minute")
  local err = refused(replay, {from = -1})
  expect(err:find("option from: -1 is not a time: a number is seconds since 1970", 1, true), err)
end

function TestReport()
  local a = new_claim(1000)
  local b = new_claim(3000)
  reject(b.id, "no cover")
  local r = report()
  expect(r.claims == 2, "two claims")
  expect(r.by_status.submitted == 1 and r.by_status.rejected == 1, "by status")
  expect(r.claimed.total == 4000 and r.claimed.average == 2000, "amounts")
  expect(r.by_event_type["claim.rejected"] == 1, "by event type")
  local p = r.avg_processing
  expect(p:match("^%d+ms$") or p == "<1ms" or p == "-", "processing time in the dashboard's units: " .. p)
  expect(r.avg_resolution == "-", "nothing resolved yet, as the dashboard says it")
end

function TestRequireModules()
  local produce = require("claims.produce")
  local consume_mod = require("claims.consume")
  expect(type(produce.submit) == "function" and type(consume_mod.ack) == "function", "modules load")
end

function TestRebuildReadModel()
  sample_data{}
  start("processor", {log = false})
  local c = submit{customer = "CUST-0001", policy = "POL-0001", amount = 1000, type = "auto",
                   incident_date = "2026-11-20", description = "read model"}
  wait_idle("processors")
  local err = select(2, pcall(rebuild_read_model))
  expect(tostring(err):find("is running", 1, true), "refused while the processor runs: " .. tostring(err))
  stop("processor")
  local view = key("claim:" .. c.id)
  local before = redis("HGET", view, "status")
  expect(before == "assigned", "the processor projected the claim, got " .. tostring(before))
  redis("DEL", view)
  local res = rebuild_read_model()
  expect(res.claims >= 1 and res.events >= 2, "the claim's events were projected again")
  expect(redis("HGET", view, "status") == "assigned", "the view is back")
end

-- Entries other tools wrote in the wire format but not through the store
-- go to the DLQ at once; they are never counted.
function TestForgedEventsAreDeadLettered()
  local function forge(claim_id, typ, version, data)
    redis("XADD", key("claims:events"), "*", "type", typ, "claim_id", claim_id, "version", version,
          "event_id", "forged-" .. claim_id, "occurred_at", "2026-11-25T10:00:00.000Z", "actor", "me",
          "data", data, "schema", "1")
  end
  local real = submit{customer = "CUST-0001", policy = "POL-0001", amount = 1000, type = "auto",
                      incident_date = "2026-11-20", description = "real"}
  forge("zz2", "claim.approved", "7", '{"approved_amount":5}')
  forge("zz3", "claim.submitted", "1", '{"amount":-5,"claim_type":"auto"}')
  forge(real.id, "claim.assigned", "2", '{"adjuster":"ADJ-666"}')
  start("analytics", {log = false})
  wait_idle("analytics", {timeout = 20})
  stop("all")
  local reasons = {}
  for _, d in ipairs(dlq()) do reasons[#reasons + 1] = d.error end
  local all = table.concat(reasons, "\n")
  expect(#reasons == 3, "three forged entries dead-lettered, got " .. #reasons .. ":\n" .. all)
  expect(all:find("claim zz2 was never written through the event store", 1, true), all)
  expect(all:find("claim zz3 was never written through the event store", 1, true), all)
  expect(all:find("it claims to be v2 of claim " .. real.id:sub(1, 8) .. ", but the store wrote that claim only up to v1", 1, true), all)
  expect(stats().claims == 1, "only the real claim is counted")
end

function TestTablesThatContainThemselvesAreRefused()
  local t = {customer_id = "C"}
  t.self = t
  local c = submit{customer = "C", policy = "P", amount = 5, type = "auto", incident_date = "2026-01-01", description = "d"}
  local ok, err = pcall(emit, c.id, "claim.assigned", t)
  expect(not ok and tostring(err):find("contain itself", 1, true), "a cyclic table is refused: " .. tostring(err))
end

function TestOsExitIsRefused()
  local ok, err = pcall(os.exit, 0)
  expect(not ok and tostring(err):find("os.exit is not available", 1, true), "os.exit raises: " .. tostring(err))
end

-- Many claims at once: checked first, then appended a chunk per call.
function TestSubmitManyAndSampleClaims()
  local before = info().events.length
  local items = {}
  for i = 1, 25 do
    items[i] = {customer = "CUST-0001", policy = "POL-0001", amount = 100 + i, type = "auto",
                incident_date = "2026-11-20", description = "bulk " .. i}
  end
  items[13].amount = -1
  local ok, err = pcall(submit_many, items, {chunk = 10})
  expect(not ok and tostring(err):find("submission 13: claim.submitted: amount", 1, true), "names the 13th: " .. tostring(err))
  expect(info().events.length == before, "nothing written")
  items[13].amount = 113
  local r = submit_many(items, {chunk = 10})
  expect(r.submitted == 25 and #r.claims == 25, "all 25 appended")
  expect(claim(r.claims[13]).amount == 113, "in order")
  expect(info().events.length == before + 25, "25 entries")
  local ok2, err2 = pcall(submit_many, {{customer = "C", polcy = "P"}})
  expect(not ok2 and tostring(err2):find('"polcy" is not a field', 1, true), tostring(err2))

  sample_data{}
  local s = sample_claims{count = 200, seed = 3}
  expect(s.submitted == 200, "200 sample claims")
  local again = sample_claims{count = 200, seed = 3}
  expect(again.submitted == 200 and again.claims[1] ~= s.claims[1], "new ids every time")
  expect(claim(s.claims[1]).description == claim(again.claims[1]).description, "the same seed, the same claims")
end

-- wait_idle() right after start(): the worker's group does not exist yet,
-- and its work must still be waited for.
function TestWaitIdleWaitsForAWorkerJustStarted()
  sample_data{}
  local c = submit{customer = "CUST-0001", policy = "POL-0001", amount = 1000, type = "auto",
                   incident_date = os.date("!%Y-%m-%d"), description = "just started"}
  start("processor", {log = false})
  wait_idle()
  local got = claim(c.id).status
  stop("processor")
  expect(got == "assigned", "decided by the time wait_idle returned, got " .. tostring(got))
end

-- A group nobody consumes never becomes idle: wait_idle() leaves it out,
-- wait_idle(name) waits for it and says why it gave up.
function TestWaitIdleLeavesOutGroupsNobodyRuns()
  new_claim(100)
  consume("forgotten", "once", {count = 1})
  new_claim(200)
  expect(wait_idle(nil, {timeout = 5}) == true, "no worker runs: nothing to wait for")
  local ok, err = pcall(wait_idle, "forgotten", {timeout = 0.2})
  expect(not ok and tostring(err):find("forgotten pending 1 lag 1", 1, true), "named, it is waited for: " .. tostring(err))
end

-- stop("all") counts every worker it stopped, however fast each one ends.
function TestStopAllCountsEveryWorker()
  for _, name in ipairs({"processor", "analytics", "notifications", "audit"}) do
    start(name, {log = false})
  end
  start("processor", {consumer = "second", log = false})
  local n = stop("all")
  expect(n == 5, "five workers stopped, got " .. tostring(n))
  expect(stop("all") == 0, "none left")
end

-- A command by hand after the processor moved the claim: checked against
-- the claim as the processor left it, not as this session submitted it.
function TestACommandByHandSeesWhatTheProcessorDid()
  sample_data{}
  start("processor", {log = false})
  local c = submit{customer = "CUST-0001", policy = "POL-0001", amount = 1000, type = "auto",
                   incident_date = "2026-11-20", description = "by hand after the processor"}
  wait_idle("processors")
  local ok, r = pcall(investigate, c.id, {phase = "started"})
  stop("processor")
  expect(ok, "investigate after the processor assigned the claim: " .. tostring(r))
  if not ok then return end
  expect(r.status == "investigating" and r.version == 3, "the investigation started, got " .. r.status .. " v" .. r.version)
  expect(r.adjuster ~= nil and r.adjuster ~= "", "the processor's adjuster is kept")
  same_as_claim(r, "investigate")
end

-- Every command returns the claim whole, as claim() does.
function TestEveryCommandReturnsTheClaimAsClaimDoes()
  local c = new_claim(3000)
  same_as_claim(c, "submit")
  same_as_claim(assign(c.id, "ADJ-001"), "assign")
  same_as_claim(upload(c.id, {type = "photo", file = "bumper.jpg"}), "upload")
  same_as_claim(investigate(c.id, {phase = "started"}), "investigate started")
  same_as_claim(investigate(c.id, {findings = "ok", fraud_risk = "low"}), "investigate")
  same_as_claim(approve(c.id, 2500), "approve")
  same_as_claim(pay(c.id), "pay")
  same_as_claim(settle(c.id), "settle")
  local d = new_claim(100)
  same_as_claim(reject(d.id, "not covered"), "reject")
  local e = new_claim(200)
  same_as_claim(emit(e.id, "claim.assigned", {adjuster = "ADJ-002"}), "emit")
end
