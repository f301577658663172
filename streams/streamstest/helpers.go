package streamstest

import (
	"context"
	"sync"
	"testing"
	"time"

	"claimsctl/streams"
	"claimsctl/streams/workers"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// WaitFor polls cond until it holds or 10s pass, failing t then: tests
// wait on conditions, never on fixed sleeps.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ClaimIDsIn is n new claim ids of partition p of s's layout.
func ClaimIDsIn(s *streams.Store, p, n int) []string {
	var ids []string
	for len(ids) < n {
		if id := uuid.NewString(); s.Keys().PartitionOf(id) == p {
			ids = append(ids, id)
		}
	}
	return ids
}

// Submit files a claim (CUST-0001, two days before today) and returns its
// id.
func Submit(t testing.TB, s *streams.Store, policy, claimType string, amount float64) string {
	t.Helper()
	ev, _, err := s.Submit(context.Background(), streams.Submission{
		CustomerID: "CUST-0001", PolicyID: policy, Amount: amount, ClaimType: claimType,
		IncidentDate: time.Now().UTC().AddDate(0, 0, -2).Format("2006-01-02"), Description: "test claim",
	}, streams.EmitOptions{})
	require.NoError(t, err)
	return ev.ClaimID
}

// StreamLen is the length of a stream (0 when missing).
func StreamLen(t testing.TB, s *streams.Store, key string) int64 {
	t.Helper()
	n, err := s.Client().XLen(context.Background(), key).Result()
	require.NoError(t, err)
	return n
}

// StartWorker runs a worker in a goroutine, logging every event; the
// returned stop (also t's cleanup) cancels it and waits until workers.Run
// has returned (it must, promptly, with nil).
func StartWorker(t testing.TB, s *streams.Store, h workers.Handler, o workers.Options) (stop func()) {
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
					t.Errorf("workers.Run returned %v, want nil on cancel", err)
				}
			case <-time.After(10 * time.Second):
				t.Errorf("workers.Run did not return within 10s of cancel")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}
