package main

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"claimsctl/streams/quota"
	"claimsctl/streams/redistest"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// quotaMargin is how far past the quota the server's used_memory may
// grow: one 10 MB argument in the server's query buffer, and its own
// bookkeeping.
const quotaMargin = 16 << 20

// memorySampler samples a server's INFO used_memory until stopped and
// keeps the highest.
type memorySampler struct {
	rdb        *redis.Client
	base, peak int64
	stop       chan struct{}
	done       sync.WaitGroup
}

func sampleMemory(t *testing.T, rdb *redis.Client) *memorySampler {
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

func usedMemory(t *testing.T, rdb *redis.Client) int64 {
	info, err := rdb.Info(context.Background(), "memory").Result()
	if err != nil {
		if t != nil {
			t.Fatal(err)
		}
		return 0
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return 0
}

// TestCheckRedisQuota grades hand-ins that try to fill the shared Redis
// (testdata/quota: raw redis() appends of 10 MB, a million small keys, the
// lab's primitives with the biggest fields they take, a worker the file
// spawned): each is stopped with an ERROR row naming the quota, the
// server's used_memory never grows by more than the quota and a margin,
// and nothing is left behind.
func TestCheckRedisQuota(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { rdb.Close() })
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
		r := claimsctl(t, "", nil, "--redis", srv.URL(), "check", "--timeout", "40s", filepath.Join("testdata", "quota", c.name))
		growth := sampler.growth()
		t.Logf("%s: used_memory grew by at most %.1f MiB (quota 64 MiB)", c.name, float64(growth)/(1<<20))
		assert.Equal(t, 3, r.code, r.stdout+r.stderr)
		assert.Regexp(t, `\(script\)\s+ERROR\s+stopped: .*`+c.limit, r.stdout, c.name)
		assert.Regexp(t, `--redis-(quota SIZE|keys N) sets it`, r.stdout, c.name)
		assert.LessOrEqual(t, growth, int64(quota.DefaultBytes+quotaMargin), c.name)
		n, err := rdb.DBSize(context.Background()).Result()
		require.NoError(t, err)
		assert.Zero(t, n, "%s: its keys are deleted", c.name)
	}

	// The same quota for run --sandbox, on the keyspace of the session:
	// what it adds to it.
	sampler := sampleMemory(t, rdb)
	r := claimsctl(t, "", nil, "--redis", srv.URL(), "--prefix", "alice:", "run", "--sandbox", "--redis-quota", "16MiB",
		filepath.Join("testdata", "quota", "append", "01_high_value_consumer.lua"))
	growth := sampler.growth()
	t.Logf("run --sandbox: used_memory grew by at most %.1f MiB (quota 16 MiB)", float64(growth)/(1<<20))
	assert.NotEqual(t, 0, r.code, r.stdout+r.stderr)
	assert.Contains(t, r.stderr, "over its quota of 16 MiB")
	assert.LessOrEqual(t, growth, int64(16<<20+quotaMargin))
}
