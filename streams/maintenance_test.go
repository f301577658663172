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

// TestTrimRemovesOnlyWhatWasPlanned shows why a maxlen trim is carried out
// with XTRIM MINID: an event appended after the plan (and so never
// archived nor checked against the groups) must survive.
func TestTrimRemovesOnlyWhatWasPlanned(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		key := s.Keys().Named("trim-race")
		for i := 0; i < 4; i++ {
			require.NoError(t, s.Client().XAdd(ctx, &redis.XAddArgs{Stream: key, Values: []any{"n", i}}).Err())
		}
		keep := int64(1)
		plan, err := s.PlanTrim(ctx, claims.TrimOptions{Stream: key, MaxLen: &keep})
		require.NoError(t, err)
		require.EqualValues(t, 3, plan.Count())
		planned, err := s.Client().XRange(ctx, key, "-", "+").Result()
		require.NoError(t, err)
		late, err := s.Client().XAdd(ctx, &redis.XAddArgs{Stream: key, Values: []any{"n", "late"}}).Result()
		require.NoError(t, err)

		var archive memArchive
		res, err := s.Trim(ctx, plan, TrimExec{Archive: archive.open})
		require.NoError(t, err)
		assert.EqualValues(t, 3, res.Total())
		assert.EqualValues(t, 3, res.Archived)
		got := archive.entries(t)
		require.Len(t, got, 3)
		for i, e := range got {
			assert.Equal(t, planned[i].ID, e.ID)
			assert.Equal(t, "trim-race", e.Stream, "the archive names the stream without the prefix")
		}
		assert.True(t, archive.committed)
		left, err := s.Client().XRange(ctx, key, "-", "+").Result()
		require.NoError(t, err)
		require.Len(t, left, 2, "MAXLEN 1 now would have removed an entry nobody archived")
		assert.Equal(t, late, left[1].ID)
	})
}

func TestTrimArchiveFailureRemovesNothing(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		key := s.Keys().Named("trim-archive")
		for i := 0; i < 3; i++ {
			require.NoError(t, s.Client().XAdd(ctx, &redis.XAddArgs{Stream: key, Values: []any{"n", i}}).Err())
		}
		plan, err := s.PlanTrim(ctx, claims.TrimOptions{Stream: key, Before: "99999999999999"})
		require.NoError(t, err)
		require.EqualValues(t, 3, plan.Count())
		archive := memArchive{fail: errors.New("disk full")}
		_, err = s.Trim(ctx, plan, TrimExec{Archive: archive.open})
		require.ErrorContains(t, err, "archive failed, nothing removed: disk full")
		assert.True(t, archive.aborted, "what was appended is undone")
		_, err = s.Trim(ctx, plan, TrimExec{Archive: func(map[string]string) (Archiver, error) { return nil, errors.New("no such folder") }})
		require.ErrorContains(t, err, "archive failed, nothing removed: no such folder")
		n, err := s.Client().XLen(ctx, key).Result()
		require.NoError(t, err)
		assert.EqualValues(t, 3, n)
	})
}

func TestPlanTrimRefusesBadOptions(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		neg, one := int64(-1), int64(1)
		for _, c := range []struct {
			opts claims.TrimOptions
			want string
		}{
			{claims.TrimOptions{}, "give a maxlen or a before bound"},
			{claims.TrimOptions{MaxLen: &one, Before: "1-0"}, "not both"},
			{claims.TrimOptions{MaxLen: &neg}, "maxlen must be 0 or more"},
			{claims.TrimOptions{Before: "soon"}, "not a stream id"},
		} {
			_, err := s.PlanTrim(ctx, c.opts)
			require.Error(t, err)
			assert.ErrorIs(t, err, claims.ErrInvalid)
			assert.Contains(t, err.Error(), c.want)
		}
	})
}

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
