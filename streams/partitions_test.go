package streams_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"claimsctl/streams"
	"claimsctl/streams/claims"
	"claimsctl/streams/embedded"
	"claimsctl/streams/redistest"
	"claimsctl/streams/streamstest"
	"claimsctl/streams/workers"
)

// onPartitionedBackends runs fn on a store with six partitions: on a real
// redis-server and on the embedded server (how a student without a
// cluster sees partitions).
func onPartitionedBackends(t *testing.T, fn func(t *testing.T, s *streams.Store)) {
	t.Parallel()
	open := map[string]func(t *testing.T) redis.UniversalClient{
		"redis": func(t *testing.T) redis.UniversalClient {
			return redis.NewClient(&redis.Options{Addr: redistest.Start(t).Addr(), Protocol: 2})
		},
		"embedded": func(t *testing.T) redis.UniversalClient {
			srv, err := embedded.Start(0)
			require.NoError(t, err)
			t.Cleanup(srv.Close)
			return redis.NewClient(&redis.Options{Addr: srv.Addr(), Protocol: 2})
		},
	}
	for name, client := range open {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			rdb := client(t)
			t.Cleanup(func() { _ = rdb.Close() })
			s, err := streams.Open(context.Background(), rdb, streams.Options{Prefix: "p:", Partitions: 6, CountLag: name == "embedded"})
			require.NoError(t, err)
			fn(t, s)
		})
	}
}

// TestPartitionLayout: every key a script touches for one claim shares
// its partition's hash tag, and the partitions spread over the slots.
func TestPartitionLayout(t *testing.T) {
	t.Parallel()
	k := streams.NewKeys("x:", nil)
	assert.Equal(t, 1, k.Partitions())
	assert.Equal(t, "x:claims:events", k.ForClaim("c1").Events(), "one partition keeps the lab's names")
	assert.Equal(t, "x:claims:aggregate:c1", k.Aggregate("c1"))
	assert.Equal(t, "x:claim:c1", k.ReadModel("c1"))

	s := streams.New(redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}), streams.Options{Partitions: 6})
	k = s.Keys()
	require.Equal(t, 6, k.Partitions())
	perThird := map[int]int{}
	for _, pk := range k.All() {
		perThird[streams.Slot(pk.Events())*3/16384]++
	}
	assert.Equal(t, map[int]int{0: 2, 1: 2, 2: 2}, perThird, "two partitions on each third of the slots: each of 3 masters gets two")
	for i := range 200 {
		id := fmt.Sprintf("claim-%d", i)
		pk := k.ForClaim(id)
		slot := streams.Slot(pk.Events())
		for _, key := range []string{pk.Aggregate(id), pk.ReadModel(id), pk.Audit(id), pk.DLQ(), pk.Notifications(), pk.NotifySeen(),
			pk.Stats(), pk.StatsClaims(), pk.AdjusterLoad(), pk.EventIDs()} {
			assert.Equal(t, slot, streams.Slot(key), "%s is on its partition's slot", key)
		}
		assert.Equal(t, k.Aggregate(id), pk.Aggregate(id))
	}
	// The cluster spec's CRC16 check value (0x31C3) and a slot redis-cli reports.
	assert.Equal(t, 0x31C3, streams.Slot("123456789"))
	assert.Equal(t, 12182, streams.Slot("foo"))
	assert.Equal(t, streams.Slot("user1000"), streams.Slot("{user1000}.followers"))
	assert.Equal(t, streams.Slot("{}x"), streams.Slot("{}x"), "an empty tag hashes the whole key")
}

// TestPartitionCountIsKept: the keyspace remembers its partitions; a
// process that asks for another count is refused, naming both.
func TestPartitionCountIsKept(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: redistest.Start(t).Addr(), Protocol: 2})
	t.Cleanup(func() { _ = rdb.Close() })
	six, err := streams.Open(ctx, rdb, streams.Options{Partitions: 6})
	require.NoError(t, err)
	streamstest.Submit(t, six, "POL-0001", "auto", 100)

	_, err = streams.Open(ctx, rdb, streams.Options{Partitions: 4})
	require.ErrorIs(t, err, streams.ErrLayout)
	assert.Contains(t, err.Error(), "this keyspace has 6 partition(s) (claims:meta), not the 4 asked for: start with --partitions 6")
	again, err := streams.Open(ctx, rdb, streams.Options{})
	require.NoError(t, err, "no --partitions: the keyspace's count")
	assert.Equal(t, six.Keys().Tags(), again.Keys().Tags())

	// A store made without reading the keyspace is refused at its first write.
	four := streams.New(rdb, streams.Options{Partitions: 4})
	_, _, err = four.Submit(ctx, streams.Submission{CustomerID: "C", PolicyID: "P", Amount: 1, ClaimType: "auto", IncidentDate: "2026-01-01", Description: "d"}, streams.EmitOptions{})
	assert.ErrorIs(t, err, streams.ErrLayout)
	assert.Equal(t, int64(1), totalLen(t, six), "nothing written")
}

