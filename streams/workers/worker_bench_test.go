package workers_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"claimsctl/streams"
	"claimsctl/streams/redistest"
	"claimsctl/streams/workers"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// prefill starts a real redis-server with sample data and n submitted claims.
func prefill(b *testing.B, n int) *streams.Store {
	srv := redistest.Start(b)
	s := storeOn(b, srv, "")
	loadSample(b, s)
	var wg sync.WaitGroup
	const producers = 8
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := p; i < n; i += producers {
				submit(b, s, "POL-0001", "auto", 100)
			}
		}()
	}
	wg.Wait()
	return s
}

// runUntil runs one worker (COUNT 100) until its group has read and
// acknowledged want entries, and reports events/s.
func runUntil(b *testing.B, s *streams.Store, h workers.Handler, want int64) {
	b.ResetTimer()
	start := time.Now()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		done <- workers.Run(ctx, s, h, workers.Options{Consumer: "bench", Count: 100, Block: 50 * time.Millisecond})
	}()
	for !drained(b, s, h.Group(), want) {
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	cancel()
	require.NoError(b, <-done)
	b.ReportMetric(float64(want)/elapsed.Seconds(), "events/s")
}

// drained reports whether group has read at least want entries and has
// none pending (real Redis reports entries-read).
func drained(b *testing.B, s *streams.Store, group string, want int64) bool {
	groups, err := s.Client().XInfoGroups(context.Background(), s.Keys().Events()).Result()
	if err != nil {
		return false
	}
	for _, g := range groups {
		if g.Name == group {
			return g.EntriesRead >= want && g.Pending == 0
		}
	}
	return false
}

// BenchmarkProcessor measures the processor worker end to end on a real
// redis-server: b.N claims are submitted beforehand, then one worker
// consumes, projects, decides (policy check, least-loaded adjuster,
// claim.assigned appended through the version-checked script) and acks;
// the claim.assigned entries come round and are consumed, found already
// projected and acked too. events/s counts both (2 per claim, ns/op is
// per claim).
func BenchmarkProcessor(b *testing.B) {
	s := prefill(b, b.N)
	runUntil(b, s, workers.NewProcessor(s), int64(2*b.N))
}

// BenchmarkAnalytics measures a projection-only worker: one
// version-checked script per event (consume + count + ack).
func BenchmarkAnalytics(b *testing.B) {
	s := prefill(b, b.N)
	runUntil(b, s, workers.NewAnalytics(s, workers.AnalyticsOptions{SnapshotEvery: 1000}), int64(b.N))
}

// BenchmarkPlainXReadGroupAck is the floor to compare BenchmarkProcessor
// with: XREADGROUP COUNT 100 and one XACK per batch, no handling, on
// entries shaped like claim events.
func BenchmarkPlainXReadGroupAck(b *testing.B) {
	ctx := context.Background()
	srv := redistest.Start(b)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), Protocol: 2})
	b.Cleanup(func() { _ = rdb.Close() })
	const stream, group = "claims:events", "plain"
	fields := []any{"type", "claim.submitted", "claim_id", "3f9c1234-0000-4000-8000-000000000000", "version", "1",
		"event_id", "5e50157b-6868-4502-8153-3f0ccaa01c11", "occurred_at", "2026-11-25T09:38:09.864Z", "actor", "claimsctl",
		"data", `{"amount":100,"claim_type":"auto","customer_id":"CUST-0001","description":"test claim","incident_date":"2026-11-23","policy_id":"POL-0001"}`,
		"schema", "1"}
	for done := 0; done < b.N; {
		pipe := rdb.Pipeline()
		n := min(1000, b.N-done)
		for range n {
			pipe.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: fields})
		}
		_, err := pipe.Exec(ctx)
		require.NoError(b, err)
		done += n
	}
	require.NoError(b, rdb.XGroupCreate(ctx, stream, group, "0").Err())

	b.ResetTimer()
	start := time.Now()
	read := 0
	for read < b.N {
		res, err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: group, Consumer: "bench", Streams: []string{stream, ">"}, Count: 100, Block: -1}).Result()
		require.NoError(b, err)
		ids := make([]string, 0, 100)
		for _, m := range res[0].Messages {
			ids = append(ids, m.ID)
		}
		require.NoError(b, rdb.XAck(ctx, stream, group, ids...).Err())
		read += len(ids)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
	if read != b.N {
		b.Fatalf("read %d of %d", read, b.N)
	}
}
