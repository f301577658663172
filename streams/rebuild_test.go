package streams

import (
	"context"
	"errors"
	"testing"

	"claimsctl/streams/claims"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRebuildWritesWhatTheAppendScriptWrites deletes aggregates and
// rebuilds them: the hashes must come back field for field, so commands
// (and their version checks) go on as if nothing happened.
func TestRebuildWritesWhatTheAppendScriptWrites(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		sub := Submission{CustomerID: "C", PolicyID: "P", Amount: 900, ClaimType: "home", IncidentDate: "2026-11-01", Description: "leak"}
		_, a, err := s.Submit(ctx, sub, EmitOptions{})
		require.NoError(t, err)
		_, _, err = s.Emit(ctx, a.ID, claims.ClaimAssigned, map[string]any{"adjuster": "ADJ-001"}, EmitOptions{})
		require.NoError(t, err)
		_, b, err := s.Submit(ctx, sub, EmitOptions{})
		require.NoError(t, err)
		want := map[string]map[string]string{}
		for _, id := range []string{a.ID, b.ID} {
			want[id], err = s.Client().HGetAll(ctx, s.Keys().Aggregate(id)).Result()
			require.NoError(t, err)
			require.NoError(t, s.Client().Del(ctx, s.Keys().Aggregate(id)).Err())
		}
		require.NoError(t, s.Client().XAdd(ctx, &redis.XAddArgs{Stream: s.Keys().Events(), Values: []any{"by", "hand"}}).Err())

		res, err := s.Rebuild(ctx)
		require.NoError(t, err)
		assert.Equal(t, RebuildResult{Claims: 2, Events: 3, Malformed: 1}, res)
		for id, fields := range want {
			got, err := s.Client().HGetAll(ctx, s.Keys().Aggregate(id)).Result()
			require.NoError(t, err)
			assert.Equal(t, fields, got, "aggregate of %s", id)
		}
		_, next, err := s.Emit(ctx, a.ID, claims.ClaimInvestigated, map[string]any{"findings": "ok"}, EmitOptions{})
		require.NoError(t, err)
		assert.EqualValues(t, 3, next.Version)
	})
}

// TestRebuildAfterARetriedDeadLetter: a retried dead letter is appended
// again after the claim's later events, so the stream holds v1 after v2;
// the rebuild folds each claim in version order and gives back the
// aggregate the retry left, superseded entry and all.
func TestRebuildAfterARetriedDeadLetter(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		c := submitAndRun(t, s, lifecycleSteps()[0])
		ds, err := s.Consume(ctx, "by-hand", "c1", ConsumeOptions{Count: 1})
		require.NoError(t, err)
		require.Equal(t, []EntryRef{entryOf(s, c, 1)}, refsOf(ds))
		require.NoError(t, s.DeadLetter(ctx, "by-hand", ds[0], errors.New("tried by hand"), 1))
		n, err := s.RetryDLQ(ctx, "all")
		require.NoError(t, err)
		require.Equal(t, 1, n)
		retried, err := s.Claim(ctx, c.ID)
		require.NoError(t, err)
		require.NotEqual(t, c.Entries[0], retried.Entries[0], "precondition: v1 is a new entry, after v2")
		want, err := s.Client().HGetAll(ctx, s.Keys().Aggregate(c.ID)).Result()
		require.NoError(t, err)

		res, err := s.Rebuild(ctx)
		require.NoError(t, err)
		assert.Equal(t, RebuildResult{Claims: 1, Events: 2, NotWritten: 1}, res, "the first v1 is superseded")
		got, err := s.Client().HGetAll(ctx, s.Keys().Aggregate(c.ID)).Result()
		require.NoError(t, err)
		assert.Equal(t, want, got)
		all := replayAll(t, s, ReplayOptions{})
		require.Len(t, all, 3)
		assert.ErrorIs(t, all[0].Err, errSuperseded, "the old entry is still known as superseded")
	})
}

// TestRebuildLeavesANewerAggregateAlone stands in for a command that
// appended while the rebuild was folding: its newer version must win.
func TestRebuildLeavesANewerAggregateAlone(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		_, c, err := s.Submit(ctx, Submission{CustomerID: "C", PolicyID: "P", Amount: 10, ClaimType: "auto", IncidentDate: "2026-11-01", Description: "x"}, EmitOptions{})
		require.NoError(t, err)
		require.NoError(t, s.Client().HSet(ctx, s.Keys().Aggregate(c.ID), "version", "7").Err())
		res, err := s.Rebuild(ctx)
		require.NoError(t, err)
		assert.Equal(t, 0, res.Claims)
		assert.Equal(t, 1, res.Newer)
		v, err := s.Client().HGet(ctx, s.Keys().Aggregate(c.ID), "version").Result()
		require.NoError(t, err)
		assert.Equal(t, "7", v)
	})
}
