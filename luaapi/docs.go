package luaapi

import (
	"fmt"
	"strings"
)

// apiDoc documents one Lua function: help(), Tab completion and
// docs/lua-api.md are all checked against this one list.
type apiDoc struct {
	Name, Topic, Signature, Summary, Example string
}

var topics = []struct{ key, title string }{
	{"produce", "Produce events (each appends one event through the version-checking script)"},
	{"consume", "Consume with consumer groups"},
	{"workers", "Workers, recovery and dead letters"},
	{"replay", "Replay and temporal queries"},
	{"report", "Analytics"},
	{"ops", "Streams"},
	{"teach", "Teaching and exercises"},
	{"lab", "The lab's environment"},
}

var apiDocs = []apiDoc{
	{"server", "lab", "server()", "The Redis server in use: backend line, version, mode and persistence (AOF or not): lab step 1.", `server().persistence`},
	{"schema", "lab", "schema([type])", "The eight event types with their required and optional payload fields and the statuses each may follow: lab step 2.", `for _, s in ipairs(schema()) do print(s.type, table.concat(s.required, ", ")) end`},
	{"redis", "lab", "redis(command, args...)", "Sends one raw Redis command, as redis-cli would, and returns the reply (arrays as tables). Keys are used as typed: wrap them in key() so that --prefix applies.", `redis("XLEN", key("claims:events"))
redis("HGETALL", key("policy:POL-0001"))`},
	{"key", "lab", "key(name)", "The Redis key for name in this session: with --prefix P it is P..name. Use it with redis().", `redis("HGETALL", key("claim:" .. c.id))`},
	{"keys", "lab", "keys(pattern)", "The keys matching a pattern (SCAN MATCH, which unlike KEYS does not block the server), sorted.", `#keys("customer:*")`},
	{"sleep", "lab", "sleep(ms)", "Waits ms milliseconds; Ctrl-C interrupts it. Useful to let pending entries become idle.", `sleep(200)`},
	{"monitor", "lab", "monitor([{seconds=, events=, from=id}])", "A live tail of claims:events (XREAD BLOCK, no group) with each group's progress, until Ctrl-C or a limit: lab step 6. Starts at the end of the stream, or after the entry id from. Returns the number of events seen.", `monitor{seconds=5}`},
	{"submit", "produce", "submit{customer=, policy=, amount=, type=, incident_date=, description=}", "Files a new claim: appends claim.submitted and returns the claim (id, version, status, event_id = its stream entry id). Invalid fields are refused and nothing is written. type is one of auto, home, health, life, property, travel, liability.", `c = submit{customer="CUST-0001", policy="POL-0001", amount=2500, type="auto", incident_date="2026-11-20", description="rear-ended at a light"}`},
	{"assign", "produce", "assign(id, {adjuster=} | adjuster)", "Appends claim.assigned: an adjuster takes the claim.", `assign(c.id, "ADJ-001")`},
	{"upload", "produce", "upload(id, {type=, file=})", "Appends claim.document.uploaded. type is one of photo, police_report, estimate, invoice, receipt, medical_report, other.", `upload(c.id, {type="photo", file="bumper.jpg"})`},
	{"investigate", "produce", "investigate(id, {phase=\"started\"|\"completed\", findings=, fraud_risk=})", "Appends claim.investigated; phase defaults to completed, which needs findings.", `investigate(c.id, {phase="started"})
investigate(c.id, {findings="damage matches the police report", fraud_risk="low"})`},
	{"approve", "produce", "approve(id, {amount=} | amount)", "Appends claim.approved; the amount must not exceed the claimed amount.", `approve(c.id, 2000)`},
	{"reject", "produce", "reject(id, {reason=, code=} | reason)", "Appends claim.rejected, a final status.", `reject(c.id, {reason="policy lapsed", code="policy_inactive"})`},
	{"pay", "produce", "pay(id [, {method=, amount=, payment_id=}])", "Appends claim.payment.initiated for the approved amount.", `pay(c.id, {method="bank_transfer"})`},
	{"settle", "produce", "settle(id)", "Appends claim.payment.completed, a final status.", `settle(c.id)`},
	{"emit", "produce", "emit(id, type, data [, {expected_version=, actor=}])", "Appends any event type with a raw payload; every lifecycle command also takes expected_version for optimistic concurrency.", `emit(c.id, "claim.assigned", {adjuster="ADJ-002"}, {expected_version=1})`},
	{"consume", "consume", "consume(group, consumer [, {count=10, block=ms, pending=false}] [, handler])", "XREADGROUP for one consumer of a group on claims:events (the group is created at the start of the stream if missing). Returns the events, which stay pending until ack(). With a handler function, calls it per event and acks the ones it handled without error.", `evs = consume("processors", "w1", {count=5})
ack("processors", evs)`},
	{"ack", "consume", "ack(group, events | ids)", "XACK: tells the group these entries are done, so they leave its pending list.", `ack("processors", evs)`},
	{"sample_data", "workers", "sample_data{customers=10, policies=20, seed=1}", "Loads customers (customer:<id>), policies (policy:<id>: holder, type, coverage limit, deductible, active or lapsed) and the adjusters set: lab step 3. The same seed writes the same data; running it twice is harmless. Every fifth policy (POL-0005, POL-0010 ...) is lapsed.", `sample_data{customers=10, policies=20}`},
	{"start", "workers", "start(name [, {consumer=, count=, min_idle=ms, recover_every=ms, max_deliveries=5, log=true}])", "Runs a built-in worker in the background: processor (read model claim:<id>, assigns or rejects submitted claims), analytics (claims:stats, snapshots to claims:analytics), notifications (claims:notifications), audit (claims:audit:<id>). Each is one consumer of its group; start two with different consumer= names and they share the work.", `start("processor"); start("analytics", {log=false})`},
	{"spawn", "workers", "spawn(file [, {consumer=, ...}])", "Runs a Lua consumer in the background on its own Lua state: the file sets group = \"name\" and defines function handle(event). An error in handle leaves the event pending; it is retried and, after max_deliveries, dead-lettered.", `spawn("scripts/consumers/high_value.lua")`},
	{"stop", "workers", "stop([name | consumer | \"all\"])", "Stops background workers; each finishes its current batch first.", `stop("processor")`},
	{"workers", "workers", "workers()", "The background workers of this session: name, group, consumer, running.", `workers()`},
	{"wait_idle", "workers", "wait_idle([group | groups] [, {timeout=30}])", "Waits until the groups (default all on claims:events) have pending 0 and lag 0: every event read and acked.", `wait_idle({"processors", "analytics"})`},
	{"stats", "workers", "stats()", "The analytics worker's counters (claims:stats), kept incrementally as events arrive: by status, type, hour, amounts, processing times, adjuster workload. report() computes the same from the events.", `stats().by_status`},
	{"audit_trail", "workers", "audit_trail(claim_id)", "The audit worker's compliance trail of a claim (claims:audit:<id>): time, actor, event type, version, entry id.", `for _, a in ipairs(audit_trail(c.id)) do print(a.at, a.actor, a.type) end`},
	{"rebuild_read_model", "workers", "rebuild_read_model()", "Throws the processor's read model away (claim:<id> hashes, adjusters' load) and projects every event again: the CQRS read side is disposable, the events are the truth. Stop the processor first.", `stop("processor"); rebuild_read_model()`},
	{"pending", "workers", "pending(group)", "XPENDING: the group's delivered but unacked entries, per consumer, with idle time and delivery count.", `pending("processors").entries[1].deliveries`},
	{"recover", "workers", "recover(group, consumer [, {min_idle=30000, count=100}])", "XAUTOCLAIM: takes over entries pending for at least min_idle ms (their consumer is presumed dead) and returns them as events with their delivery count, plus the ids deleted from the stream meanwhile.", `evs = recover("processors", "w2", {min_idle=5000}); ack("processors", evs)`},
	{"dlq", "workers", "dlq()", "The dead letters in claims:dlq: source entry, group, error, delivery count and original fields.", `for _, d in ipairs(dlq()) do print(d.source_id, d.error) end`},
	{"retry_dlq", "workers", "retry_dlq(id | \"all\")", "Puts dead letters back on claims:events as new entries, so the groups deliver them again, and removes them from the DLQ. A malformed entry will come back to the DLQ.", `retry_dlq("all")`},
	{"replay", "replay", "replay{from=, to=, type=, claim=}", "Iterates over claims:events (XRANGE), oldest first. from/to are stream ids or times (\"2026-11-25T10:00:00Z\", matched against occurred_at). With a handler as second argument, calls it per event and returns the count.", `for ev in replay{type="claim.approved"} do print(ev.claim_id, ev.data.approved_amount) end`},
	{"claim", "replay", "claim(id [, {at=time} | {version=n}])", "The claim's current state, or its state at a past time or after its first n events (a temporal query folded from its events). nil and a reason if it does not exist (yet).", `claim(c.id, {at="2026-11-25T10:00:00Z"}).status`},
	{"history", "replay", "history(id)", "The claim's events in order: who did what, when.", `history(c.id)`},
	{"report", "report", "report([{out=file}])", "Analytics computed from the events: claims by status and type, per hour, amounts, approval rate, processing and resolution times, adjuster workload. With out=, also writes it as JSON.", `report{out="data/claims-analytics-report.json"}`},
	{"info", "ops", "info()", "The state view as a table: each stream's length, first and last id; each group's pending, lag and consumers.", `info().events.groups.processors.pending`},
	{"expect", "teach", "expect(cond, message)", "Records a failed expectation (with its line) when cond is false; `claimsctl run` then exits 3.", `expect(claim(c.id).status == "approved", "the claim should be approved")`},
	{"check", "teach", "check(name, fn)", "Runs fn as one named check of an exercise; it passes when fn raises no error and no expect() in it fails.", `check("claim is approved", function() expect(claim(c.id).status == "approved", "status") end)`},
	{"trace", "teach", "trace(true | false)", "Prints the Redis commands each primitive sends (XADD, XREADGROUP, EVALSHA ...).", `trace(true); submit{...}`},
	{"help", "teach", "help([name])", "Lists the API by topic, or shows one entry with an example.", `help("consume")`},
	{"groups", "ops", "groups()", "The consumer groups of claims:events as a list, by name: pending, lag (counted from the stream where the server reports none), last_delivered_id, and each consumer's pending and idle_ms.", `for _, g in ipairs(groups()) do print(g.name, g.pending, g.lag) end`},
	{"trim", "ops", "trim{maxlen=N | before=time|id [, archive=file.jsonl, confirm=true, force=true, stream=]}", "Removes old entries of claims:events (or stream=). It always prints the plan first: how many entries would go, their ids and times, and a warning per group that still has some of them pending or unread. Without confirm=true it is a dry run and writes nothing. With confirm=true it refuses while a group has pending or unread entries among them (unless force=true), writes the archive (JSON lines, the folder is created) before removing anything, and then removes exactly the planned entries (XTRIM MINID). before= is a time (mapped to the stream id of that millisecond) or a stream id. Returns the plan table (count, first_id, last_id, groups, warnings, removed).", `trim{maxlen=1000}
trim{before="2026-11-25T00:00:00Z", archive="data/archive/2026-11-24.jsonl", confirm=true}`},
	{"import", "ops", "import(file.jsonl [, {stream=}])", "Loads an archive written by trim back with the original entry ids (XADD with explicit ids), into claims:events or any stream name. The whole file is checked first: a malformed line (named by its number) or a target that already has entries at or after the archived ids is refused, and nothing is written. Returns the number of entries imported; after an import into claims:events, rebuild() brings the claims back.", `import("data/archive/2026-11-24.jsonl", {stream="claims:restored"})`},
	{"rebuild", "replay", "rebuild()", "Recomputes every claim's write-side aggregate (version, state, entry ids) by folding claims:events from the start, so claim(id) and the commands work again after an import or after the aggregates were deleted. Claims whose events do not fold from v1 (trimmed, or broken by a hand-written entry) are left as they were and listed. Returns {claims=, events=, malformed=, broken=, skipped=, newer=, problems=}.", `rebuild().claims`},
	{"dashboard", "report", "dashboard([{refresh=2, once=false, width=80}])", "The analytics report drawn in the terminal: totals, approval rate, processing and resolution times, and bar charts of status, claim type, claims per hour and adjuster workload. Redraws every refresh seconds until Ctrl-C, which ends it normally; once=true draws a single frame. `claimsctl dashboard` does the same from the shell.", `dashboard{once=true}`},
}

