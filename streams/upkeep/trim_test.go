package upkeep

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"testing"

	"claimsctl/streams"
	"claimsctl/streams/claims"
	"claimsctl/streams/streamstest"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// memArchive is an Archiver in memory: the lines a trim archived.
type memArchive struct {
	buf                bytes.Buffer
	committed, aborted bool
	firsts             map[string]string // what the trim said it would append
	fail               error             // Append fails with it
}

func (a *memArchive) open(firsts map[string]string) (Archiver, error) {
	a.firsts = firsts
	return a, nil
}

func (a *memArchive) Append(page []claims.ArchiveEntry) error {
	if a.fail != nil {
		return a.fail
	}
	return claims.WriteArchive(&a.buf, page)
}

func (a *memArchive) Commit() error { a.committed = true; return nil }

func (a *memArchive) Abort() { a.aborted = true; a.buf.Reset() }

func (a *memArchive) reader() io.ReadSeeker { return bytes.NewReader(a.buf.Bytes()) }

func (a *memArchive) entries(t testing.TB) []claims.ArchiveEntry {
	t.Helper()
	return readArchive(t, a.reader())
}

func readArchive(t testing.TB, r io.Reader) []claims.ArchiveEntry {
	t.Helper()
	ar := claims.NewArchiveReader(r)
	var out []claims.ArchiveEntry
	for {
		e, err := ar.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		require.NoError(t, err)
		out = append(out, e)
	}
}

// submitClaims files n claims in one bulk call and returns their ids.
func submitClaims(t testing.TB, s *streams.Store, n int) []string {
	t.Helper()
	subs := make([]streams.NewClaim, n)
	for i := range subs {
		subs[i] = testSubmission().NewClaim()
	}
	res, err := s.SubmitMany(context.Background(), subs, streams.BulkOptions{})
	require.NoError(t, err)
	return res.ClaimIDs
}

// streamEntries is every entry of each event stream, by stream.
func streamEntries(t testing.TB, s *streams.Store) map[string][]redis.XMessage {
	t.Helper()
	out := map[string][]redis.XMessage{}
	for _, key := range s.Keys().EventStreams() {
		msgs, err := s.Client().XRange(context.Background(), key, "-", "+").Result()
		require.NoError(t, err)
		out[key] = msgs
	}
	return out
}

// archivedByStream groups archived entries by the key they came from.
func archivedByStream(s *streams.Store, entries []claims.ArchiveEntry) map[string][]claims.ArchiveEntry {
	out := map[string][]claims.ArchiveEntry{}
	for _, e := range entries {
		key := s.Keys().Named(e.Stream)
		out[key] = append(out[key], e)
	}
	return out
}

// TestTrimMaxlenKeepsThatManyOfEachPartition: maxlen counts per stream;
// the archive holds exactly what each stream lost, oldest first.
func TestTrimMaxlenKeepsThatManyOfEachPartition(t *testing.T) {
	t.Parallel()
	streamstest.ForEachLayout(t, func(t *testing.T, s *streams.Store) {
		ctx := context.Background()
		submitClaims(t, s, 60)
		before := streamEntries(t, s)
		keep := int64(3)
		plan, err := PlanTrim(ctx, s, claims.TrimOptions{MaxLen: &keep})
		require.NoError(t, err)
		parts := s.Keys().Partitions()
		require.Len(t, plan.Streams, parts, "one plan per partition")
		var want int64
		for i, st := range plan.Streams {
			key := s.Keys().Partition(i).Events()
			assert.Equal(t, key, st.Stream)
			assert.EqualValues(t, len(before[key]), st.Length)
			assert.EqualValues(t, max(len(before[key])-3, 0), st.Count, "%s keeps 3", key)
			want += st.Count
		}
		assert.Equal(t, want, plan.Count())
		if parts > 1 {
			assert.Contains(t, plan.Describe(), "keeps the newest 3 of each of the 6 partitions")
		} else {
			assert.Contains(t, plan.Describe(), "trim "+s.Keys().Events()+" (all but the newest 3 entries): 57 of 60 entries would go, 3 stay")
		}

		var archive memArchive
		res, err := Trim(ctx, s, plan, TrimExec{Archive: archive.open})
		require.NoError(t, err)
		assert.Equal(t, want, res.Total())
		after := streamEntries(t, s)
		archived := archivedByStream(s, archive.entries(t))
		for i, key := range s.Keys().EventStreams() {
			n := len(before[key]) - min(len(before[key]), 3)
			assert.EqualValues(t, n, res.Removed[i], key)
			assert.Equal(t, before[key][n:], after[key], "%s keeps its newest 3", key)
			require.Len(t, archived[key], n, "%s: every removed entry archived", key)
			for j, e := range archived[key] {
				assert.Equal(t, before[key][j].ID, e.ID)
				assert.Equal(t, before[key][j].Values, e.Values())
			}
			if n > 0 {
				assert.Equal(t, before[key][0].ID, archive.firsts[keeperOf(s).archiveName(key)])
			}
		}
	})
}

