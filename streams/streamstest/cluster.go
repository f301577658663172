package streamstest

import (
	"context"
	"fmt"
	"testing"

	"claimsctl/streams"
	"claimsctl/streams/redistest"
	"claimsctl/streams/redistest/crossslot"

	"github.com/redis/go-redis/v9"
)

// sharedCluster is the test binary's local cluster, started on first use.
var sharedCluster = redistest.NewSharedCluster(3, 0)

// StopCluster stops the test binary's cluster if Cluster started it: call
// it from TestMain after m.Run.
func StopCluster() { sharedCluster.Stop() }

// Cluster gives stores on the test binary's local cluster of three
// masters, with 6 partitions (two per master) unless opts say otherwise.
// A command the cluster refuses for spanning two slots (CROSSSLOT) fails
// the test, even one whose error the store handles.
func Cluster(t testing.TB) NewStore {
	t.Helper()
	c := sharedCluster.Get(t)
	return func(t testing.TB, opts streams.Options) *streams.Store {
		t.Helper()
		rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Seeds(), Protocol: 2})
		watch := crossslot.New(rdb)
		t.Cleanup(func() {
			_ = rdb.Close()
			if refused := watch.Seen(); len(refused) > 0 {
				t.Errorf("the cluster refused %d command(s) for spanning two slots (CROSSSLOT), the first: %s", len(refused), refused[0])
			}
		})
		opts.Prefix = fmt.Sprintf("t%d:", prefixes.Add(1)) + opts.Prefix
		if opts.Partitions == 0 {
			opts.Partitions = 6
		}
		store, err := streams.Open(context.Background(), rdb, opts)
		if err != nil {
			t.Fatalf("streamstest: open a store under %s on the cluster: %v", opts.Prefix, err)
		}
		return store
	}
}

// ForEachServer runs fn as three parallel subtests, "redis", "embedded"
// and "cluster" (the test binary's cluster: its TestMain calls
// StopCluster), each with a store made with opts.
func ForEachServer(t *testing.T, opts streams.Options, fn func(t *testing.T, s *streams.Store)) {
	t.Helper()
	for _, b := range []struct {
		name  string
		start func(testing.TB) NewStore
	}{{"redis", Redis}, {"embedded", Embedded}, {"cluster", Cluster}} {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			fn(t, b.start(t)(t, opts))
		})
	}
}

// ForEachLayout is ForEachServer unpartitioned (the lab's key names) and
// with six partitions.
func ForEachLayout(t *testing.T, fn func(t *testing.T, s *streams.Store)) {
	t.Helper()
	for _, partitions := range []int{1, 6} {
		t.Run(fmt.Sprintf("partitions=%d", partitions), func(t *testing.T) {
			t.Parallel()
			ForEachServer(t, streams.Options{Partitions: partitions}, fn)
		})
	}
}
