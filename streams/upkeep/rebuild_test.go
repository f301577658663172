package upkeep

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"claimsctl/streams"
	"claimsctl/streams/claims"
	"claimsctl/streams/streamstest"
	"claimsctl/streams/workers"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRebuildWritesWhatTheAppendScriptWrites deletes aggregates and
// rebuilds them: the hashes must come back field for field, so commands
// (and their version checks) go on as if nothing happened.
func TestRebuildWritesWhatTheAppendScriptWrites(t *testing.T) {
	t.Parallel()
	streamstest.ForEachServer(t, streams.Options{}, func(t *testing.T, s *streams.Store) {
		ctx := context.Background()
		sub := streams.Submission{CustomerID: "C", PolicyID: "P", Amount: 900, ClaimType: "home", IncidentDate: "2026-11-01", Description: "leak"}
		_, a, err := s.Submit(ctx, sub, streams.EmitOptions{})
		require.NoError(t, err)
		_, _, err = s.Emit(ctx, a.ID, claims.ClaimAssigned, map[string]any{"adjuster": "ADJ-001"}, streams.EmitOptions{})
		require.NoError(t, err)
		_, b, err := s.Submit(ctx, sub, streams.EmitOptions{})
		require.NoError(t, err)
		want := map[string]map[string]string{}
		for _, id := range []string{a.ID, b.ID} {
			want[id], err = s.Client().HGetAll(ctx, s.Keys().Aggregate(id)).Result()
			require.NoError(t, err)
			require.NoError(t, s.Client().Del(ctx, s.Keys().Aggregate(id)).Err())
		}
		require.NoError(t, s.Client().XAdd(ctx, &redis.XAddArgs{Stream: s.Keys().Events(), Values: []any{"by", "hand"}}).Err())

		res, err := Rebuild(ctx, s)
		require.NoError(t, err)
		assert.Equal(t, RebuildResult{Claims: 2, Events: 3, Malformed: 1}, res)
		for id, fields := range want {
			got, err := s.Client().HGetAll(ctx, s.Keys().Aggregate(id)).Result()
			require.NoError(t, err)
			assert.Equal(t, fields, got, "aggregate of %s", id)
		}
		_, next, err := s.Emit(ctx, a.ID, claims.ClaimInvestigated, map[string]any{"findings": "ok"}, streams.EmitOptions{})
		require.NoError(t, err)
		assert.EqualValues(t, 3, next.Version)
	})
}

// TestRebuildAfterARetriedDeadLetter: a retried dead letter goes to its
// group's retry stream, not the log: the event stream and the aggregate
// are as they were, and the rebuild folds each event once.
func TestRebuildAfterARetriedDeadLetter(t *testing.T) {
	t.Parallel()
	streamstest.ForEachServer(t, streams.Options{}, func(t *testing.T, s *streams.Store) {
		ctx := context.Background()
		c := emitAll(t, s, claims.ClaimAssigned)
		ds, err := s.Consume(ctx, "by-hand", "c1", streams.ConsumeOptions{Count: 1})
		require.NoError(t, err)
		require.Len(t, ds, 1)
		require.Equal(t, streams.EntryRef{Stream: s.Keys().ForClaim(c.ID).Events(), ID: c.Entries[0]}, ds[0].Ref())
		require.NoError(t, workers.ToDLQ(ctx, s, "by-hand", ds[0], errors.New("tried by hand"), 1))
		n, err := workers.RetryDLQ(ctx, s, "all")
		require.NoError(t, err)
		require.Equal(t, 1, n)
		retried, err := s.Claim(ctx, c.ID)
		require.NoError(t, err)
		require.Equal(t, c.Entries, retried.Entries, "the retry leaves the claim's entries as they were")
		want, err := s.Client().HGetAll(ctx, s.Keys().Aggregate(c.ID)).Result()
		require.NoError(t, err)

		res, err := Rebuild(ctx, s)
		require.NoError(t, err)
		assert.Equal(t, RebuildResult{Claims: 1, Events: 2}, res, "each event folded once")
		got, err := s.Client().HGetAll(ctx, s.Keys().Aggregate(c.ID)).Result()
		require.NoError(t, err)
		assert.Equal(t, want, got)
		var all []streams.Delivery
		require.NoError(t, s.Replay(ctx, streams.ReplayOptions{}, func(d streams.Delivery) error {
			all = append(all, d)
			return nil
		}))
		require.Len(t, all, 2, "the log holds each event once")
		for _, d := range all {
			assert.NoError(t, d.Err)
		}
	})
}

