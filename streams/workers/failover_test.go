package workers_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"claimsctl/streams"
	"claimsctl/streams/claims"
	"claimsctl/streams/redisconn"
	"claimsctl/streams/redistest"
	"claimsctl/streams/workers"
)

// TestFailover kills -9 a master of a 3-master, 3-replica cluster while
// producers submit claims and a processor works, and checks that both
// carry on by themselves once the replica has taken over: every claim
// that survives is decided exactly once. Replication is asynchronous, so
// an append acknowledged just before the kill may be lost with the
// master; with Durable (WAIT for a replica) none may. The figures are
// logged: go test -run TestFailover -v ./streams/workers.
func TestFailover(t *testing.T) {
	t.Parallel()
	for _, durable := range []bool{false, true} {
		name := map[bool]string{false: "async", true: "durable"}[durable]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			c := redistest.StartCluster(t, 3, 1)
			// The client the tool builds (its failover settings included).
			backend, err := redisconn.Connect(ctx, redisconn.ConnectOptions{Cluster: strings.Join(c.Seeds(), ",")})
			require.NoError(t, err)
			t.Cleanup(func() { _ = backend.Close() })
			rdb := backend.Client
			opts := streams.Options{Prefix: "fo:", Partitions: 6, RetryFor: 20 * time.Second}
			if durable {
				opts.Durable = 1
			}
			s, err := streams.Open(ctx, rdb, opts)
			require.NoError(t, err)
			loadSample(t, s)

			wctx, stopWorker := context.WithCancel(ctx)
			workerDone := make(chan error, 1)
			go func() {
				workerDone <- workers.Run(wctx, s, workers.NewProcessor(s), workers.Options{Consumer: "p1", Block: 100 * time.Millisecond,
					MinIdle: time.Second, RecoverEvery: 500 * time.Millisecond})
			}()

			// Producers: each claim under an event id of its own, so a retry
			// after a lost reply is not written twice.
			var (
				mu         sync.Mutex
				acked      []string
				notDurable atomic.Int64
				failed     atomic.Int64
				firstErr   atomic.Value
				stop       atomic.Bool
				n          atomic.Int64
			)
			var wg sync.WaitGroup
			for p := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; !stop.Load(); i++ {
						sub := streams.Submission{CustomerID: "CUST-0001", PolicyID: "POL-0001", Amount: 100, ClaimType: "auto",
							IncidentDate: time.Now().AddDate(0, 0, -3).Format("2006-01-02"), Description: "failover"}
						_, cl, err := s.Submit(ctx, sub, streams.EmitOptions{EventID: fmt.Sprintf("fo-%d-%d", p, i)})
						switch {
						case err == nil:
							mu.Lock()
							acked = append(acked, cl.ID)
							mu.Unlock()
							n.Add(1)
						case errors.Is(err, streams.ErrNotDurable):
							notDurable.Add(1)
						default:
							failed.Add(1)
							firstErr.CompareAndSwap(nil, err.Error())
						}
					}
				}()
			}
			waitWithin(t, 30*time.Second, "200 acknowledged appends", func() bool { return n.Load() >= 200 })

			master := 0
			c.Kill(master)
			promoted, err := c.WaitFailover(ctx, master)
			require.NoError(t, err, "the replica takes over")
			atFailover := n.Load()
			// The old master comes back as the new one's replica, so a
			// durable append has a replica to wait for again.
			require.NoError(t, c.Restart(master))
			require.NoError(t, c.WaitHealthy(ctx))
			waitWithin(t, 60*time.Second, "200 more acknowledged appends after the failover", func() bool { return n.Load() >= atFailover+200 })
			stop.Store(true)
			wg.Wait()

			mu.Lock()
			ids := append([]string(nil), acked...)
			mu.Unlock()
			lost := 0
			var alive []string
			for _, id := range ids {
				if _, err := s.Claim(ctx, id); errors.Is(err, claims.ErrNotFound) {
					lost++
					continue
				} else {
					require.NoError(t, err)
				}
				alive = append(alive, id)
			}
			waitWithin(t, 60*time.Second, "the processor to decide every surviving claim", func() bool {
				for _, id := range alive {
					if cl, err := s.Claim(ctx, id); err != nil || cl.Version < 2 {
						return false
					}
				}
				return true
			})
			for _, id := range alive {
				h, err := s.History(ctx, id)
				require.NoError(t, err)
				decisions := 0
				for _, e := range h {
					if e.Type == claims.ClaimAssigned || e.Type == claims.ClaimRejected {
						decisions++
					}
				}
				assert.Equal(t, 1, decisions, "claim %s decided exactly once", id)
			}
			stopWorker()
			require.NoError(t, <-workerDone)

			t.Logf("%s: node %d took over from master %d; %d appends acknowledged (%d before the failover), %d lost with the master; %d refused as not copied to a replica in time, %d failed",
				name, promoted, master, len(ids), atFailover, lost, notDurable.Load(), failed.Load())
			if durable {
				assert.Zero(t, lost, "an append WAITed for by a replica survives the failover")
			}
			assert.Zero(t, failed.Load(), "producers ride out the failover (RetryFor); the first failure: %v", firstErr.Load())
		})
	}
}

// waitWithin is waitFor with a longer bound: a failover takes seconds.
func waitWithin(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