// TestPartitionedStore: claims spread over the partitions, each claim's
// events in one stream with contiguous versions; reads cover them all.
func TestPartitionedStore(t *testing.T) {
	onPartitionedBackends(t, func(t *testing.T, s *streams.Store) {
		ctx := context.Background()
		loadSample(t, s)
		var subs []streams.NewClaim
		for range 120 {
			subs = append(subs, streams.Submission{CustomerID: "CUST-0001", PolicyID: "POL-0001", Amount: 100,
				ClaimType: "auto", IncidentDate: "2026-01-01", Description: "d"}.NewClaim())
		}
		res, err := s.SubmitMany(ctx, subs, streams.BulkOptions{Chunk: 25})
		require.NoError(t, err)
		ids := res.ClaimIDs
		for _, id := range ids[:20] {
			_, _, err := s.Emit(ctx, id[:8], claims.ClaimAssigned, map[string]any{"adjuster": "ADJ-001"}, streams.EmitOptions{})
			require.NoError(t, err, "a short id finds its claim in its partition")
		}
		used := map[int]bool{}
		for _, id := range ids {
			used[s.Keys().PartitionOf(id)] = true
		}
		assert.Len(t, used, 6, "120 claims reach every partition")

		// Each claim's events live in its partition's stream, in order.
		for _, id := range ids[:20] {
			h, err := s.History(ctx, id)
			require.NoError(t, err)
			require.Len(t, h, 2)
			stream := s.Keys().ForClaim(id).Events()
			for i, e := range h {
				assert.Equal(t, int64(i+1), e.Version)
				got, err := s.Client().XRange(ctx, stream, e.ID, e.ID).Result()
				require.NoError(t, err)
				assert.Len(t, got, 1, "v%d is in %s", e.Version, stream)
			}
			c, err := s.Claim(ctx, id)
			require.NoError(t, err)
			assert.Equal(t, claims.StatusAssigned, c.Status)
		}

		// Replay merges the partitions in entry id order.
		var replayed []string
		require.NoError(t, s.Replay(ctx, streams.ReplayOptions{PageSize: 7}, func(d streams.Delivery) error {
			require.NoError(t, d.Err)
			replayed = append(replayed, d.ID)
			return nil
		}))
		assert.Len(t, replayed, 140)
		assert.True(t, sort.SliceIsSorted(replayed, func(a, b int) bool { return claims.CompareIDs(replayed[a], replayed[b]) < 0 }), "in id order")
		rep, err := s.Report(ctx)
		require.NoError(t, err)
		assert.Equal(t, 120, rep.Claims)
		assert.Equal(t, map[string]int{"submitted": 100, "assigned": 20}, rep.ByStatus)

		// The state view combines the partitions.
		st, err := s.State(ctx)
		require.NoError(t, err)
		assert.Equal(t, int64(140), st.Events().Length)

		// consume() hands out no more than asked, from every partition.
		got, err := s.Consume(ctx, "readers", "r1", streams.ConsumeOptions{Count: 50})
		require.NoError(t, err)
		assert.Len(t, got, 50)
		seen := 50
		for {
			more, err := s.Consume(ctx, "readers", "r1", streams.ConsumeOptions{Count: 50})
			require.NoError(t, err)
			if len(more) == 0 {
				break
			}
			seen += len(more)
			got = append(got, more...)
		}
		assert.Equal(t, 140, seen)
		first, err := s.Ack(ctx, "readers", got[0].ID)
		if err != nil {
			// Partitions number their entries apart: the same id can be
			// pending in several, and only the delivery says which.
			assert.ErrorIs(t, err, claims.ErrInvalid)
			assert.Contains(t, err.Error(), "give the delivery itself")
		}
		n, err := s.AckEntries(ctx, "readers", refsOf(got))
		require.NoError(t, err)
		assert.Equal(t, int64(140), first+n, "a bare id unique over the partitions is acked by itself")
		p, _, err := s.Pending(ctx, "readers")
		require.NoError(t, err)
		assert.Zero(t, p.Count)
	})
}

