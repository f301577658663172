package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"claimsctl/streams"
	"claimsctl/streams/redistest"
	"claimsctl/streams/workers"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRestartedWorkerResumesItsOwnEntries: `claimsctl worker processor`
// without --consumer is processor@HOST on every start, so a restarted
// worker finds the entries its predecessor was handed and handles them at
// once, instead of waiting 30 s for recovery to take them over from a
// consumer that is gone.
func TestRestartedWorkerResumesItsOwnEntries(t *testing.T) {
	t.Parallel()
	host, err := os.Hostname()
	require.NoError(t, err)
	srv := redistest.Start(t)
	submitClaims(t, redisAt(srv.URL()), 3, 1)
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rdb.Close()
	store := streams.New(rdb, streams.Options{})
	// The first run was handed all three claims and died before acking.
	consumer := "processor@" + host
	taken, err := store.Consume(ctx, streams.GroupProcessors, consumer, streams.ConsumeOptions{Count: 10})
	require.NoError(t, err)
	require.Len(t, taken, 3)

	log := filepath.Join(t.TempDir(), "worker.log")
	f, err := os.Create(log)
	require.NoError(t, err)
	cmd := exec.Command(binary, "--redis", srv.URL(), "worker", "processor")
	cmd.Env = cleanEnv()
	cmd.Stdout, cmd.Stderr = f, f
	require.NoError(t, cmd.Start())
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	eventually(t, 20*time.Second, "the restarted worker to finish its own entries", func() bool {
		return groupDone(ctx, store, streams.GroupProcessors)
	})
	out, err := os.ReadFile(log)
	require.NoError(t, err)
	assert.Contains(t, string(out), "re-reading 3 of its own pending entries", "it resumed them as their owner")
	assert.NotContains(t, string(out), "took over", "no recovery was needed")
	running, err := workers.Running(ctx, store, streams.GroupProcessors)
	require.NoError(t, err)
	assert.Equal(t, []string{consumer}, running, "other terminals can see it runs")
	st, err := store.State(ctx)
	require.NoError(t, err)
	var names []string
	for _, c := range st.Stream(store.Keys().Events()).Group(streams.GroupProcessors).Consumers {
		names = append(names, c.Name)
	}
	assert.Equal(t, consumer, strings.Join(names, " "), "one consumer, however often it restarts")
}
