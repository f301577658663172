package bench

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"claimsctl/streams"
	"claimsctl/streams/streamstest"
)

// TestScriptCostIsTheScriptBesideItsCommands: a phase's script time per
// call is set beside the commands the scripts issued, leaving out what the
// client sent itself (and, for the processor, what the worker reads).
func TestScriptCostIsTheScriptBesideItsCommands(t *testing.T) {
	t.Parallel()
	stats := parseCommandStats("# Commandstats\r\n" +
		"cmdstat_evalsha:calls=10,usec=300,usec_per_call=30.00,rejected_calls=0,failed_calls=0\r\n" +
		"cmdstat_xadd:calls=10,usec=50,usec_per_call=5.00,rejected_calls=0,failed_calls=0\r\n" +
		"cmdstat_hset:calls=10,usec=50,usec_per_call=5.00,rejected_calls=0,failed_calls=0\r\n" +
		"cmdstat_hgetall:calls=10,usec=100,usec_per_call=10.00,rejected_calls=0,failed_calls=0\r\n" +
		"cmdstat_config|resetstat:calls=1,usec=7,usec_per_call=7.00,rejected_calls=0,failed_calls=0\r\n" +
		"cmdstat_xreadgroup:calls=3,usec=900,usec_per_call=300.00,rejected_calls=0,failed_calls=0\r\n")
	c := scriptCost("submit loop", "append.lua", "call", 0, stats)
	assert.Equal(t, int64(10), c.Calls)
	assert.InDelta(t, 30, c.PerCall, 1e-9)
	assert.InDelta(t, 20, c.CommandsPer, 1e-9, "XADD, HSET and HGETALL; not CONFIG or XREADGROUP")
	assert.InDelta(t, 1.5, c.Ratio, 1e-9)
	p := scriptCost("processor", "batch.lua", "call", 0, stats)
	assert.InDelta(t, 10, p.CommandsPer, 1e-9, "the worker's own HGETALL is not the script's")
	perClaim := scriptCost("submit_many", "batch.lua", "claim", 100, stats)
	assert.InDelta(t, 3, perClaim.PerCall, 1e-9)
}

// TestServerMeasuresEachPhase: on a real redis-server each phase's
// scripts ran and cost more than nothing; so did the floors, issuing the
// commands of append.lua, of decide and of count.
func TestServerMeasuresEachPhase(t *testing.T) {
	t.Parallel()
	store := streamstest.Redis(t)(t, streams.Options{})
	costs, err := Server(context.Background(), store, 200)
	require.NoError(t, err)
	require.Len(t, costs, 4)
	for i, want := range []struct{ phase, command string }{
		{"submit loop", "xadd"}, {"submit_many", "xadd"}, {"processor", "xadd"}, {"analytics", "hget"},
	} {
		assert.Equal(t, want.phase, costs[i].Phase)
		assert.Positive(t, costs[i].Calls, want.phase)
		assert.Positive(t, costs[i].PerCall, want.phase)
		assert.Positive(t, costs[i].CommandsPer, want.phase)
		assert.Contains(t, costs[i].Commands, want.command, want.phase)
	}
	assert.NotContains(t, costs[3].Commands, "xadd", "the analytics snapshots are the worker's, not count.lua's")
	assert.NotContains(t, costs[3].Commands, "hmget", "the vet of each entry is the worker's")

	floors, err := Floors(context.Background(), store, 200)
	require.NoError(t, err)
	require.Len(t, floors, 3)
	for i, want := range []struct {
		phase    string
		calls    int64
		commands []string
	}{
		{"submit loop", 200, []string{"hmget", "xadd", "hset"}},
		{"decide", 2, []string{"hmget", "xadd", "hset", "zincrby"}},
		{"count", 2, []string{"hget", "hincrby", "hincrbyfloat", "hset"}},
	} {
		f := floors[i]
		assert.Equal(t, want.phase, f.Phase)
		assert.Equal(t, "bare script", f.Script)
		assert.Equal(t, want.calls, f.Calls, want.phase)
		assert.Positive(t, f.PerCall, want.phase)
		for _, c := range want.commands {
			assert.Contains(t, f.Commands, c, want.phase)
		}
		assert.Len(t, f.Commands, len(want.commands), "%s issues only what its script issues: %v", want.phase, f.Commands)
	}
}
