package upkeep

import (
	"context"
	"errors"
	"testing"

	"claimsctl/streams"
	"claimsctl/streams/claims"
	"claimsctl/streams/streamstest"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTrimRemovesOnlyWhatWasPlanned shows why a maxlen trim is carried out
// with XTRIM MINID: an event appended after the plan (and so never
// archived nor checked against the groups) must survive.
func TestTrimRemovesOnlyWhatWasPlanned(t *testing.T) {
	t.Parallel()
	streamstest.ForEachServer(t, streams.Options{}, func(t *testing.T, s *streams.Store) {
		ctx := context.Background()
		key := s.Keys().Named("trim-race")
		for i := 0; i < 4; i++ {
			require.NoError(t, s.Client().XAdd(ctx, &redis.XAddArgs{Stream: key, Values: []any{"n", i}}).Err())
		}
		keep := int64(1)
		plan, err := PlanTrim(ctx, s, claims.TrimOptions{Stream: key, MaxLen: &keep})
		require.NoError(t, err)
		require.EqualValues(t, 3, plan.Count())
		planned, err := s.Client().XRange(ctx, key, "-", "+").Result()
		require.NoError(t, err)
		late, err := s.Client().XAdd(ctx, &redis.XAddArgs{Stream: key, Values: []any{"n", "late"}}).Result()
		require.NoError(t, err)

		var archive memArchive
		res, err := Trim(ctx, s, plan, TrimExec{Archive: archive.open})
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
	streamstest.ForEachServer(t, streams.Options{}, func(t *testing.T, s *streams.Store) {
		ctx := context.Background()
		key := s.Keys().Named("trim-archive")
		for i := 0; i < 3; i++ {
			require.NoError(t, s.Client().XAdd(ctx, &redis.XAddArgs{Stream: key, Values: []any{"n", i}}).Err())
		}
		plan, err := PlanTrim(ctx, s, claims.TrimOptions{Stream: key, Before: "99999999999999"})
		require.NoError(t, err)
		require.EqualValues(t, 3, plan.Count())
		archive := memArchive{fail: errors.New("disk full")}
		_, err = Trim(ctx, s, plan, TrimExec{Archive: archive.open})
		require.ErrorContains(t, err, "archive failed, nothing removed: disk full")
		assert.True(t, archive.aborted, "what was appended is undone")
		_, err = Trim(ctx, s, plan, TrimExec{Archive: func(map[string]string) (Archiver, error) { return nil, errors.New("no such folder") }})
		require.ErrorContains(t, err, "archive failed, nothing removed: no such folder")
		n, err := s.Client().XLen(ctx, key).Result()
		require.NoError(t, err)
		assert.EqualValues(t, 3, n)
	})
}

func TestPlanTrimRefusesBadOptions(t *testing.T) {
	t.Parallel()
	streamstest.ForEachServer(t, streams.Options{}, func(t *testing.T, s *streams.Store) {
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
			_, err := PlanTrim(ctx, s, c.opts)
			require.Error(t, err)
			assert.ErrorIs(t, err, claims.ErrInvalid)
			assert.Contains(t, err.Error(), c.want)
		}
	})
}
