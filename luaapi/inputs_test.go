package luaapi

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"claimsctl/streams"
	"claimsctl/streams/claims"
	"claimsctl/streams/streamstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// inputSetup leaves a submitted claim c and an investigated claim inv, and
// a consumer file whose group is not a valid name.
const inputSetup = `
	local function new(desc)
		return submit{customer="CUST-0001", policy="POL-0001", amount=1000, type="auto",
		              incident_date="2026-01-01", description=desc}
	end
	c = new("submitted")
	inv = new("investigated")
	assign(inv.id, "ADJ-001")
	investigate(inv.id, {findings = "ok"})
	claim_fields = {customer="CUST-0001", policy="POL-0001", amount=1000, type="auto",
	                incident_date="2026-01-01", description="d"}
	function with(k, v)
		local t = {}
		for key, val in pairs(claim_fields) do t[key] = val end
		t[k] = v
		return t
	end
`

// TestInputRules: every input the Lua API takes has a rule, and breaking it
// is an error at once that names the option or field and the rule; nothing
// is written and no worker starts. Each case was accepted before (and
// wrote an event, or started a worker that died, or used another value).
func TestInputRules(t *testing.T) {
	t.Parallel()
	store := streamstest.Embedded(t)(t, streams.Options{})
	rdb := store.Client()
	rt, out := newRuntime(t, store, false)
	ctx := context.Background()
	badGroup := filepath.Join(t.TempDir(), "bad.lua")
	require.NoError(t, os.WriteFile(badGroup, []byte(`group = "high value"
function handle(ev) end`), 0o644))
	require.NoError(t, rt.DoString(ctx, inputSetup, "setup"), out.String())

	tests := []struct{ name, code, want string }{
		// amounts
		{"amount below a cent", `submit(with("amount", 1e-9))`, "amount must have at most two decimals (whole cents), got 1e-09"},
		{"amount of math.huge", `submit(with("amount", math.huge))`, "amount must be at most 10000000, got 1.79769e+308"},
		{"amount NaN", `submit(with("amount", 0/0))`, "amount must be a finite number, got NaN"},
		{"approve a tenth of a cent", `approve(inv.id, 0.001)`, "claim.approved: amount must have at most two decimals (whole cents), got 0.001"},
		{"approve NaN", `approve(inv.id, 0/0)`, "approve: bad argument #2: amount must be a finite number, got NaN"},
		{"approve infinity", `approve(inv.id, {amount = 1/0})`, "amount must be a finite number, got infinity"},
		// dates
		{"incident in year one", `submit(with("incident_date", "0001-01-01"))`, "incident_date must be on or after 1900-01-01, got 0001-01-01"},
		{"incident on February 30", `submit(with("incident_date", "2026-02-30"))`, "incident_date must be a date like 2026-11-20"},
		// text
		{"description NUL", `submit(with("description", "a\0b"))`, `description must not hold control characters, got '\x00' at character 2`},
		{"description ANSI", `submit(with("description", "\27[2J\27[Hwiped"))`, `description must not hold control characters, got '\x1b' at character 1`},
		{"description in characters", `submit(with("description", string.rep("é", 2001)))`, "description must be at most 2000 characters, got 2001"},
		{"file name ANSI", `upload(c.id, {type = "photo", file = "a\27[31m.jpg"})`, "file must not hold control characters"},
		{"reason newline", `reject(c.id, "lapsed\n  [audit forged]")`, `reason must not hold control characters, got '\n'`},
		{"adjuster ANSI", `assign(c.id, "ADJ\27[31m")`, "adjuster must not hold control characters"},
		{"customer id with a space", `submit(with("customer", "CUST 1"))`, "customer may hold only letters, digits, '-', '_', '.', ':' and '@'; got ' '"},
		// claim ids and actors
		{"id forging a log line", `submit(with("id", "x\naudit a1  1-0  claim.approved"))`, `submit: bad argument #1: id may hold only letters, digits, '-', '_' and '.'; got '\n'`},
		{"id of 1 MB", `submit(with("id", string.rep("a", 1048576)))`, "id must be at most 64 characters, got 1048576"},
		{"id a number", `submit(with("id", 42))`, "submit: bad argument #1: id must be a string (a claim id), got a number"},
		{"id a table", `submit(with("id", {}))`, "id must be a string (a claim id), got a table"},
		{"id empty", `submit(with("id", ""))`, "id must not be empty (leave id out and the claim gets a new uuid)"},
		{"actor of 1 MB", `submit(with("actor", string.rep("a", 1048576)))`, "actor must be at most 64 characters, got 1048576"},
		{"actor a number", `submit(with("actor", 7))`, "actor must be a string (who files the claim), got a number"},
		{"command actor a table", `assign(c.id, {adjuster = "ADJ-1", actor = {}})`, "assign: bad argument #2: actor must be a string (who did it), got a table"},
		{"command actor newline", `assign(c.id, {adjuster = "ADJ-1", actor = "me\nforged"})`, `actor must not hold control characters, got '\n'`},
		{"emit actor a number", `emit(c.id, "claim.assigned", {adjuster = "ADJ-1"}, {actor = 5})`, "emit: bad argument #4: option actor must be a string, got number"},
		{"command on a forged id", `assign("x\naudit", "ADJ-1")`, `assign: bad argument #1: claim id may hold only letters, digits, '-', '_' and '.'; got '\n'`},
		{"command on a 1 MB id", `approve(string.rep("a", 1048576), 5)`, "approve: bad argument #1: claim id must be at most 64 characters, got 1048576"},
		{"emit on an empty id", `emit("", "claim.assigned", {adjuster = "ADJ-1"})`, "emit: bad argument #1: claim id must not be empty"},
		{"submit_many actor a number", `submit_many({with("amount", 10)}, {actor = 5})`, "submit_many: bad argument #2: option actor must be a string, got number"},
		{"submit_many chunk a fraction", `submit_many({with("amount", 10)}, {chunk = 2.5})`, "option chunk must be a whole number, got 2.5"},
		{"sample_claims count 0", `sample_claims{count = 0}`, "sample_claims: bad argument #1: option count must be a whole number of at least 1, got 0"},
		{"sample_claims seed a fraction", `sample_claims{count = 5, seed = 0.5}`, "option seed must be a whole number, got 0.5"},
		// expected_version
		{"expected_version a fraction", `assign(c.id, {adjuster = "ADJ-1", expected_version = 1.5})`, "expected_version must be a whole number, got 1.5"},
		{"expected_version 1e300", `assign(c.id, {adjuster = "ADJ-1", expected_version = 1e300})`, "expected_version must be a whole number of at most 9223372036854775807, got 1e+300"},
		{"expected_version negative", `assign(c.id, {adjuster = "ADJ-1", expected_version = -1})`, "expected_version must be a whole number of at least 0, got -1"},
		{"expected_version a string", `assign(c.id, {adjuster = "ADJ-1", expected_version = "1"})`, "expected_version must be a whole number, got a string"},
		{"emit expected_version a fraction", `emit(c.id, "claim.assigned", {adjuster = "ADJ-1"}, {expected_version = 1.5})`, "emit: bad argument #4: option expected_version must be a whole number, got 1.5"},
		{"emit expected_version 1e300", `emit(c.id, "claim.assigned", {adjuster = "ADJ-1"}, {expected_version = 1e300})`, "got 1e+300"},
		// workers
		{"consumer with a space", `start("processor", {consumer = "a b"})`, `start: bad argument #2: option consumer name "a b" may hold only letters, digits, '-', '_', '.', ':' and '@'; got ' '`},
		{"consumer of 65 characters", `start("processor", {consumer = string.rep("w", 65)})`, "consumer name " + `"` + strings.Repeat("w", 40) + `"… (65 bytes) must be at most 64 characters, got 65`},
		{"consumer a number", `start("processor", {consumer = 5})`, "option consumer must be a string, got number"},
		{"spawned consumer's group", `spawn("` + badGroup + `")`, "spawn " + badGroup + `: group name "high value" may hold only letters, digits`},
		{"spawned consumer named by a bad file", `spawn("` + badGroup + `", {consumer = "x\ny"})`, `option consumer name "x\ny" may hold only`},
		{"worker count a fraction", `start("processor", {count = 1.5})`, "option count must be a whole number, got 1.5"},
		{"worker min_idle 0", `start("processor", {min_idle = 0})`, "option min_idle must be a whole number of at least 1, got 0"},
		{"worker min_idle too long", `start("processor", {min_idle = 1e300})`, "option min_idle must be a whole number of at most 9223372036854, got 1e+300"},
		{"worker recover_every negative", `start("processor", {recover_every = -5})`, "option recover_every must be a whole number of at least 1, got -5"},
		{"worker max_deliveries 0", `start("processor", {max_deliveries = 0})`, "option max_deliveries must be a whole number of at least 1, got 0"},
		{"a value without quotes", `submit{customer = "C", policy = "P", amount = 10, type = auto, incident_date = "2026-11-20", description = "x"}`, `type is required (nothing written): type=auto gives type the value of the variable auto, which is nil: write type="auto", in quotes.`},
		{"claim id second", `assign("ADJ-001", "3f9c1234-0000-4000-8000-000000000000")`, "the second argument looks like a claim id: assign(claim_id, adjuster) takes the claim first"},
		{"redis as one string", `redis("XLEN claims:events")`, `redis: bad argument #1: one argument per word, as redis("XLEN", "claims:events")`},
		{"worker misspelt", `start("procesor")`, `start: no worker "procesor". Did you mean processor? (Lua consumers start with spawn(file))`},
		{"worker unknown", `start("zzz")`, `start: no worker "zzz" (want one of processor, analytics, notifications, audit)`},
		{"sample customers negative", `sample_data{customers = -1}`, "sample_data: bad argument #1: option customers must be a whole number of at least 1, got -1"},
		{"sample policies a fraction", `sample_data{policies = 2.5}`, "option policies must be a whole number, got 2.5"},
		{"sample policies too many", `sample_data{policies = 1e9}`, "option policies must be a whole number of at most 10000, got 1000000000"},
		{"sample seed a fraction", `sample_data{seed = 0.5}`, "option seed must be a whole number, got 0.5"},
		// consume, recover, wait_idle, monitor, trim
		{"consume count a fraction", `consume("g", "w", {count = 1.5})`, "consume: bad argument #3: option count must be a whole number, got 1.5"},
		{"consume count 0", `consume("g", "w", {count = 0})`, "option count must be a whole number of at least 1, got 0"},
		{"consume block negative", `consume("g", "w", {block = -1})`, "block must be 0 (wait until an event arrives) or a number of milliseconds above 0, got -1"},
		{"consume consumer with a space", `consume("g", "a b")`, `consumer name "a b" may hold only`},
		{"recover min_idle 0", `recover("g", "w", {min_idle = 0})`, "recover: bad argument #3: option min_idle must be a whole number of at least 1, got 0"},
		{"recover count a fraction", `recover("g", "w", {count = 0.5})`, "option count must be a whole number, got 0.5"},
		{"wait_idle timeout 0", `wait_idle(nil, {timeout = 0})`, "wait_idle: bad argument #2: option timeout must be a number of seconds above 0"},
		{"wait_idle timeout NaN", `wait_idle(nil, {timeout = 0/0})`, "got NaN"},
		{"monitor events 0", `monitor{events = 0}`, "monitor: bad argument #1: option events must be a whole number of at least 1, got 0"},
		{"monitor events a fraction", `monitor{events = 1.5}`, "option events must be a whole number, got 1.5"},
		{"monitor seconds negative", `monitor{seconds = -1}`, "option seconds must be a number of seconds above 0"},
		{"trim maxlen a fraction", `trim{maxlen = 1.5}`, "trim: bad argument #1: option maxlen must be a whole number, got 1.5"},
		{"trim maxlen negative", `trim{maxlen = -1}`, "option maxlen must be a whole number of at least 0, got -1"},
	}
	state := func() (int64, int) {
		n, err := rdb.XLen(ctx, store.Keys().Events()).Result()
		require.NoError(t, err)
		keys, err := rdb.Keys(ctx, store.Keys().Prefix+"*").Result()
		require.NoError(t, err)
		return n, len(keys)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events, keys := state()
			err := rt.DoString(ctx, tt.code, "input")
			require.Error(t, err, "%s was accepted", tt.code)
			msg := err.Error()
			assert.Contains(t, msg, tt.want)
			assert.NotContains(t, msg, "\x1b", "the message is safe to print")
			assert.Less(t, len(msg), 600, "the message does not repeat a huge value")
			afterEvents, afterKeys := state()
			assert.Equal(t, events, afterEvents, "no event written")
			assert.Equal(t, keys, afterKeys, "no key written")
			v, err := rt.Eval(ctx, "#workers()")
			require.NoError(t, err)
			assert.Equal(t, "0", v, "no worker started")
		})
	}
}

