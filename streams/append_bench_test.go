package streams

import (
	"context"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"claimsctl/streams/claims"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// BenchmarkAppend measures one-at-a-time appends through the whole command
// path on a real redis-server: validate the payload and the transition in
// Go against the claim this handle holds, then EVALSHA the version-checking
// append script. Compare with BenchmarkXAddBaseline, a bare XADD of the
// same eight fields: the difference is the price of the checks. cold and
// stale-* are the commands that read the claim first (HGETALL, then its
// events in one pipeline), because this handle does not hold it or holds
// it as it was before another handle moved it.
func BenchmarkAppend(b *testing.B) {
	ctx := context.Background()
	s := newRedisStore(b, Options{})
	trips := &roundTrips{}
	s.Client().AddHook(trips)

	b.Run("submit", func(b *testing.B) {
		sub := testSubmission()
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := s.Submit(ctx, sub, EmitOptions{}); err != nil {
				b.Fatal(err)
			}
		}
		reportEventsPerSecond(b)
	})

	b.Run("lifecycle", func(b *testing.B) {
		// The seven events after a submission, round after round on fresh
		// claims submitted outside the timer in batches.
		steps := lifecycleSteps()
		const batch = 256
		var claims []string
		next := 0
		refill := func() {
			b.StopTimer()
			claims = claims[:0]
			for range batch {
				_, c, err := s.Submit(ctx, testSubmission(), EmitOptions{})
				require.NoError(b, err)
				claims = append(claims, c.ID)
			}
			next = 0
			b.StartTimer()
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			st := steps[i%len(steps)]
			if i%len(steps) == 0 && next == len(claims) {
				refill()
			}
			before := trips.n.Load()
			if _, _, err := s.Emit(ctx, claims[next], st.Type, st.Data, EmitOptions{}); err != nil {
				b.Fatal(err)
			}
			trips.timed += trips.n.Load() - before
			i++
			if i%len(steps) == 0 {
				next++
			}
		}
		trips.report(b)
		reportEventsPerSecond(b)
	})

	// A command on a claim another handle (a worker, another terminal)
	// moved last: this handle's cache is out of date or empty, so the claim
	// is read as it is now before the command is checked.
	other := s.WithPrefix(s.Keys().Prefix)
	moved := func(b *testing.B, by *Store, steps []lifecycleStep, t claims.EventType, data map[string]any) {
		const batch = 256
		var ids []string
		b.ReportAllocs()
		for b.Loop() {
			if len(ids) == 0 {
				b.StopTimer()
				for range batch {
					_, c, err := by.Submit(ctx, testSubmission(), EmitOptions{})
					require.NoError(b, err)
					for _, st := range steps {
						_, _, err = other.Emit(ctx, c.ID, st.Type, st.Data, EmitOptions{})
						require.NoError(b, err)
					}
					ids = append(ids, c.ID)
				}
				b.StartTimer()
			}
			before := trips.n.Load()
			if _, _, err := s.Emit(ctx, ids[0], t, data, EmitOptions{}); err != nil {
				b.Fatal(err)
			}
			trips.timed += trips.n.Load() - before
			ids = ids[1:]
		}
		trips.report(b)
		reportEventsPerSecond(b)
	}
	steps := lifecycleSteps()
	b.Run("cold", func(b *testing.B) {
		// Submitted by the other handle: nothing cached here.
		moved(b, other, nil, steps[0].Type, steps[0].Data)
	})
	b.Run("stale-passes", func(b *testing.B) {
		// Cached as submitted, assigned since: the upload passes the check
		// against the cache, and the script's version check catches it.
		moved(b, s, steps[:1], steps[1].Type, steps[1].Data)
	})
	b.Run("stale-refused", func(b *testing.B) {
		// Cached as submitted, assigned since: starting the investigation
		// is refused against the cache, so the claim is read again.
		moved(b, s, steps[:1], steps[2].Type, steps[2].Data)
	})
}