// TestTrimBeforeAppliesToEveryPartition: before= is one bound for all.
func TestTrimBeforeAppliesToEveryPartition(t *testing.T) {
	t.Parallel()
	streamstest.ForEachLayout(t, func(t *testing.T, s *streams.Store) {
		ctx := context.Background()
		submitClaims(t, s, 20)
		submitClaims(t, s, 20)
		var ids []string
		for _, msgs := range streamEntries(t, s) {
			for _, m := range msgs {
				ids = append(ids, m.ID)
			}
		}
		sort.Slice(ids, func(a, b int) bool { return claims.CompareIDs(ids[a], ids[b]) < 0 })
		bound := ids[25]
		// Partitions' ids may tie (one millisecond, sequence 0 in each).
		below := sort.Search(len(ids), func(i int) bool { return claims.CompareIDs(ids[i], bound) >= 0 })
		require.Positive(t, below)
		plan, err := PlanTrim(ctx, s, claims.TrimOptions{Before: bound})
		require.NoError(t, err)
		assert.EqualValues(t, below, plan.Count(), "the entries below the bound, wherever they are")
		res, err := Trim(ctx, s, plan, TrimExec{})
		require.NoError(t, err)
		assert.EqualValues(t, below, res.Total())
		for key, msgs := range streamEntries(t, s) {
			for _, m := range msgs {
				assert.GreaterOrEqual(t, claims.CompareIDs(m.ID, bound), 0, "%s keeps %s", key, m.ID)
			}
		}
		assert.EqualValues(t, 40-below, xlen(t, s))
	})
}

// TestTrimRefusedUnlessForce: a group that has not read or acked entries
// of any partition stops the whole trim; force removes them anyway.
func TestTrimRefusedUnlessForce(t *testing.T) {
	t.Parallel()
	streamstest.ForEachLayout(t, func(t *testing.T, s *streams.Store) {
		ctx := context.Background()
		submitClaims(t, s, 12)
		_, err := s.Consume(ctx, streams.GroupProcessors, "w1", streams.ConsumeOptions{Count: 4})
		require.NoError(t, err)
		none := int64(0)
		plan, err := PlanTrim(ctx, s, claims.TrimOptions{MaxLen: &none})
		require.NoError(t, err)
		sum := claims.GroupRisk{Group: streams.GroupProcessors}
		for _, g := range plan.Groups() {
			if g.Group == streams.GroupProcessors {
				sum = g
			}
		}
		assert.Equal(t, claims.GroupRisk{Group: streams.GroupProcessors, Pending: 4, Unread: 8}, sum)
		var opened bool
		_, err = Trim(ctx, s, plan, TrimExec{Archive: func(map[string]string) (Archiver, error) { opened = true; return &memArchive{}, nil }})
		var refused *claims.TrimRefusedError
		require.ErrorAs(t, err, &refused)
		assert.ErrorIs(t, err, claims.ErrTrimRefused)
		assert.Contains(t, err.Error(), "nothing removed")
		assert.False(t, opened, "a refused trim does not touch the archive")
		assert.EqualValues(t, 12, xlen(t, s))

		var archive memArchive
		var progress []int64
		res, err := Trim(ctx, s, plan, TrimExec{Force: true, Archive: archive.open, Progress: func(done, total int64) {
			assert.EqualValues(t, 12, total)
			progress = append(progress, done)
		}})
		require.NoError(t, err)
		assert.EqualValues(t, 12, res.Total())
		require.NotEmpty(t, progress)
		assert.EqualValues(t, 12, progress[len(progress)-1], "the bar reaches the end")
		assert.Len(t, archive.entries(t), 12)
		assert.Zero(t, xlen(t, s))
	})
}

