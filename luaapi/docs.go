package luaapi

import (
	"fmt"

	"claimsctl/streams/claims"
)

// apiDoc documents one Lua function. This list is the only place a Lua
// signature is written: help(), help(name), Tab completion and
// docs/lua-api.md come from it, and the tests check it against the code
// (every global is here, every option a function accepts is in its
// signature).
type apiDoc struct {
	Name      string
	Signature string // how it is called; options show their defaults
	Returns   string // what it returns, in the same notation; empty for nothing
	Summary   string
	Example   string
}

// moduleDoc is one module of the API: a topic of help() and a section of
// docs/lua-api.md. Its functions are the module's table, in this order.
type moduleDoc struct {
	Module, Title string
	Funcs         []apiDoc
}

// commandOptions are the options every lifecycle command takes besides its
// payload fields.
const commandOptions = "expected_version=, actor="

const claimReturned = "claim {id=, version=, status=, ..., entry_id=, event_id=, event=} (the claim as claim() returns it)"

var reference = []moduleDoc{
	{"claims.produce", "Produce events (each appends one event through the version-checking script)", []apiDoc{
		{"submit", "submit{customer=, policy=, amount=, type=, incident_date=, description= [, id=, actor=]}",
			"claim {id=, version=, status=, amount=, ..., entry_id=, event_id=, event=}",
			"Files a new claim: appends claim.submitted. Invalid fields are refused and nothing is written; unknown field names are named all at once, each with the name to write (customerId: write customer). The claim it returns has the event's names (policy_id, customer_id, claim_type), and reads under the short ones too: c.policy is c.policy_id. type is one of auto, home, health, life, property, travel, liability. id= files it under a chosen claim id instead of a new uuid; actor= is who filed it (default claimsctl).",
			`c = submit{customer="CUST-0001", policy="POL-0001", amount=2500, type="auto", incident_date="2026-11-20", description="rear-ended at a light"}`},
		{"assign", "assign(id, adjuster | {adjuster=, note=, " + commandOptions + "})", claimReturned,
			"Appends claim.assigned: an adjuster takes the claim.",
			`assign(c.id, "ADJ-001")`},
		{"upload", "upload(id, {type=, file=, note=, " + commandOptions + "})", claimReturned,
			"Appends claim.document.uploaded. type is one of photo, police_report, estimate, invoice, receipt, medical_report, other.",
			`upload(c.id, {type="photo", file="bumper.jpg"})`},
		{"investigate", "investigate(id, findings | {phase=\"started\"|\"completed\", findings=, fraud_risk=, " + commandOptions + "})", claimReturned,
			"Appends claim.investigated; phase defaults to completed, which needs findings (a plain string is the findings). fraud_risk is low, medium or high.",
			`investigate(c.id, {phase="started"})
investigate(c.id, {findings="damage matches the police report", fraud_risk="low"})`},
		{"approve", "approve(id, amount | {amount=, note=, " + commandOptions + "})", claimReturned,
			"Appends claim.approved; the amount must not exceed the claimed amount.",
			`approve(c.id, 2000)`},
		{"reject", "reject(id, reason | {reason=, code=, " + commandOptions + "})", claimReturned,
			"Appends claim.rejected, a final status. code is one of policy_not_found, policy_inactive, exceeds_coverage, not_covered, outside_policy_period (the incident is not within the policy's start and end dates), fraud, duplicate, other.",
			`reject(c.id, {reason="policy lapsed", code="policy_inactive"})`},
		{"pay", "pay(id [, {method=, amount=, payment_id=, " + commandOptions + "}])", claimReturned,
			"Appends claim.payment.initiated: by default for the approved amount, by bank_transfer (or check, card), under a new payment id.",
			`pay(c.id, {method="bank_transfer"})`},
		{"settle", "settle(id [, {payment_id=, amount=, " + commandOptions + "}])", claimReturned,
			"Appends claim.payment.completed, a final status; the payment id and amount default to the initiated payment's.",
			`settle(c.id)`},
		{"submit_many", "submit_many(claims [, {chunk=100, actor=}])",
			"{submitted=, claims={ids...}, error=}",
			"Files many claims at once: every item (a table like submit{} takes, id= allowed) is checked first, and if any is invalid nothing is written and the error names its index and field. Then they are appended a chunk at a time, each chunk one server-side script call (the same append as submit: versions and ids alike). An id that exists already is refused and named in error=, the others go in. Shows a progress bar on a terminal.",
			`submit_many{{customer="CUST-0001", policy="POL-0001", amount=900, type="auto", incident_date="2026-11-20", description="dent"}, {customer="CUST-0002", policy="POL-0002", amount=4000, type="home", incident_date="2026-11-21", description="leak"}}`},
		{"sample_claims", "sample_claims([{count=100, seed=1, chunk=100}])",
			"{submitted=, claims={ids...}}",
			"Generates count realistic claims on the sample policies (load them with sample_data{} first) and files them with submit_many: most get assigned, some are on lapsed or unknown policies, for more than the policy covers or of a type it does not cover, so the processor rejects those. The same seed gives the same claims (dated in the last 90 days). Without the sample policies on the server it says so in a warning: the claims go in, and the processor rejects them as policy_not_found.",
			`sample_data{}; sample_claims{count=1000}`},
		{"submit_loop", "submit_loop([{every=20}])",
			"loop {status=function, stop=function}: status() -> {submitted=, failed=, retried=, waiting_ms=, longest_ms=, last_id=, last_stream=, last_entry=, last_error=, running=}; stop() -> the same with ids={...}, unsure={...}",
			"Files sample claims in the background, one every `every` ms after the last was acknowledged (0: at once), while the session goes on: the traffic a fault is injected under (lab step 13). Each claim is submitted under a claim id and an event id of its own; when Redis cannot take it (restarting, paused, failing over) it is tried again under the same ids until acknowledged, so one that landed unseen is returned, not written twice. retried counts those attempts, waiting_ms is how long the claim in flight has waited, longest_ms the longest any waited. status() reads the loop's counters without a Redis command (it answers during a pause). stop() lets the claim in flight finish (for up to 30 s: then it is in unsure, which may or may not have landed) and returns every acknowledged claim's id. Load the sample policies first (sample_data{}). Not stopped by stop(\"all\"); the session's end stops it.",
			`loop = submit_loop{every=10}; sleep(500); loop.status().submitted
ids = loop.stop().ids`},
		{"emit", "emit(id, type [, data [, {" + commandOptions + "}]])", claimReturned,
			"Appends any event type with a raw payload (under the wire field names, such as approved_amount), checked against its schema and the state machine like the commands. expected_version= refuses the append unless the claim is at that version (optimistic concurrency); every lifecycle command takes it too.",
			`emit(c.id, "claim.assigned", {adjuster="ADJ-002"}, {expected_version=1})`},
	}},
	{"claims.consume", "Consume with consumer groups", []apiDoc{
		{"consume", "consume(group, consumer [, {count=10, block=ms, pending=false}] [, handler])",
			"events | handled, failed",
			"XREADGROUP for one consumer of a group on claims:events (the group is created at the start of the stream if missing). Without block= it returns at once, with what there is; block=N waits up to N ms for new entries, and block=0 waits until one arrives, as BLOCK 0 does in Redis (Ctrl-C stops either wait). pending=true re-reads this consumer's own unacked entries instead. The events stay pending until ack(). With a handler function, calls it per event and acks the ones it handled without error; the others stay pending.",
			`evs = consume("processors", "w1", {count=5})
ack("processors", evs)`},
		{"ack", "ack(group, events | ids)", "number acked",
			"XACK: tells the group these entries are done, so they leave its pending list. Takes an event or a list of them (as consume returns them), a stream id or a list of ids; acking twice is harmless.",
			`ack("processors", evs)`},
	}},
	{"claims.workers", "Workers, recovery and dead letters", []apiDoc{
		{"sample_data", "sample_data([{customers=10, policies=20, seed=1}])", "{customers=, policies=, lapsed=, adjusters=}",
			"Loads customers (customer:<id>), policies (policy:<id>: holder, type, coverage limit, deductible, active or lapsed) and the adjusters set: lab step 3. Dates are relative to the day it runs: an active policy started at least 120 days ago and ends after today, and every fifth policy (POL-0005, POL-0010 ...) is lapsed: it ended long ago. The same seed on the same day writes the same data; running it twice is harmless. The processor rejects a claim whose incident date is outside its policy's period (outside_policy_period).",
			`sample_data{customers=10, policies=20}`},
		{"start", "start(name [, {consumer=, count=10, min_idle=30000, recover_every=5000, max_deliveries=5, log=true}])", "consumer",
			"Runs a built-in worker in the background: processor (read model claim:<id>, assigns or rejects submitted claims), analytics (claims:stats, snapshots to claims:analytics), notifications (claims:notifications), audit (claims:audit:<id>). Each is one consumer of its group, named <name>@<host> unless consumer= names it: the same name on every run on this machine, so a restarted worker resumes its own pending entries at once (a second one in the same session is <name>-2@<host>). Start two and they share the work. Every recover_every ms it takes over entries idle for min_idle ms; an entry delivered max_deliveries times goes to the DLQ. log=false keeps it quiet. In a seeded run (claimsctl --seed N) it does not run on its own: the session's workers take turns, one batch at a time in the order they were started, whenever the session waits (wait_idle, sleep, monitor, and after each REPL command), and never take over idle entries.",
			`start("processor"); start("analytics", {log=false})`},
		{"spawn", "spawn(file [, {consumer=, count=10, min_idle=30000, recover_every=5000, max_deliveries=5, log=true}])", "consumer",
			"Runs a Lua consumer in the background, with start()'s options (the consumer is <file name>@<host> by default): the file sets group = \"name\" and defines function handle(event). It runs in a claimsctl process of its own (claimsctl worker FILE) with at most 512 MB of memory (claimsctl run or repl --memory MB): one that uses more is stopped, and workers() says so, while this session and its other workers go on (in a sandbox it runs inside the sandboxed process instead). An error in handle leaves the event pending; it is retried and, after max_deliveries, dead-lettered. stop() lets it finish its batch; a handle() still running 3 s later is interrupted, its event left pending.",
			`spawn("scripts/consumers/high_value.lua")`},
		{"stop", "stop([name | consumer | \"all\"])", "number stopped",
			"Stops background workers (all of them by default); each finishes its current batch first. A name that matches no running worker is an error.",
			`stop("processor")`},
		{"workers", "workers()", "{{name=, group=, consumer=, kind=, running=, error=}}",
			"The background workers of this session, by name. kind is built-in or the file of a spawned consumer; error says why a worker ended on its own (\"stopped: it used more than 512 MB\").",
			`workers()`},
		{"wait_idle", "wait_idle([group | groups] [, {timeout=30}])", "true",
			"Waits until the groups have pending 0 and lag 0: every event read and acked. Without groups: every group of claims:events that a worker runs now, in this session or another terminal (a group nobody consumes would never be idle: name it to wait for it anyway). After timeout seconds it raises an error naming the groups still busy. In a seeded run the session's own workers first take their turns until none has work.",
			`wait_idle({"processors", "analytics"})`},
		{"stats", "stats()", "{events=, claims=, by_status=, by_claim_type=, by_hour=, claimed_total=, ...}",
			"The analytics worker's counters (claims:stats), kept incrementally as events arrive: by status, type, hour, amounts, processing times, adjuster workload. report() computes the same from the events. At the REPL, all zeros while no analytics worker runs come with a note saying so.",
			`stats().by_status`},
		{"audit_trail", "audit_trail(claim_id)", "{{at=, actor=, type=, version=, entry_id=, detail=}}",
			"The audit worker's compliance trail of a claim (claims:audit:<id>, a list of JSON lines, one per event in version order: LRANGE claims:audit:<id> 0 -1 in redis-cli): time, actor, event type, version, entry id. Self-contained, so it outlives a trim of the events.",
			`for _, a in ipairs(audit_trail(c.id)) do print(a.at, a.actor, a.type) end`},
		{"rebuild_read_model", "rebuild_read_model()", "{deleted=, claims=, events=, gaps=}",
			"Throws the processor's read model away (claim:<id> hashes, adjusters' load) and projects every event again: the CQRS read side is disposable, the events are the truth. Stop the processor first. gaps counts events skipped because their claim's start was trimmed.",
			`stop("processor"); rebuild_read_model()`},
		{"pending", "pending(group)", "{count=, lower=, higher=, consumers={<name>=n}, entries={{id=, consumer=, idle_ms=, deliveries=}}}",
			"XPENDING: the group's delivered but unacked entries, per consumer, with idle time and delivery count.",
			`pending("processors").entries[1].deliveries`},
		{"recover", "recover(group, consumer [, {min_idle=30000, count=100}])", "events, deleted_ids",
			"XAUTOCLAIM: takes over entries pending for at least min_idle ms (their consumer is presumed dead) and returns them as events with their delivery count, plus the ids deleted from the stream meanwhile.",
			`evs = recover("processors", "w2", {min_idle=5000}); ack("processors", evs)`},
		{"forget_consumers", "forget_consumers(group [, {idle=300000, to=}])", "{deleted={names}, handed_over=, kept={{name=, reason=}}}",
			"Removes the consumers of a group that are idle for idle ms (on the embedded server, which does not track idle time, any), run by no worker and hold no pending entries (XGROUP DELCONSUMER, which would drop a consumer's pending entries with it: that is checked in the same server-side script). With to=, the pending entries of those consumers are first handed over to that consumer (XCLAIM, a delivery), so they can go too; to handles them when it starts, or its recovery does if it runs. kept says which stayed and why.",
			`forget_consumers("processors")
forget_consumers("processors", {idle=60000, to="processor@myhost"})`},
		{"dlq", "dlq()", "{{id=, source_stream=, group=, source_id=, error=, deliveries=, dead_at=, type=, claim_id=, fields=}}",
			"The dead letters in claims:dlq: source entry, group, error, delivery count and original fields.",
			`for _, d in ipairs(dlq()) do print(d.source_id, d.error) end`},
		{"retry_dlq", "retry_dlq(id | \"all\")", "number handed back",
			"Hands dead letters back to the group that gave up on them, and to it alone: each event goes to that group's retry stream, claims:retry:<group> (its fields and retry_of=<its entry id in claims:events>), which the group's workers read beside claims:events, and the letter leaves the DLQ. claims:events is not written: the log holds each event once, and the other groups never see it again. The state view shows \"retries N\" on a group until its workers handled them (a worker reads them at start, when claims:events has nothing new, and every recover_every). Only events the store wrote go back; a malformed or forged entry is refused and stays in the DLQ.",
			`retry_dlq("all")`},
	}},
	{"claims.replay", "Replay and temporal queries", []apiDoc{
		{"replay", "replay([{from=, to=, type=, claim=, all=} [, handler]])", "iterator | count",
			"Iterates over claims:events (XRANGE), oldest first; with --partitions over every partition, merged by entry id. from/to are stream ids or times (\"2026-11-25T10:00:00Z\", or a number of seconds as os.time() gives; matched against occurred_at). With a handler as second argument, calls it per event and returns the count. Entries that are no event of this store (malformed, forged) are skipped with a note; all=true yields them too, with .error.",
			`for ev in replay{type="claim.approved"} do print(ev.claim_id, ev.data.approved_amount) end`},
		{"claim", "claim(id [, {at=time} | {version=n}])", "claim | nil, reason",
			"The claim's current state, or its state at a past time (\"2026-11-25T10:00:00Z\" or os.time() seconds) or after its first n events (a temporal query folded from its events). nil and a reason if it does not exist (yet).",
			`claim(c.id, {at="2026-11-25T10:00:00Z"}).status`},
		{"history", "history(id)", "events",
			"The claim's events in order: who did what, when.",
			`history(c.id)`},
		{"rebuild", "rebuild()", "{claims=, events=, malformed=, broken=, skipped=, newer=, payments=, shared_payments=, problems=}",
			"Recomputes every claim's write-side aggregate (version, state, entry ids) by folding claims:events from the start, so claim(id) and the commands work again after an import or after the aggregates were deleted; it records their payment ids in claims:payments too (a payment id another claim holds is a problem). Claims whose events do not fold from v1 (trimmed, or broken by a hand-written entry) are left as they were and listed in problems.",
			`rebuild().claims`},
	}},
	{"claims.report", "Analytics", []apiDoc{
		{"report", "report([{out=file}])", "{claims=, events=, by_status=, by_claim_type=, claims_per_hour=, claimed=, approved=, paid=, approval_rate=, avg_processing_seconds=, avg_processing=, avg_resolution_seconds=, avg_resolution=, ...}",
			"Analytics computed from the events: claims by status and type, per hour, amounts, approval rate, processing and resolution times (in seconds, and as the dashboard words them: avg_resolution = \"70ms\"), adjuster workload. With out=, also writes it as JSON.",
			`report{out="data/claims-analytics-report.json"}`},
		{"dashboard", "dashboard([{refresh=2, once=false, width=}])", "",
			"The analytics report drawn in the terminal: totals, approval rate, processing and resolution times, and bar charts of status, claim type, claims per hour and adjuster workload. Redraws every refresh seconds until Ctrl-C, which ends it normally (a Redis that restarts or fails over meanwhile gets a \"reconnecting\" line and the next frame); once=true draws a single frame. width is 60 to 1000 columns; without it the dashboard is as wide as the terminal (80 columns when the output is not a terminal). `claimsctl dashboard` does the same from the shell.",
			`dashboard{once=true}`},
	}},
	{"claims.ops", "Streams", []apiDoc{
		{"info", "info()", "{backend=, events={length=, first_id=, last_id=, last_ids=, memory_bytes=, ..., groups={<name>={pending=, lag=, consumers={<name>={pending=, idle_ms=, idle=}}}}, partitions=}, analytics=, notifications=, dlq=}",
			"The state view as a table: each stream's length, first and last id (and their types and times), memory; each group's pending, lag and consumers. With --partitions, events, notifications and dlq sum their partitions' streams, list each in .partitions, and last_ids holds each partition's last id (as monitor{from=} takes them).",
			`info().events.groups.processors.pending`},
		{"groups", "groups()", "{{name=, pending=, lag=, lag_counted=, last_delivered_id=, running={names}, consumers={{name=, pending=, idle_ms=, idle=, running=}}}}",
			"The consumer groups of claims:events as a list, by name: pending, lag (counted from the stream where the server reports none: lag_counted), last_delivered_id, and each consumer's pending and idle_ms (0 where the server does not track it: the embedded server, for a consumer that only read). idle=true marks a consumer idle for 5 minutes or more (ten times the default min_idle; the state view says idle too): Redis 7.0 counts idle from the last read that got entries, so a worker on a quiet stream grows idle as well. running lists the consumers that workers run now, in this session or any other process (each renews its field of the hash claims:alive:<group> every second), even before Redis lists them as consumers (it does once they are handed an entry); a listed consumer they run has running=true.",
			`for _, g in ipairs(groups()) do print(g.name, g.pending, g.lag) end`},
		{"trim", "trim{maxlen=N | before=time|id [, archive=file.jsonl, confirm=true, force=true, stream=, quiet=true]}", "plan {count=, first_id=, last_id=, groups=, warnings=, dry_run=, removed=, partitions=, ...}",
			"Removes old entries of claims:events (or stream=). It prints the plan first: how many entries would go, their ids and times, and a warning per group that still has some of them pending or unread; quiet=true leaves the plan out (the returned table has it, warnings too), for a trim whose plan was just shown by a dry run. Without confirm=true it is a dry run and writes nothing. With confirm=true it refuses while a group has pending or unread entries among them (unless force=true), writes the archive (JSON lines of id, stream and fields; the folder is created; a bar shows the progress on a terminal) before removing anything, and then removes exactly the planned entries (XTRIM MINID). before= is a time (mapped to the stream id of that millisecond) or a stream id. With partitions it trims every partition's stream: maxlen= keeps that many of each (XTRIM works on one stream), before= applies to all, one group at risk in any partition refuses the whole trim, the plan's figures are totals with each stream's in partitions, and its warning of a group (and the refusal) is one line, summed over the partitions and saying in which (warnings= keeps a line per stream). The plan is counted and the archive written a page at a time, so memory stays flat however long the stream.",
			`trim{maxlen=1000}
trim{before="2026-11-25T00:00:00Z", archive="data/archive/2026-11-24.jsonl", confirm=true}`},
		{"import", "import(file.jsonl [, {stream=}])", "number imported, target streams",
			"Loads an archive written by trim back with the original entry ids (XADD with explicit ids, a MULTI/EXEC per 1000). The whole file is checked first: a malformed line (named by its number) or a target that already has entries at or after the archived ids is refused, and nothing is written. Into claims:events (the default) each entry goes to its claim's partition; after that, rebuild() brings the claims back. Into a named stream, an archive of one stream goes to that stream; an archive of several partitions goes to one stream per partition (name:p0, name:p1 ...), as their ids interleave and may repeat. Returns the count and the list of streams written. The file is read twice instead of held in memory; a bar shows the progress on a terminal.",
			`n, targets = import("data/archive/2026-11-24.jsonl", {stream="claims:restored"})`},
	}},
	{"claims.chaos", "Faults on purpose (the table chaos: chaos.kill, chaos.pause ...)", []apiDoc{
		{"chaos.kill", "chaos.kill(worker | consumer)", "{worker=, consumer=, group=, killed=\"goroutine\"|\"process\", pid=, pending=}",
			"Kills a running worker as kill -9 does. One this session started (start) is a goroutine: it is abandoned mid-batch, writing nothing more and acknowledging nothing (no XACK), its running mark left to expire; one another terminal runs (`claimsctl worker`, or a spawned child) is a process, found by the pid it keeps in claims:pids:<group>, and gets SIGKILL. Either way its read entries stay in its PEL: pending counts them, for a restart under the same consumer name or another consumer's recovery (XAUTOCLAIM after min_idle) to handle. Prints what it did and what to watch.",
			`chaos.kill("processor")`},
		{"chaos.pause", "chaos.pause(ms)", "{ms=, nodes={addr}}",
			"CLIENT PAUSE ms ALL on the server (every master of a cluster): for ms milliseconds no client is answered; commands wait rather than fail, and it ends by itself. Not on the embedded server. ms is 1 to 60000.",
			`chaos.pause(2000); submit{customer="CUST-0001", policy="POL-0001", amount=100, type="auto", incident_date="2026-11-20", description="waits out the pause"}`},
		{"chaos.drop_clients", "chaos.drop_clients()", "{closed=, nodes={addr}}",
			"CLIENT KILL TYPE normal SKIPME yes on the server (every master): closes every client connection but its own, workers', dashboards' and other terminals' alike (replicas and the cluster bus are kept). Clients reconnect by themselves; what a worker read and did not acknowledge stays pending. Not on the embedded server.",
			`chaos.drop_clients().closed`},
		{"chaos.slow", "chaos.slow(worker, ms [, {consumer=, count=10, min_idle=30000, recover_every=5000, max_deliveries=5, log=true}])", "consumer",
			"Starts one more consumer of a built-in worker's group that sleeps ms per entry before deciding it: its share of the entries waits in its PEL, the group's lag grows, and what it holds past min_idle is taken over by the others. stop(consumer) ends it.",
			`c = chaos.slow("analytics", 200)`},
		{"chaos.crash_on", "chaos.crash_on(worker, predicate [, {restarts=0, consumer=, count=1, min_idle=30000, recover_every=5000, max_deliveries=5, log=true}])", "consumer",
			"Starts one more consumer of a built-in worker's group that dies as kill -9 would (no XACK) when an entry it is handed matches predicate(event), a Lua function of the event alone (it runs on the worker's own Lua state: no local variables of yours). It reads one entry at a time (count=1), so a crash abandons only the entry that caused it, which stays pending, for the other consumers to take over once idle for min_idle. With restarts=N it is started again up to N times, each time as a new consumer (<name>-2 ...) that takes the dead one's entries over after min_idle and crashes again on the same entry, whose delivery count rises until max_deliveries sends it to the DLQ.",
			`chaos.crash_on("processor", function(e) return e.type == "claim.submitted" and e.data.amount > 9000 end, {restarts=5, min_idle=1000, recover_every=200})`},
		{"chaos.restart_server", "chaos.restart_server()", "{pid_before=, pid_after=, events_before=, events_after=, down_ms=}",
			"Kills -9 the redis-server (its pid from INFO server) that `claimsctl serve --aof` runs, which starts it again on the same port and AOF, and waits until it answers as a new process: the events survive, and the counts before and after say so. Refused where nothing would restart it (a server not started by claimsctl serve --aof, AOF off) and on the embedded server, which keeps its data in memory only.",
			`chaos.restart_server()`},
		{"chaos.failover", "chaos.failover([partition | \"master\" [, {kill=false}]])", "{old_master=, new_master=, slot=, stream=, how=, ms=}",
			"On a cluster with replicas: the master serving the partition's stream (default 0) hands its slots to its replica. By default CLUSTER FAILOVER on the replica (a planned failover: the master pauses writes until the replica has caught up); with kill=true, kill -9 of the master's process, where `claimsctl serve --cluster` started it (it starts the dead node again, as a replica). Only a replica in sync counts (INFO replication: master_link_status:up): one still copying its master, such as a master a failover just demoted, would not be elected. Waits until the replica says myself,master in CLUSTER NODES.",
			`chaos.failover(0, {kill=true})`},
		{"chaos.can", "chaos.can(fault)", "ok [, why]",
			"Whether a fault is possible on this server (kill, pause, drop_clients, slow, crash_on, restart_server, failover, failover_kill), and why not: what lab step 13 (scripts/step13.lua) checks before it skips one.",
			`print(chaos.can("restart_server"))`},
	}},
	{"claims.teach", "Teaching and exercises", []apiDoc{
		{"expect", "expect(cond [, message])", "",
			"Records a failed expectation (with its line) when cond is false; the script goes on, and `claimsctl run` then exits 3.",
			`expect(claim(c.id).status == "approved", "the claim should be approved")`},
		{"check", "check(name, fn)", "passed",
			"Runs fn as one named check of an exercise; it passes when fn raises no error and no expect() in it fails. `claimsctl check` counts only the checks of the exercise's lib/ module, which it runs itself: a hand-in's own check() calls run but do not count.",
			`check("claim is approved", function() expect(claim(c.id).status == "approved", "status") end)`},
		{"trace", "trace([true | false])", "previous setting",
			"Prints the Redis commands each primitive sends (XADD, XREADGROUP, EVALSHA ...); trace() is trace(true).",
			`trace(true); submit{...}`},
		{"help", "help([name])", "",
			"Lists the API by topic, or shows one entry with an example. help(\"libraries\") lists Lua's standard libraries here; help of a Redis command (help(\"xadd\")) says how to send it with redis() and which function sends it for you.",
			`help("consume")`},
	}},
	{"claims.lab", "The lab's environment", []apiDoc{
		{"server", "server()", "{backend=, version=, mode=, aof=, persistence=, partitions=, redis_cli=, config_refused=, seed=}",
			"The Redis server in use: backend line, version, mode and persistence (AOF or not): lab step 1. redis_cli is the redis-cli command that reaches it (\"redis-cli -p 16399\"; for an ACL user \"redis-cli -p 16399 --user alice --askpass\"), never with a password; \"\" for an embedded server that ends with this run. config_refused is true when the server refused CONFIG GET (a managed Redis, a student's user of claimsctl class add). seed is the run's seed in a seeded run (claimsctl --seed N), else nil.",
			`server().persistence`},
		{"schema", "schema([type])", "{{type=, required=, optional=, rules={<field>=rule}, follows=}} | one entry",
			"The eight event types with their required and optional payload fields, each field's rule in words, and the statuses each may follow: lab step 2. The rules of everything else (ids, names, options, what is printed) are under Validation in docs/lua-api.md.",
			`for _, s in ipairs(schema()) do print(s.type, table.concat(s.required, ", ")) end
schema("claim.submitted").rules.amount`},
		{"redis", "redis(command, args...)", "reply",
			"Sends one raw Redis command, as redis-cli would, and returns the reply (arrays as tables). Keys are used as typed: wrap them in key() so that --prefix applies.",
			`redis("XLEN", key("claims:events"))
redis("HGETALL", key("policy:POL-0001"))`},
		{"key", "key(name[, partition | claim_id])", "key",
			"The Redis key for a lab name in this session: with --prefix P it is P..name. With --partitions, a claim's keys (claim:<id>, claims:aggregate:<id>, claims:audit:<id>) carry its partition's hash tag, and a key each partition has (claims:events, claims:dlq, claims:notifications …) needs the partition, 0 to N-1, or a claim id for that claim's. Use it with redis().",
			`redis("HGETALL", key("claim:" .. c.id))
redis("XLEN", key("claims:events", 0))
redis("XRANGE", key("claims:events", c.id), "-", "+")`},
		{"slot", "slot(key)", "number",
			"The Redis Cluster hash slot (0 to 16383) of a key, as CLUSTER KEYSLOT computes it: CRC16 of its hash tag, the part between { and }, if it has one, else of the whole key. Keys with the same tag share a slot, which is what lets one script or MULTI touch them all on a cluster.",
			`slot(key("claim:" .. c.id)) == slot(key("claims:events", c.id))`},
		{"keyspace", "keyspace([{prefix=, partitions=}])", "{prefix=, partitions=}",
			"Moves this session to a keyspace of its own under prefix (after the session's --prefix), laid out in that many partitions: every function works there from now on, and the state view shows it. keyspace() comes back. A keyspace remembers its partitions: asking another count of one that has events is refused. Workers started before stay where they were. Not in a sandbox.",
			`keyspace{prefix="step12:", partitions=4}; sample_data{}; keyspace()`},
		{"keys", "keys(pattern)", "sorted names",
			"The keys matching a pattern under this session's --prefix (SCAN MATCH, which unlike KEYS does not block the server), sorted and without the prefix.",
			`#keys("customer:*")`},
		{"sleep", "sleep(ms)", "",
			"Waits ms milliseconds; Ctrl-C interrupts it. Useful to let pending entries become idle. In a seeded run the session's workers first take their turns until none has work, and the run's clock moves on ms.",
			`sleep(200)`},
		{"monitor", "monitor([{seconds=, events=, from=id | {id, ...}}])", "number seen",
			"A live tail of claims:events (XREAD BLOCK, no group) with each group's progress, until Ctrl-C or a limit: lab step 6. Starts at the end of the stream, or after the entry id from. With --partitions an entry id orders only its own partition's entries: give one id per partition (info().events.last_ids) to start exactly where each ended. A Redis that restarts or fails over meanwhile is waited for (a \"reconnecting\" line), from where the tail was. In a seeded run, whenever nothing new is there, one of the session's workers takes its turn (one batch), so the tail shows them batch after batch.",
			`monitor{seconds=5}
monitor{from=info().events.last_ids, events=4}`},
	}},
}

