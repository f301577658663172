package luaapi

import (
	"context"
	"testing"

	"claimsctl/streams"
	"claimsctl/streams/streamstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTraceLeavesOutInternals: trace(true) shows the commands of what the
// student called, not the polling behind wait_idle or monitor's group
// progress (state reads: XINFO).
func TestTraceLeavesOutInternals(t *testing.T) {
	t.Parallel()
	streamstest.ForEachBackend(t, func(t *testing.T, newStore streamstest.NewStore) {
		rt, out := newRuntime(t, newStore(t, streams.Options{}), false)
		ctx := context.Background()
		require.NoError(t, rt.DoString(ctx, `consume("processors", "w1")`, "setup.lua"))
		require.NoError(t, rt.DoString(ctx, `trace(true) wait_idle("processors") monitor{seconds = 0.1} trace(false)`, "trace.lua"))
		assert.NotContains(t, out.String(), "XINFO")
		assert.Contains(t, out.String(), "redis> XREAD", "monitor's own reads are what it sends")
	})
}
