package bench

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"claimsctl/streams"
	"claimsctl/streams/streamstest"
)

// TestLuaMeasuresEveryPath: each Lua path is measured beside its bare
// loop, with the client's CPU, on both servers.
func TestLuaMeasuresEveryPath(t *testing.T) {
	streamstest.ForEachBackend(t, func(t *testing.T, newStore streamstest.NewStore) {
		steps, err := Lua(context.Background(), newStore(t, streams.Options{}), 100, nil)
		require.NoError(t, err)
		var names []string
		for _, st := range steps {
			names = append(names, st.Name)
			assert.Positive(t, st.PerSec, st.Name)
			assert.Positive(t, st.Events, st.Name)
			if st.Baseline != "" {
				assert.Positive(t, st.Ratio, st.Name)
			}
		}
		assert.Equal(t, []string{LuaXAddLoop, LuaSubmitLoop, "Lua submit_many", "Lua sample_claims",
			LuaXRangeLoop, "Lua replay{} loop", "Lua report()"}, names)
	})
}

// BenchmarkLua runs the Lua workload once per iteration on a fresh
// prefix: profile it with -cpuprofile to see where the Lua path's client
// time goes (5000 claims).
func BenchmarkLua(b *testing.B) {
	newStore := streamstest.Redis(b)
	for b.Loop() {
		steps, err := Lua(context.Background(), newStore(b, streams.Options{}), 5000, nil)
		require.NoError(b, err)
		for _, st := range steps {
			b.Logf("%-26s %10.0f events/s %8.1f µs CPU/event %.2f× %s", st.Name, st.PerSec, st.CPUPerEvent, st.Ratio, st.Baseline)
		}
	}
}