// BenchmarkXAddBaseline is a plain XADD of an event's eight flat fields,
// one at a time, on a real redis-server: the floor under BenchmarkAppend.
func BenchmarkXAddBaseline(b *testing.B) {
	ctx := context.Background()
	s := newRedisStore(b, Options{})
	fields, err := claims.Event{
		Type: claims.ClaimSubmitted, ClaimID: "6f1d0a4e-8d55-4bd5-9d3e-1f0c3b2a9e77", Version: 1,
		EventID: "0b6e1c4a-1111-4222-8333-944445555666", OccurredAt: time.Now(), Actor: claims.DefaultActor,
		Data: validPayloads()[claims.ClaimSubmitted],
	}.Fields()
	require.NoError(b, err)
	args := &redis.XAddArgs{Stream: s.Keys().Events(), Values: fields}
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Client().XAdd(ctx, args).Err(); err != nil {
			b.Fatal(err)
		}
	}
	reportEventsPerSecond(b)
}

// roundTrips counts a client's round trips (a command or a pipeline
// each): the cost of a command path that does not depend on how busy the
// machine is.
type roundTrips struct {
	n     atomic.Int64
	timed int64 // the round trips of the measured calls
}

func (r *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (r *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		r.n.Add(1)
		return next(ctx, cmd)
	}
}

func (r *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		r.n.Add(1)
		return next(ctx, cmds)
	}
}

// report gives the measured calls' round trips per op, and starts over.
func (r *roundTrips) report(b *testing.B) {
	b.ReportMetric(float64(r.timed)/float64(b.N), "round-trips/op")
	r.timed = 0
}

func reportEventsPerSecond(b *testing.B) {
	if secs := b.Elapsed().Seconds(); secs > 0 {
		b.ReportMetric(float64(b.N)/secs, "events/s")
	}
}

// BenchmarkSubmitMany measures bulk submission: every claim validated,
// then appended in chunks of 100, one script call per chunk.
func BenchmarkSubmitMany(b *testing.B) {
	ctx := context.Background()
	s := newRedisStore(b, Options{})
	subs := make([]NewClaim, 10000)
	for i := range subs {
		subs[i] = testSubmission().NewClaim()
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		res, err := s.SubmitMany(ctx, subs, BulkOptions{})
		if err != nil {
			b.Fatal(err)
		}
		n += res.Submitted
	}
	if secs := b.Elapsed().Seconds(); secs > 0 {
		b.ReportMetric(float64(n)/secs, "events/s")
	}
}

// BenchmarkReport measures report() over a stream of submitted claims
// (each page of XRANGE vetted against its claims' aggregates), beside
// BenchmarkXRangeDump, the same stream read page by page with nothing
// done: its ceiling.
func BenchmarkReport(b *testing.B) {
	ctx := context.Background()
	s := reportStore(b, 20000)
	b.ResetTimer()
	before := processCPU()
	for b.Loop() {
		r, err := s.Report(ctx)
		if err != nil || r.Claims != 20000 {
			b.Fatal(err, r.Claims)
		}
	}
	b.ReportMetric(float64(20000*b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64((processCPU()-before).Nanoseconds())/float64(20000*b.N), "cpu-ns/event")
}

func BenchmarkXRangeDump(b *testing.B) {
	ctx := context.Background()
	s := reportStore(b, 20000)
	b.ResetTimer()
	for b.Loop() {
		start, n := "-", 0
		for {
			msgs, err := s.Client().XRangeN(ctx, s.Keys().Events(), start, "+", defaultReplayPage).Result()
			if err != nil {
				b.Fatal(err)
			}
			n += len(msgs)
			if len(msgs) < defaultReplayPage {
				break
			}
			start = "(" + msgs[len(msgs)-1].ID
		}
		if n != 20000 {
			b.Fatal(n)
		}
	}
	b.ReportMetric(float64(20000*b.N)/b.Elapsed().Seconds(), "events/s")
}

func reportStore(b *testing.B, n int) *Store {
	s := newRedisStore(b, Options{})
	subs := make([]NewClaim, n)
	for i := range subs {
		subs[i] = testSubmission().NewClaim()
	}
	_, err := s.SubmitMany(context.Background(), subs, BulkOptions{})
	require.NoError(b, err)
	return s
}

// processCPU is the user and system CPU this process has used so far: on
// a shared machine a steadier measure than the wall clock.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