// TestPartitionedWorkers: the four workers cover every partition; the
// processor balances adjusters over the partitions' summed workload.
func TestPartitionedWorkers(t *testing.T) {
	onPartitionedBackends(t, func(t *testing.T, s *streams.Store) {
		ctx := context.Background()
		loadSample(t, s)
		var ids []string
		for range 50 {
			ids = append(ids, streamstest.Submit(t, s, "POL-0001", "auto", 100))
		}
		for _, name := range workers.Names {
			h, err := workers.New(s, name)
			require.NoError(t, err)
			streamstest.StartWorker(t, s, h, workers.Options{Consumer: "w1", Block: 20 * time.Millisecond})
		}
		streamstest.WaitFor(t, "every claim decided and every group done", func() bool {
			st, err := s.State(ctx)
			if err != nil || st.Events() == nil || len(st.Events().Groups) < 4 {
				return false
			}
			for _, g := range st.Events().Groups {
				if g.Pending > 0 || g.Lag > 0 {
					return false
				}
			}
			return st.Events().Length == 100
		})
		for _, id := range ids {
			v, err := s.ClaimView(ctx, id)
			require.NoError(t, err)
			assert.Equal(t, "assigned", v["status"])
		}
		loads, err := s.AdjusterLoads(ctx)
		require.NoError(t, err)
		var total int64
		for _, a := range claims.DefaultAdjusters {
			assert.InDelta(t, 10, loads[a], 4, "%s carries its share of 50 claims over five adjusters: %v", a, loads)
			total += loads[a]
		}
		assert.Equal(t, int64(50), total)
		st, err := s.Stats(ctx)
		require.NoError(t, err)
		assert.Equal(t, int64(50), st.Claims, "the partitions' counters summed")
		assert.Equal(t, int64(50), st.ByStatus["assigned"])
		trail, err := s.AuditTrail(ctx, ids[7])
		require.NoError(t, err)
		assert.Len(t, trail, 2)

		// A forged entry in one partition is dead-lettered in that one.
		forged, err := s.Client().XAdd(ctx, &redis.XAddArgs{Stream: s.Keys().ForClaim(ids[3]).Events(), Values: []any{
			"type", "claim.rejected", "claim_id", ids[3], "version", "3", "event_id", "x", "occurred_at", "2026-01-01T00:00:00Z",
			"actor", "me", "data", `{"reason":"forged"}`, "schema", "1"}}).Result()
		require.NoError(t, err)
		streamstest.WaitFor(t, "the forged entry dead-lettered by every group", func() bool {
			dlq, err := workers.DLQ(ctx, s)
			return err == nil && len(dlq) == 4
		})
		dlq, err := workers.DLQ(ctx, s)
		require.NoError(t, err)
		for _, dl := range dlq {
			assert.Equal(t, forged, dl.SourceID)
			assert.Equal(t, s.Keys().ForClaim(ids[3]).DLQ(), dl.DLQStream)
		}
		v, err := s.ClaimView(ctx, ids[3])
		require.NoError(t, err)
		assert.Equal(t, "assigned", v["status"], "never projected")
		_, err = workers.RetryDLQ(ctx, s, "all")
		assert.True(t, errors.Is(err, claims.ErrInvalid), "not an event the store wrote: not put back: %v", err)
	})
}

// TestPartitionedConsumeWaits: a blocking consume on several partitions
// wakes up when any of them gets an entry.
func TestPartitionedConsumeWaits(t *testing.T) {
	onPartitionedBackends(t, func(t *testing.T, s *streams.Store) {
		ctx := context.Background()
		require.NoError(t, s.EnsureGroup(ctx, "waiters"))
		done := make(chan []streams.Delivery, 1)
		go func() {
			got, err := s.Consume(ctx, "waiters", "w", streams.ConsumeOptions{Block: 20 * time.Second})
			assert.NoError(t, err)
			done <- got
		}()
		// The first entry may land before the read blocks: it is found
		// either way.
		id := streamstest.Submit(t, s, "POL-0001", "auto", 100)
		select {
		case got := <-done:
			require.Len(t, got, 1)
			assert.Equal(t, id, got[0].Event.ClaimID)
		case <-time.After(15 * time.Second):
			t.Fatal("consume did not return the appended event")
		}
	})
}

func totalLen(t testing.TB, s *streams.Store) int64 {
	t.Helper()
	var n int64
	for _, stream := range s.Keys().EventStreams() {
		n += streamstest.StreamLen(t, s, stream)
	}
	return n
}

func refsOf(ds []streams.Delivery) []streams.EntryRef {
	refs := make([]streams.EntryRef, 0, len(ds))
	for _, d := range ds {
		refs = append(refs, d.Ref())
	}
	return refs
}