// TestInputRulesAccept: the edges of each rule are accepted.
func TestInputRulesAccept(t *testing.T) {
	t.Parallel()
	rt, out := newRuntime(t, streamstest.Embedded(t)(t, streams.Options{}), false)
	ctx := context.Background()
	require.NoError(t, rt.DoString(ctx, inputSetup+`
		local a = submit(with("amount", 0.01))
		expect(a.amount == 0.01, "a cent")
		local b = submit(with("description", string.rep("é", 2000)))
		expect(#b.event.data.description == 4000, "2000 characters of two bytes")
		local d = submit(with("incident_date", "1900-01-01"))
		local e = submit(with("id", "claim_2026.11-a"))
		expect(e.id == "claim_2026.11-a", "a chosen claim id")
		local f = submit(with("actor", "José Núñez"))
		expect(f.event.actor == "José Núñez", "an actor is text")
		expect(assign(c.id, {adjuster = "ADJ-1", expected_version = 1}).version == 2, "a whole expected_version")
		-- Float noise in an amount is read as the cents it means.
		local g = approve(inv.id, 0.1 + 0.2)
		expect(g.approved_amount == 0.3 and g.event.data.approved_amount == 0.3, "approved " .. tostring(g.approved_amount))
		sample_data{customers = 1, policies = 1, seed = -3}
		expect(#keys("customer:*") == 1, "one customer")
	`, "accept"), out.String())
	assert.Zero(t, rt.Failed(), out.String())
}

// TestSchemaShowsEachFieldsRule: schema() is where a student reads the
// rules, and they are the ones the schema checks.
func TestSchemaShowsEachFieldsRule(t *testing.T) {
	t.Parallel()
	rt, _ := newRuntime(t, nil, false)
	ctx := context.Background()
	for expr, want := range map[string]string{
		`schema("claim.submitted").rules.amount`:        claims.AmountRule,
		`schema("claim.submitted").rules.incident_date`: claims.DateRule,
		`schema("claim.submitted").rules.description`:   claims.TextRule(claims.MaxDescriptionLength),
		`schema("claim.payment.completed").rules.payment_id`: "an id of " + claims.NameRule +
			"; the initiated payment's, settle()'s default",
		`schema()[1].rules.customer_id`: "an id of " + claims.NameRule,
	} {
		v, err := rt.Eval(ctx, expr)
		require.NoError(t, err, expr)
		assert.Equal(t, want, v, expr)
	}
	assert.Contains(t, MarkdownReference(), "## Validation", "docs/lua-api.md has the rules in one section")
	assert.Contains(t, MarkdownReference(), claims.AmountRule)
}
