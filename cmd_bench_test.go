package main

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"claimsctl/bench"
	"claimsctl/streams/redistest"
)

// TestBenchCommand: claimsctl bench prints a line per path with its ratio,
// --json the same as data, and it leaves the Redis as it found it.
func TestBenchCommand(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	r := claimsctl(t, "", nil, "--redis", srv.URL(), "bench", "--claims", "200")
	require.Equal(t, 0, r.code, r.stderr)
	for _, line := range []string{"XADD one at a time", "(this Redis's ceiling)", "submit loop", "× XADD one at a time",
		"processor draining", "800", "report()", "× XRANGE read of the events", "memory: submitted, Redis used", "decided by the processor", "processed by the four workers",
		"through the Lua API", `Lua submit{} loop`, `× Lua redis("XADD") loop`, "Lua report()", "CPU µs/event"} {
		assert.Contains(t, r.stdout, line)
	}
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rdb.Close()
	n, err := rdb.DBSize(context.Background()).Result()
	require.NoError(t, err)
	assert.Zero(t, n, "bench deletes its keys")

	r = claimsctl(t, "", nil, "--embedded", "bench", "--claims", "100", "--json")
	require.Equal(t, 0, r.code, r.stderr)
	var rep struct {
		bench.Report
		Lua []bench.LuaStep `json:"lua"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep), r.stdout)
	assert.Equal(t, 100, rep.Claims)
	assert.Len(t, rep.Steps, 11)
	assert.Len(t, rep.Lua, 7)
}

// TestBenchServer: --server prints each script's time beside its
// commands, and deletes its keys.
func TestBenchServer(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	r := claimsctl(t, "", nil, "--redis", srv.URL(), "bench", "--server", "--claims", "100")
	require.Equal(t, 0, r.code, r.stderr)
	for _, line := range []string{"INFO commandstats", "submit loop  append.lua", "submit_many  batch.lua", "processor    batch.lua", "analytics    batch.lua", "XADD"} {
		assert.Contains(t, r.stdout, line)
	}
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rdb.Close()
	n, err := rdb.DBSize(context.Background()).Result()
	require.NoError(t, err)
	assert.Zero(t, n, "bench --server deletes its keys")
}

// TestBenchLeavesALabAlone: on a Redis that holds claims it refuses
// unless given --prefix, and then runs beside them without touching them.
func TestBenchLeavesALabAlone(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	require.Equal(t, 0, claimsctl(t, "", nil, "--redis", srv.URL(), "-e", `sample_data{}; sample_claims{count=5}`).code)
	r := claimsctl(t, "", nil, "--redis", srv.URL(), "bench", "--claims", "100")
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, "this Redis holds 5 claim events already")
	r = claimsctl(t, "", nil, "--redis", srv.URL(), "--prefix", "b:", "bench", "--claims", "100")
	require.Equal(t, 0, r.code, r.stderr)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rdb.Close()
	n, err := rdb.XLen(context.Background(), "claims:events").Result()
	require.NoError(t, err)
	assert.Equal(t, int64(5), n, "the lab's claims are still there")
	left, err := rdb.Keys(context.Background(), "b:*").Result()
	require.NoError(t, err)
	assert.Empty(t, left)
}
