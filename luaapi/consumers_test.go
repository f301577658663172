package luaapi

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"claimsctl/streams"
	"claimsctl/streams/claims"
	"claimsctl/streams/streamstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDefaultConsumer(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "processor@lab-pc", DefaultConsumer("processor", "lab-pc"))
	assert.Equal(t, "high_value@my-box", DefaultConsumer("high_value", " my box "))
	assert.Equal(t, "processor", DefaultConsumer("processor", ""), "no host name: the worker's name alone")
	assert.Equal(t, "processor@b-cher-pc", DefaultConsumer("processor", "bücher pc"), "what a name may not hold becomes '-'")
	long := DefaultConsumer("notifications", strings.Repeat("h", 100))
	assert.Len(t, long, claims.MaxNameLength, "a long host name is cut to fit")
	for _, host := range []string{"", "x\ny", "émoji🙂host", strings.Repeat("a.", 80), "@@@"} {
		assert.NoError(t, claims.ValidName("consumer", DefaultConsumer("processor", host)), "host %q", host)
	}
}

// TestWorkersAreNamedAfterTheHost: start() and spawn() name their
// consumers worker@host, the same in every session, so a worker started
// again resumes its own pending entries; a second one alongside is -2.
func TestWorkersAreNamedAfterTheHost(t *testing.T) {
	t.Parallel()
	streamstest.ForEachBackend(t, func(t *testing.T, newStore streamstest.NewStore) {
		dir := t.TempDir()
		file := dir + "/counter.lua"
		require.NoError(t, os.WriteFile(file, []byte(`group = "counter"
function handle(ev) return "ok" end`), 0o644))
		var out bytes.Buffer
		rt := New(Config{Store: newStore(t, streams.Options{}), Out: &out, Host: "lab-pc"})
		t.Cleanup(rt.Close)
		ctx := context.Background()
		steps := []struct{ code, want string }{
			{`start("processor", {log = false})`, "processor@lab-pc"},
			{`start("processor", {log = false})`, "processor-2@lab-pc"},
			{`start("analytics", {log = false, consumer = "mine"})`, "mine"},
			{`spawn("` + file + `", {log = false})`, "counter@lab-pc"},
			{`stop("all"); return start("processor", {log = false})`, "processor@lab-pc"},
		}
		for _, s := range steps {
			v, err := rt.Eval(ctx, s.code)
			require.NoError(t, err, out.String())
			assert.Equal(t, s.want, v, s.code)
		}
	})
}

// TestGroupsMarkRunningConsumers: groups() tells a consumer a worker runs
// (here, or in any other process) from one nobody runs any more.
func TestGroupsMarkRunningConsumers(t *testing.T) {
	t.Parallel()
	streamstest.ForEachBackend(t, func(t *testing.T, newStore streamstest.NewStore) {
		store := newStore(t, streams.Options{})
		rt, out := newRuntime(t, store, false)
		other, _ := newRuntime(t, store, false) // another terminal's session
		ctx := context.Background()
		require.NoError(t, rt.DoString(ctx, `
			submit{customer="C", policy="P", amount=5, type="auto", incident_date="2026-01-01", description="d"}
			ack("processors", consume("processors", "by-hand"))
			start("processor", {consumer = "p1", log = false})
			wait_idle("processors")`, "setup"), out.String())
		// p1 may not be listed as a consumer yet: Redis lists it once it has
		// been handed an entry (or tried a take-over); running lists it.
		marks := `local g = groups()[1]
			local flags = {}
			for _, c in ipairs(g.consumers) do flags[c.name] = tostring(c.running) end
			return ("running: %s; by-hand %s; p1 %s"):format(table.concat(g.running, " "), flags["by-hand"], flags.p1 or "unlisted")`
		v, err := other.Eval(ctx, marks)
		require.NoError(t, err)
		assert.Contains(t, []string{"running: p1; by-hand false; p1 true", "running: p1; by-hand false; p1 unlisted"}, v)
		require.NoError(t, rt.DoString(ctx, `stop("p1")`, "stop"))
		v, err = other.Eval(ctx, marks)
		require.NoError(t, err)
		assert.Contains(t, []string{"running: ; by-hand false; p1 false", "running: ; by-hand false; p1 unlisted"}, v, "a stopped worker no longer runs")
	})
}

// TestForgetConsumers: forget_consumers removes the consumers nobody runs
// and that hold nothing, hands over what a dead one held when told to,
// and never drops a pending entry.
func TestForgetConsumers(t *testing.T) {
	t.Parallel()
	streamstest.ForEachBackend(t, func(t *testing.T, newStore streamstest.NewStore) {
		rt, out := newRuntime(t, newStore(t, streams.Options{}), false)
		ctx := context.Background()
		require.NoError(t, rt.DoString(ctx, `
			for i = 1, 3 do
			  submit{customer="C", policy="P", amount=5, type="auto", incident_date="2026-01-01", description="d"}
			end
			ack("g", consume("g", "gone", {count = 1}))
			consume("g", "crashed", {count = 2})
			sleep(30)
			local r = forget_consumers("g", {idle = 20})
			expect(#r.deleted == 1 and r.deleted[1] == "gone", "the consumer with nothing pending goes")
			expect(#r.kept == 1 and r.kept[1].name == "crashed" and r.kept[1].reason:find("pending"), "the one holding entries stays")
			expect(pending("g").consumers.crashed == 2, "its entries are still pending")
			r = forget_consumers("g", {idle = 20, to = "heir"})
			expect(r.deleted[1] == "crashed" and r.handed_over == 2, "handed over, then removed")
			expect(pending("g").consumers.heir == 2, "the heir holds them")
			expect(pending("g").entries[1].deliveries == 2, "a hand-over counts as a delivery")`, "forget"), out.String())
		assert.Zero(t, rt.Failed(), out.String())
		err := rt.DoString(ctx, `forget_consumers("g", {idle = -1})`, "bad")
		require.Error(t, err)
		assert.Contains(t, err.Error(), "idle must be a number of milliseconds above 0")
	})
}
