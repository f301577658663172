package streams_test

import (
	"context"
	"testing"

	"claimsctl/streams"
	"claimsctl/streams/claims"
	"claimsctl/streams/upkeep"

	"github.com/stretchr/testify/require"
)

// loadSample writes the sample data of seed 1.
func loadSample(t testing.TB, s *streams.Store) {
	t.Helper()
	_, err := upkeep.LoadSampleData(context.Background(), s, claims.SampleOptions{Seed: 1})
	require.NoError(t, err)
}
