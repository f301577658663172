package streamstest_test

import (
	"context"
	"testing"

	"claimsctl/streams"
	"claimsctl/streams/claims"
	"claimsctl/streams/streamstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func submission() streams.Submission {
	return streams.Submission{CustomerID: "CUST-0001", PolicyID: "POL-0001", Amount: 2500, ClaimType: "auto",
		IncidentDate: "2026-01-15", Description: "rear-ended at a light"}
}

// TestLagIsCountedWhereConnectSaysSo: the embedded server's XINFO GROUPS
// lag is not to be trusted, and Connect says so (Backend.Miniredis): its
// stores count lag themselves, a real server's take the server's figure.
func TestLagIsCountedWhereConnectSaysSo(t *testing.T) {
	t.Parallel()
	streamstest.ForEachBackend(t, func(t *testing.T, newStore streamstest.NewStore) {
		ctx := context.Background()
		store := newStore(t, streams.Options{})
		for range 2 {
			_, _, err := store.Submit(ctx, submission(), streams.EmitOptions{})
			require.NoError(t, err)
		}
		require.NoError(t, store.EnsureGroup(ctx, "processors"))
		st, err := store.State(ctx)
		require.NoError(t, err)
		events := st.Stream(store.Keys().Events())
		require.NotNil(t, events)
		g := events.Group("processors")
		require.NotNil(t, g)
		assert.Equal(t, int64(2), g.Lag)
		assert.Equal(t, t.Name() == "TestLagIsCountedWhereConnectSaysSo/embedded", g.LagCounted)
	})
}

// TestStoresOfOneServerAreApart: every store gets a prefix of its own, the
// caller's after it, and the layout it asks for.
func TestStoresOfOneServerAreApart(t *testing.T) {
	t.Parallel()
	for name, newStore := range streamstest.Backends(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			a, b := newStore(t, streams.Options{Prefix: "x:"}), newStore(t, streams.Options{Partitions: 3})
			assert.NotEqual(t, a.Keys().Prefix, b.Keys().Prefix)
			assert.Regexp(t, `^t\d+:x:$`, a.Keys().Prefix)
			assert.Equal(t, 3, b.Keys().Partitions())
			_, c, err := a.Submit(ctx, submission(), streams.EmitOptions{})
			require.NoError(t, err)
			_, err = b.Claim(ctx, c.ID)
			assert.ErrorIs(t, err, claims.ErrNotFound, "b sees none of a's claims")
		})
	}
}
