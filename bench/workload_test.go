package bench

import (
	"claimsctl/streams"
	"claimsctl/streams/streamstest"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBench runs the standard workload small on both servers: every path
// does its real work (each worker reads every entry, the processor decides
// every claim) and the run leaves nothing behind. Speeds are not checked:
// they are what the bench is for.
func TestBench(t *testing.T) {
	streamstest.ForEachBackend(t, func(t *testing.T, newStore streamstest.NewStore) {
		s := newStore(t, streams.Options{})
		ctx := context.Background()
		var seen []string
		rep, err := Run(ctx, s, Options{Claims: 150, Step: func(st Step) { seen = append(seen, st.Name) }})
		require.NoError(t, err)
		want := map[string]int64{
			benchXAddOne: 150, benchXAddPipeline: 150, "submit loop": 150, "submit_many": 150,
			// 300 submissions and the processor's 300 decisions.
			"processor draining": 600, "analytics draining": 600, "notifications draining": 600, "audit draining": 600,
			benchXRange: 600, "report()": 600, "rebuild()": 600,
		}
		got := map[string]int64{}
		for _, st := range rep.Steps {
			got[st.Name] = st.Events
			assert.Positive(t, st.PerSec, st.Name)
			if st.Baseline != "" {
				assert.Positive(t, st.Ratio, "%s beside %s", st.Name, st.Baseline)
			}
		}
		assert.Equal(t, want, got)
		assert.Len(t, seen, len(want), "each step reported as it is done")
		keys, err := s.ScanKeys(ctx, "*")
		require.NoError(t, err)
		assert.Empty(t, keys, "the bench deletes what it wrote")
	})
}

// TestBenchRefusesAKeyspaceWithClaims: it never runs beside claims of the
// same keyspace, whose keys it would delete afterwards.
func TestBenchRefusesAKeyspaceWithClaims(t *testing.T) {
	streamstest.ForEachBackend(t, func(t *testing.T, newStore streamstest.NewStore) {
		s := newStore(t, streams.Options{})
		ctx := context.Background()
		_, _, err := s.Submit(ctx, streams.Submission{
			CustomerID: "CUST-0001", PolicyID: "POL-0001", Amount: 2500, ClaimType: "auto",
			IncidentDate: "2026-01-15", Description: "rear-ended at a light",
		}, streams.EmitOptions{})
		require.NoError(t, err)
		_, err = Run(ctx, s, Options{Claims: 100})
		require.ErrorIs(t, err, ErrNotEmpty)
		n, err := workload{store: s, rdb: s.Client(), keys: s.Keys()}.eventCount(ctx)
		require.NoError(t, err)
		assert.Equal(t, int64(1), n, "nothing written, nothing deleted")
	})
}