func docByName(name string) (apiDoc, bool) {
	for _, d := range apiDocs {
		if d.Name == name {
			return d, true
		}
	}
	return apiDoc{}, false
}

// MarkdownReference renders the API reference kept in docs/lua-api.md
// (a test checks the file matches; `go test ./luaapi -update` rewrites it).
func MarkdownReference() string {
	var b strings.Builder
	b.WriteString(`# claimsctl Lua API

Every function is a global (type ` + "`submit{...}`" + ` at the REPL) and is also in a module:
` + "`local p = require(\"claims.produce\")`" + ` (modules: claims.produce, claims.consume,
claims.workers, claims.replay, claims.report, claims.ops, claims.teach, claims.lab). Options come in one trailing table and
unknown option names are refused. Stream ids are strings. Errors are Lua errors with file:line;
catch them with ` + "`pcall`" + `. ` + "`help()`" + ` at the REPL shows the same text.

This file is generated from luaapi/docs.go: edit there, then run ` + "`go test ./luaapi -update`" + `.
`)
	for _, topic := range topics {
		fmt.Fprintf(&b, "\n## %s\n", topic.title)
		for _, d := range apiDocs {
			if d.Topic != topic.key {
				continue
			}
			fmt.Fprintf(&b, "\n### `%s`\n\n%s\n", d.Signature, d.Summary)
			if d.Example != "" {
				fmt.Fprintf(&b, "\n```lua\n%s\n```\n", d.Example)
			}
		}
	}
	return b.String()
}
