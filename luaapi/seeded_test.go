package luaapi

import (
	"context"
	"testing"

	"claimsctl/streams"
	"claimsctl/streams/claims"
	"claimsctl/streams/streamstest"
	"claimsctl/streams/upkeep"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// seededSession is what a seeded session prints: sample data, the
// processor and a Lua consumer stepped in turn, a bulk submission, a
// monitor of their batches, sleep's clock, an REPL command after which
// the workers take their turns.
const seededSession = `
sample_data()
start("processor", {log = false})
spawn("../scripts/consumers/high_value.lua", {log = false})
local t0 = os.time()
local batch = sample_claims{count = 5}
monitor{from = "0-0", events = 10, seconds = 20}
wait_idle()
for _, id in ipairs(batch.claims) do
  local c = claim(id)
  print(id, c.status, c.version, c.adjuster or "-")
end
sleep(1000)
print("slept a second of the clock:", os.time() - t0 >= 1, os.date("!%Y-%m-%d %H:%M"))
print(#redis("XRANGE", key("claims:notifications", batch.claims[1]), "-", "+"), "alerts")
`

func seededOutput(t *testing.T, newStore streamstest.NewStore) string {
	t.Helper()
	store := newStore(t, streams.Options{Seeded: claims.NewSeeded(7)})
	rt, out := newRuntime(t, store, true)
	ctx := context.Background()
	require.NoError(t, upkeep.CheckFresh(ctx, store))
	require.NoError(t, rt.DoString(ctx, seededSession, "seeded"), out.String())
	// A REPL command: the workers take their turns after it.
	_, err := rt.Eval(ctx, `c = submit{customer="CUST-0001", policy="POL-0001", amount=25000, type="auto", incident_date="2026-01-02", description="d"}`)
	require.NoError(t, err, out.String())
	v, err := rt.Eval(ctx, `claim(c.id).status .. " " .. c.entry_id`)
	require.NoError(t, err)
	out.WriteString(v + "\n")
	return out.String()
}

// TestSeededSessionRepeats: a seeded session prints the same on two fresh
// keyspaces, stepping its workers (built-in and Lua) deterministically, and
// its clock is the lab's, moved on by sleep.
func TestSeededSessionRepeats(t *testing.T) {
	t.Parallel()
	streamstest.ForEachBackend(t, func(t *testing.T, newStore streamstest.NewStore) {
		first := seededOutput(t, newStore)
		assert.Equal(t, first, seededOutput(t, newStore))
		assert.Contains(t, first, "slept a second of the clock:\ttrue\t2026-01-05 09:00")
		assert.Contains(t, first, "assigned 176760360")
		assert.NotContains(t, first, "claims/s", "no timings in a seeded run")
		assert.Regexp(t, `claim\.assigned .* by processor`, first, "monitor showed the processor's batch")
	})
}
