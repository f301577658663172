package streams_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"claimsctl/streams"
	"claimsctl/streams/claims"
	"claimsctl/streams/redistest"
	"claimsctl/streams/streamstest"
	"claimsctl/streams/upkeep"
	"claimsctl/streams/workers"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// storeOn connects a store to a real server.
func storeOn(t testing.TB, srv *redistest.Server, prefix string) *streams.Store {
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), Protocol: 2})
	t.Cleanup(func() { _ = rdb.Close() })
	return streams.New(rdb, streams.Options{Prefix: prefix})
}

// onBackends runs fn as a parallel subtest on each backend, with a store
// connected as the CLI connects (streamstest).
func onBackends(t *testing.T, fn func(t *testing.T, s *streams.Store)) {
	t.Parallel()
	streamstest.ForEachBackend(t, func(t *testing.T, newStore streamstest.NewStore) {
		fn(t, newStore(t, streams.Options{}))
	})
}

// waitFor is streamstest.WaitFor.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	streamstest.WaitFor(t, what, cond)
}

// logLines collects a worker's log.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) add(line string) {
	l.mu.Lock()
	l.lines = append(l.lines, line)
	l.mu.Unlock()
}

func (l *logLines) has(sub string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		if strings.Contains(line, sub) {
			return true
		}
	}
	return false
}

func (l *logLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// startWorker runs a worker in a goroutine; the returned stop cancels it
// and waits until RunWorker has returned (it must, promptly, with nil).
func startWorker(t testing.TB, s *streams.Store, h workers.Handler, o workers.Options) (stop func()) {
	t.Helper()
	o.Verbose = true // the tests read the per-event lines
	if o.Block == 0 {
		// A blocked XREADGROUP cannot be interrupted, so a stop waits for
		// the block to end: keep it short for a fast suite.
		o.Block = 50 * time.Millisecond
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- workers.Run(ctx, s, h, o) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("RunWorker returned %v, want nil on cancel", err)
				}
			case <-time.After(10 * time.Second):
				t.Errorf("RunWorker did not return within 10s of cancel")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func incidentDate() string { return time.Now().UTC().AddDate(0, 0, -2).Format("2006-01-02") }

// submit files a claim and returns its id.
func submit(t testing.TB, s *streams.Store, policy, claimType string, amount float64) string {
	t.Helper()
	ev, _, err := s.Submit(context.Background(), streams.Submission{
		CustomerID: "CUST-0001", PolicyID: policy, Amount: amount, ClaimType: claimType,
		IncidentDate: incidentDate(), Description: "test claim",
	}, streams.EmitOptions{})
	require.NoError(t, err)
	return ev.ClaimID
}

func loadSample(t testing.TB, s *streams.Store) {
	t.Helper()
	_, err := upkeep.LoadSampleData(context.Background(), s, claims.SampleOptions{Seed: 1})
	require.NoError(t, err)
}

// claimVersion is the claim's version in the event store (0 if unknown).
func claimVersion(s *streams.Store, id string) int64 {
	c, err := s.Claim(context.Background(), id)
	if err != nil {
		return 0
	}
	return c.Version
}

func streamLen(t testing.TB, s *streams.Store, key string) int64 {
	t.Helper()
	n, err := s.Client().XLen(context.Background(), key).Result()
	require.NoError(t, err)
	return n
}

func pendingCount(t testing.TB, s *streams.Store, group string) int64 {
	t.Helper()
	sum, _, err := s.Pending(context.Background(), group)
	require.NoError(t, err)
	return sum.Count
}

// allIdle reports whether every pending entry of group is idle >= d.
func allIdle(t testing.TB, s *streams.Store, group string, d time.Duration) bool {
	t.Helper()
	_, entries, err := s.Pending(context.Background(), group)
	require.NoError(t, err)
	for _, e := range entries {
		if e.Idle < d {
			return false
		}
	}
	return len(entries) > 0
}

// errCrashed is what a crashed handler reports for the rest of its batch.
var errCrashed = errors.New("worker crashed")

// crashing simulates a worker killed mid-batch: it decides `after`
// events, then has the next event's effect written and "dies" before the
// ack (it cancels its worker and fails that event and every later one,
// which leaves them pending as a kill -9 would).
type crashing struct {
	workers.Handler
	after  int
	cancel func()
	n      int
}

func (c *crashing) Decide(ctx context.Context, batch []streams.Delivery, got *streams.Snapshot) []workers.Decision {
	out := c.Handler.Decide(ctx, batch, got)
	for i := range out {
		c.n++
		switch {
		case c.n <= c.after:
		case c.n == c.after+1:
			c.cancel()
			out[i].Explain = func([]streams.Reply) (string, error) { return "", errCrashed }
		default:
			out[i] = workers.Decision{Err: errCrashed}
		}
	}
	return out
}

// recording remembers which entries a handler decided without refusing.
type recording struct {
	workers.Handler
	mu      sync.Mutex
	handled []string
	first   func() // called before the first batch is decided
	once    sync.Once
}

func (r *recording) Decide(ctx context.Context, batch []streams.Delivery, got *streams.Snapshot) []workers.Decision {
	if r.first != nil {
		r.once.Do(r.first)
	}
	out := r.Handler.Decide(ctx, batch, got)
	r.mu.Lock()
	for i, d := range batch {
		if out[i].Err == nil {
			r.handled = append(r.handled, d.ID)
		}
	}
	r.mu.Unlock()
	return out
}

func (r *recording) ids() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.handled...)
}

// failing always fails, to exercise retries and the DLQ limit.
type failing struct{ group string }

func (f failing) Group() string                           { return f.group }
func (f failing) Label() string                           { return f.group }
func (f failing) Needs([]streams.Delivery) []streams.Read { return nil }
func (f failing) Decide(_ context.Context, batch []streams.Delivery, _ *streams.Snapshot) []workers.Decision {
	out := make([]workers.Decision, len(batch))
	for i := range out {
		out[i].Err = fmt.Errorf("boom")
	}
	return out
}
