// Package streamstest gives tests stores on the two servers claimsctl runs
// on, a real redis-server and the embedded server, connected exactly as
// the CLI connects: redisconn.Connect, then streams.Open. What Connect
// decides (RESP2, counting lag on the embedded server) is therefore what
// the tests run with, and a change to it reaches them. Cluster adds a local
// Redis Cluster (ForEachServer and ForEachLayout run on all three).
// WaitFor, ClaimIDsIn, Submit, StreamLen and StartWorker are the helpers
// the tests of streams, streams/workers and streams/upkeep share.
//
// It is for tests only, and may import streams, streams/workers,
// streams/redisconn and streams/redistest. Internal tests of package streams cannot import this package (it imports
// streams): they have streams/backends_test.go.
package streamstest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"claimsctl/streams"
	"claimsctl/streams/redisconn"
	"claimsctl/streams/redistest"
)

// NewStore opens a store on one server under a key prefix of its own
// (opts.Prefix, if any, comes after it), so stores of one server never see
// each other's keys. CountLag is the server's, as Connect found it.
type NewStore func(t testing.TB, opts streams.Options) *streams.Store

// Redis starts a redis-server of t's own (stopped at t's cleanup) and
// connects to it by its URL, as --redis does.
func Redis(t testing.TB) NewStore {
	t.Helper()
	srv := redistest.Start(t)
	return connect(t, redisconn.ConnectOptions{URL: srv.URL()})
}

// Embedded starts an embedded server, as --embedded does; it stops at t's
// cleanup.
func Embedded(t testing.TB) NewStore {
	t.Helper()
	return connect(t, redisconn.ConnectOptions{Embedded: true})
}

// backends are the servers by name, in the order subtests run on them.
var backends = []struct {
	name  string
	start func(testing.TB) NewStore
}{{"redis", Redis}, {"embedded", Embedded}}

// Backends starts both servers for t and gives their stores by name:
// "redis" and "embedded".
func Backends(t testing.TB) map[string]NewStore {
	t.Helper()
	out := make(map[string]NewStore, len(backends))
	for _, b := range backends {
		out[b.name] = b.start(t)
	}
	return out
}

// ForEachBackend runs fn as two parallel subtests, "redis" and
// "embedded", each on a fresh server of its own.
func ForEachBackend(t *testing.T, fn func(t *testing.T, newStore NewStore)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			fn(t, b.start(t))
		})
	}
}

// prefixes numbers the stores of a test binary.
var prefixes atomic.Int64

func connect(t testing.TB, o redisconn.ConnectOptions) NewStore {
	t.Helper()
	backend, err := redisconn.Connect(context.Background(), o)
	if err != nil {
		t.Fatalf("streamstest: %v", err)
	}
	t.Cleanup(func() { _ = backend.Close() })
	return func(t testing.TB, opts streams.Options) *streams.Store {
		t.Helper()
		opts.Prefix = fmt.Sprintf("t%d:", prefixes.Add(1)) + opts.Prefix
		opts.CountLag = backend.Miniredis
		store, err := streams.Open(context.Background(), backend.Client, opts)
		if err != nil {
			t.Fatalf("streamstest: open a store under %s: %v", opts.Prefix, err)
		}
		return store
	}
}
