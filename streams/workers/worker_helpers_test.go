package workers_test

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
	"claimsctl/streams/scripts"
	"claimsctl/streams/streamstest"
	"claimsctl/streams/upkeep"
	"claimsctl/streams/workers"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// The helpers streamstest shares with the store's outside tests.
var (
	startWorker = streamstest.StartWorker
	submit      = streamstest.Submit
	streamLen   = streamstest.StreamLen
	waitFor     = streamstest.WaitFor
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
			out[i].Explain = func([]scripts.Reply) (string, error) { return "", errCrashed }
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