// TestTrimStopsWhenTheStreamChanged: the archive pass reads the planned
// range again; an entry gone since the plan stops the trim, and the
// archive is cut back.
func TestTrimStopsWhenTheStreamChanged(t *testing.T) {
	t.Parallel()
	streamstest.ForEachLayout(t, func(t *testing.T, s *streams.Store) {
		ctx := context.Background()
		submitClaims(t, s, 18)
		none := int64(0)
		plan, err := PlanTrim(ctx, s, claims.TrimOptions{MaxLen: &none})
		require.NoError(t, err)
		last := plan.Streams[len(plan.Streams)-1]
		for _, st := range plan.Streams {
			if st.Count > 1 {
				last = st
			}
		}
		require.NoError(t, s.Client().XDel(ctx, last.Stream, last.LastID).Err())
		var archive memArchive
		_, err = Trim(ctx, s, plan, TrimExec{Archive: archive.open})
		require.ErrorContains(t, err, last.Stream+" changed since the plan")
		require.ErrorContains(t, err, "nothing removed")
		assert.True(t, archive.aborted)
		assert.False(t, archive.committed)
		assert.EqualValues(t, 17, xlen(t, s), "nothing removed")
	})
}

// TestPlanCountsAcrossPages: a plan longer than a page counts each
// group's pending and unread entries exactly; a pending entry deleted
// since is not counted.
func TestPlanCountsAcrossPages(t *testing.T) {
	t.Parallel()
	streamstest.ForEachServer(t, streams.Options{}, func(t *testing.T, s *streams.Store) {
		ctx := context.Background()
		key := s.Keys().Named("many")
		const n = 2*trimPageSize + 500
		pipe := s.Client().Pipeline()
		for i := range n {
			pipe.XAdd(ctx, &redis.XAddArgs{Stream: key, ID: fmt.Sprintf("%d-1", i+1), Values: []any{"n", i}})
		}
		_, err := pipe.Exec(ctx)
		require.NoError(t, err)
		require.NoError(t, s.Client().XGroupCreate(ctx, key, "g", "0").Err())
		read, err := s.Client().XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g", Consumer: "c", Streams: []string{key, ">"}, Count: 1500, Block: -1}).Result()
		require.NoError(t, err)
		require.Len(t, read[0].Messages, 1500)
		// Ack around the first page boundary, delete one pending entry.
		var acked []string
		for i := 990; i < 1010; i++ {
			acked = append(acked, read[0].Messages[i].ID)
		}
		require.NoError(t, s.Client().XAck(ctx, key, "g", acked...).Err())
		require.NoError(t, s.Client().XDel(ctx, key, read[0].Messages[700].ID).Err())

		keep := int64(100)
		plan, err := PlanTrim(ctx, s, claims.TrimOptions{Stream: key, MaxLen: &keep})
		require.NoError(t, err)
		st := plan.Streams[0]
		assert.EqualValues(t, n-1, st.Length)
		assert.EqualValues(t, n-1-100, st.Count)
		assert.Equal(t, "1-1", st.FirstID)
		assert.Equal(t, fmt.Sprintf("%d-1", n-100), st.LastID)
		assert.Equal(t, []claims.GroupRisk{{Group: "g", Pending: 1500 - 20 - 1, Unread: n - 100 - 1500}}, st.Groups)
	})
}

// TestStreamDetailsCoverEveryPartition: info() reads every partition's
// event stream, notifications and dead letters.
func TestStreamDetailsCoverEveryPartition(t *testing.T) {
	t.Parallel()
	streamstest.ForEachLayout(t, func(t *testing.T, s *streams.Store) {
		ctx := context.Background()
		submitClaims(t, s, 30)
		details, err := StreamDetails(ctx, s)
		require.NoError(t, err)
		byKey := map[string]StreamDetail{}
		for _, d := range details {
			byKey[d.Key] = d
		}
		parts := s.Keys().Partitions()
		require.Len(t, details, 1+3*parts, "events, notifications and DLQ of each partition, and the analytics")
		entries := streamEntries(t, s)
		var total int64
		for _, pk := range s.Keys().All() {
			for _, key := range []string{pk.Events(), pk.Notifications(), pk.DLQ()} {
				assert.Contains(t, byKey, key)
			}
			d := byKey[pk.Events()]
			msgs := entries[pk.Events()]
			assert.EqualValues(t, len(msgs), d.Length, pk.Events())
			total += d.Length
			if len(msgs) > 0 {
				assert.Equal(t, msgs[0].ID, d.First.ID)
				assert.Equal(t, msgs[len(msgs)-1].ID, d.Last.ID)
				assert.Equal(t, string(claims.ClaimSubmitted), d.First.Type)
			}
		}
		assert.EqualValues(t, 30, total)
	})
}