// validationReference is the Validation section of docs/lua-api.md: every
// rule an input follows, in one place, from the constants the code checks.
func validationReference() string {
	return fmt.Sprintf(`Every input has a rule. Breaking one is an error that names the field or option and the rule,
and nothing is written or started. `+"`schema()`"+` shows the rule of each payload field.

- **Amounts** (`+"`amount`, `approved_amount`"+`, a payment's `+"`amount`"+`):
  %s. NaN and infinity are refused by name. Float noise from arithmetic is read as the cent it means
  (`+"`1234 * 0.85`"+` is 1048.8999999999999 in floating point, approved as 1048.90); 0.001 is refused.
- **incident_date**: %s (2026-02-30 is refused).
- **Text** (`+"`description`, `findings`, `reason`, `note`, `filename`, `adjuster`"+`, and the actor):
  UTF-8 without control characters: no C0 character (NUL, tab, newline, ESC, ...), DEL or C1
  character, no bidirectional control (U+061C, U+200E, U+200F, U+202A to U+202E, U+2066 to
  U+2069) and no line or paragraph separator (U+2028, U+2029). Lengths count characters (Unicode
  code points), not bytes: description, findings and reason at most %d, the others %d, the actor %d.
- **Ids in payloads** (`+"`customer_id`, `policy_id`, `payment_id`"+`) and **group and consumer
  names**: %s.
  A bad consumer name in `+"`start()`"+` or `+"`spawn()`"+` is an error at once, before
  the worker starts. A `+"`payment_id`"+` belongs to one claim: `+"`pay()`"+` with an id another
  claim's payment has is refused (`+"`claims:payments`"+` records them, across partitions).
- **Claim ids** (`+"`submit{id=}`"+` and the first argument of every command):
  %s. Where a claim is looked up, a unique prefix of at least 8 characters will do.
- **Option types are exact**: `+"`expected_version=`"+` is a whole number, 0 or more (1.5 and 1e300
  are refused, not truncated); `+"`id=`"+` and `+"`actor=`"+` are strings (a number or a table is
  refused, not ignored); counts (`+"`count=`, `max_deliveries=`, `events=`"+`) are whole and at least
  1; milliseconds are whole (`+"`min_idle=`, `recover_every=`"+` 1 or more; `+"`block=`"+` is 0, wait
  until an event arrives, or more);
  seconds (`+"`timeout=`, `seconds=`"+`) are a number above 0; `+"`sample_data`"+`'s `+"`customers=`"+`
  and `+"`policies=`"+` are whole, 1 to %d, and `+"`seed=`"+` whole; `+"`trim`"+`'s `+"`maxlen=`"+`
  whole, 0 or more. An option left out takes its default; a 0 given is never read as "the default".
- **Entries written by other tools**: an entry of claims:events whose claim_id is not a claim id
  is malformed: it goes to the DLQ and its id never reaches a key name or a log line.
- **What is printed**: anything that came from Redis (event fields, stream, group and consumer
  names, dead letters, worker log lines, the dashboard's labels) is shown with its control
  characters escaped as Go writes them (`+"`\\x1b`, `\\n`, `\\u202e`"+`), so no entry can forge a
  log line or drive the terminal.
`,
		claims.AmountRule, claims.DateRule,
		claims.MaxDescriptionLength, claims.DefaultTextLength, claims.MaxNameLength,
		claims.NameRule, claims.ClaimIDRule, claims.MaxSampleRecords)
}

func docByName(name string) (apiDoc, bool) {
	for _, m := range reference {
		for _, d := range m.Funcs {
			if d.Name == name {
				return d, true
			}
		}
	}
	return apiDoc{}, false
}
