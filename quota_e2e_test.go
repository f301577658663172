package main

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"claimsctl/streams/quota"
	"claimsctl/streams/redistest"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// quotaMargin is how far past the quota a server's used_memory may grow:
// one 10 MB argument in its query buffer, and its own bookkeeping. A
// cluster's masters each hold one.
const quotaMargin = 16 << 20

// memorySampler samples a server's INFO used_memory until stopped and
// keeps the highest.
type memorySampler struct {
	rdb        redis.UniversalClient
	base, peak int64
	stop       chan struct{}
	done       sync.WaitGroup
}

func sampleMemory(t *testing.T, rdb redis.UniversalClient) *memorySampler {
	t.Helper()
	s := &memorySampler{rdb: rdb, stop: make(chan struct{})}
	s.base = usedMemory(t, rdb)
	s.peak = s.base
	s.done.Add(1)
	go func() {
		defer s.done.Done()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-tick.C:
				if m := usedMemory(nil, rdb); m > s.peak {
					s.peak = m
				}
			}
		}
	}()
	return s
}

// growth stops the sampler and returns the highest growth it saw.
func (s *memorySampler) growth() int64 {
	close(s.stop)
	s.done.Wait()
	return s.peak - s.base
}

// usedMemory is the server's used_memory, summed over the masters of a
// cluster.
func usedMemory(t *testing.T, rdb redis.UniversalClient) int64 {
	ctx := context.Background()
	var (
		mu    sync.Mutex
		total int64
	)
	one := func(ctx context.Context, c *redis.Client) error {
		info, err := c.Info(ctx, "memory").Result()
		if err != nil {
			return err
		}
		for _, line := range strings.Split(info, "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
				n, _ := strconv.ParseInt(v, 10, 64)
				mu.Lock()
				total += n
				mu.Unlock()
			}
		}
		return nil
	}
	var err error
	switch c := rdb.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, one)
	case *redis.Client:
		err = one(ctx, c)
	}
	if err != nil && t != nil {
		t.Fatal(err)
	}
	return total
}

// keyCount is how many keys the server holds, over every master.
func keyCount(t *testing.T, rdb redis.UniversalClient) int64 {
	t.Helper()
	ctx := context.Background()
	var n atomic.Int64
	count := func(ctx context.Context, c *redis.Client) error {
		k, err := c.DBSize(ctx).Result()
		n.Add(k)
		return err
	}
	var err error
	switch c := rdb.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, count)
	case *redis.Client:
		err = count(ctx, c)
	}
	require.NoError(t, err)
	return n.Load()
}

// TestCheckRedisQuota grades hand-ins that try to fill the shared Redis
// (testdata/quota: raw redis() appends of 10 MB, a million small keys, the
// lab's primitives with the biggest fields they take, a worker the file
// spawned): each is stopped with an ERROR row naming the quota, the
// server's used_memory never grows by more than the quota and a margin,
// and nothing is left behind.
func TestCheckRedisQuota(t *testing.T) {
	t.Parallel()
	for _, where := range []string{"redis", "cluster"} {
		t.Run(where, func(t *testing.T) {
			t.Parallel()
			var (
				conn    []string
				rdb     redis.UniversalClient
				masters = 1
			)
			if where == "redis" {
				srv := redistest.Start(t)
				conn, rdb = []string{"--redis", srv.URL()}, redis.NewClient(&redis.Options{Addr: srv.Addr()})
			} else {
				c := redistest.StartCluster(t, 3, 0)
				conn, masters = []string{"--cluster", strings.Join(c.Seeds(), ",")}, 3
				rdb = redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Seeds()})
			}
			t.Cleanup(func() { rdb.Close() })
			redisQuota(t, conn, rdb, int64(masters)*quotaMargin)
		})
	}
}

func redisQuota(t *testing.T, conn []string, rdb redis.UniversalClient, margin int64) {
	cases := []struct {
		name, limit string
	}{
		{"append", `what it stores in Redis to \d+ MiB, over its quota of 64 MiB`},
		{"many_keys", `its keys in Redis reached \d+, over its quota of 10000 keys`},
		{"big_fields", `over its quota of (64 MiB|10000 keys)`},
		{"worker", `(what it stores in Redis|a write would take what it stores in Redis to) .*over its quota of 64 MiB`},
	}
	for _, c := range cases {
		// One at a time: each measures the server's growth.
		sampler := sampleMemory(t, rdb)
		r := claimsctl(t, "", nil, append(conn, "check", "--timeout", "40s", filepath.Join("testdata", "quota", c.name))...)
		growth := sampler.growth()
		t.Logf("%s: used_memory grew by at most %.1f MiB (quota 64 MiB)", c.name, float64(growth)/(1<<20))
		assert.Equal(t, 3, r.code, r.stdout+r.stderr)
		assert.Regexp(t, `\(script\)\s+ERROR\s+stopped: .*`+c.limit, r.stdout, c.name)
		assert.Regexp(t, `--redis-(quota SIZE|keys N) sets it`, r.stdout, c.name)
		assert.LessOrEqual(t, growth, quota.DefaultBytes+margin, c.name)
		assert.Zero(t, keyCount(t, rdb), "%s: its keys are deleted", c.name)
	}

	// The same quota for run --sandbox, on the keyspace of the session:
	// what it adds to it.
	sampler := sampleMemory(t, rdb)
	r := claimsctl(t, "", nil, append(conn, "--prefix", "alice:", "run", "--sandbox", "--redis-quota", "16MiB",
		filepath.Join("testdata", "quota", "append", "01_high_value_consumer.lua"))...)
	growth := sampler.growth()
	t.Logf("run --sandbox: used_memory grew by at most %.1f MiB (quota 16 MiB)", float64(growth)/(1<<20))
	assert.NotEqual(t, 0, r.code, r.stdout+r.stderr)
	assert.Contains(t, r.stderr, "over its quota of 16 MiB")
	assert.LessOrEqual(t, growth, 16<<20+margin)
}
