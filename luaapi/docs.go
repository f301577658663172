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
	{"replay", "Replay and temporal queries"},
	{"report", "Analytics"},
	{"ops", "Streams"},
	{"teach", "Teaching and exercises"},
	{"lab", "The lab's environment"},
}

var apiDocs = []apiDoc{
	{"server", "lab", "server()", "The Redis server in use: backend line, version, mode and persistence (AOF or not): lab step 1.", `server().persistence`},
	{"schema", "lab", "schema([type])", "The eight event types with their required and optional payload fields and the statuses each may follow: lab step 2.", `for _, s in ipairs(schema()) do print(s.type, table.concat(s.required, ", ")) end`},
	{"monitor", "lab", "monitor([{seconds=, events=}])", "A live tail of claims:events (XREAD BLOCK, no group) with each group's progress, until Ctrl-C or the limit: lab step 6. Returns the number of events seen.", `monitor{seconds=5}`},
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
	{"replay", "replay", "replay{from=, to=, type=, claim=}", "Iterates over claims:events (XRANGE), oldest first. from/to are stream ids or times (\"2026-11-25T10:00:00Z\", matched against occurred_at). With a handler as second argument, calls it per event and returns the count.", `for ev in replay{type="claim.approved"} do print(ev.claim_id, ev.data.approved_amount) end`},
	{"claim", "replay", "claim(id [, {at=time} | {version=n}])", "The claim's current state, or its state at a past time or after its first n events (a temporal query folded from its events). nil and a reason if it does not exist (yet).", `claim(c.id, {at="2026-11-25T10:00:00Z"}).status`},
	{"history", "replay", "history(id)", "The claim's events in order: who did what, when.", `history(c.id)`},
	{"report", "report", "report([{out=file}])", "Analytics computed from the events: claims by status and type, per hour, amounts, approval rate, processing and resolution times, adjuster workload. With out=, also writes it as JSON.", `report{out="data/claims-analytics-report.json"}`},
	{"info", "ops", "info()", "The state view as a table: each stream's length, first and last id; each group's pending, lag and consumers.", `info().events.groups.processors.pending`},
	{"expect", "teach", "expect(cond, message)", "Records a failed expectation (with its line) when cond is false; `claimsctl run` then exits 3.", `expect(claim(c.id).status == "approved", "the claim should be approved")`},
	{"check", "teach", "check(name, fn)", "Runs fn as one named check of an exercise; it passes when fn raises no error and no expect() in it fails.", `check("claim is approved", function() expect(claim(c.id).status == "approved", "status") end)`},
	{"trace", "teach", "trace(true | false)", "Prints the Redis commands each primitive sends (XADD, XREADGROUP, EVALSHA ...).", `trace(true); submit{...}`},
	{"help", "teach", "help([name])", "Lists the API by topic, or shows one entry with an example.", `help("consume")`},
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
claims.replay, claims.report, claims.ops, claims.teach). Options come in one trailing table and
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