// TestRebuildLeavesANewerAggregateAlone stands in for a command that
// appended while the rebuild was folding: its newer version must win.
func TestRebuildLeavesANewerAggregateAlone(t *testing.T) {
	t.Parallel()
	streamstest.ForEachServer(t, streams.Options{}, func(t *testing.T, s *streams.Store) {
		ctx := context.Background()
		_, c, err := s.Submit(ctx, streams.Submission{CustomerID: "C", PolicyID: "P", Amount: 10, ClaimType: "auto", IncidentDate: "2026-11-01", Description: "x"}, streams.EmitOptions{})
		require.NoError(t, err)
		require.NoError(t, s.Client().HSet(ctx, s.Keys().Aggregate(c.ID), "version", "7").Err())
		res, err := Rebuild(ctx, s)
		require.NoError(t, err)
		assert.Equal(t, 0, res.Claims)
		assert.Equal(t, 1, res.Newer)
		v, err := s.Client().HGet(ctx, s.Keys().Aggregate(c.ID), "version").Result()
		require.NoError(t, err)
		assert.Equal(t, "7", v)
	})
}

// TestRebuildRecordsPaymentIDs: rebuild() restores claims:payments from
// the events (after an import into an empty keyspace, or for a keyspace
// older than the index) and names an id two claims hold.
func TestRebuildRecordsPaymentIDs(t *testing.T) {
	t.Parallel()
	streamstest.ForEachServer(t, streams.Options{}, func(t *testing.T, s *streams.Store) {
		ctx := context.Background()
		paid := []claims.EventType{claims.ClaimAssigned, claims.DocumentUploaded, claims.ClaimInvestigated, claims.ClaimApproved, claims.PaymentInitiated}
		x, y := emitAll(t, s, paid...), emitAll(t, s, paid...)
		require.NoError(t, s.Client().Del(ctx, s.Keys().Payments()).Err())

		res, err := Rebuild(ctx, s)
		require.NoError(t, err)
		assert.Equal(t, 2, res.Payments)
		owners, err := s.Client().HGetAll(ctx, s.Keys().Payments()).Result()
		require.NoError(t, err)
		assert.Equal(t, map[string]string{x.PaymentID: x.ID, y.PaymentID: y.ID}, owners)

		require.NoError(t, s.Client().HSet(ctx, s.Keys().Payments(), y.PaymentID, x.ID).Err())
		res, err = Rebuild(ctx, s)
		require.NoError(t, err)
		assert.Equal(t, 1, res.SharedPayments)
		assert.Contains(t, res.Problems, fmt.Sprintf("claim %s paid with %q, which claim %s holds", claims.Short(y.ID), y.PaymentID, claims.Short(x.ID)))
	})
}

// emitAll submits a claim and takes it through the events of types, in
// order, with the data each needs (an approval of 2000; the payment's id
// and amount from Claim.Defaults), failing t on error.
func emitAll(t testing.TB, s *streams.Store, types ...claims.EventType) *claims.Claim {
	t.Helper()
	data := map[claims.EventType]map[string]any{
		claims.ClaimAssigned:     {"adjuster": "ADJ-001"},
		claims.DocumentUploaded:  {"document_type": "photo", "filename": "bumper.jpg"},
		claims.ClaimInvestigated: {"phase": "completed", "findings": "damage matches the report", "fraud_risk": "low"},
		claims.ClaimApproved:     {"approved_amount": 2000.0},
	}
	ctx := context.Background()
	_, c, err := s.Submit(ctx, testSubmission(), streams.EmitOptions{})
	require.NoError(t, err, "submit")
	for _, typ := range types {
		d := data[typ]
		if d == nil {
			d = map[string]any{}
		}
		_, c, err = s.Emit(ctx, c.ID, typ, d, streams.EmitOptions{})
		require.NoError(t, err, "emit %s", typ)
	}
	return c
}
