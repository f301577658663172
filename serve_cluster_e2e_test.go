package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestServeCluster runs `claimsctl serve --cluster 3` as a user does,
// connects to the printed --cluster addresses with a cluster client, and
// checks that Ctrl-C stops every redis-server it started and removes its
// files.
func TestServeCluster(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cmd := exec.Command(binary, "serve", "--cluster", "3")
	cmd.Env = cleanEnv()
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	exited := false
	t.Cleanup(func() {
		if !exited { // a failed check left it running
			_ = cmd.Process.Signal(syscall.SIGINT)
			_ = cmd.Wait()
		}
	})

	var (
		lines    = bufio.NewScanner(stdout)
		dir      string
		pids     []int
		seeds    []string
		dirRe    = regexp.MustCompile(`^starting a local Redis Cluster \(3 masters, no replicas\) in (\S+) …$`)
		nodeRe   = regexp.MustCompile(`^  master +(127\.0\.0\.1:\d+) +pid (\d+) +slots \d+-\d+$`)
		copyRe   = regexp.MustCompile(`^  export REDIS_CLUSTER=(\S+)$`)
		printed  strings.Builder
		masters  []string
		finished bool
	)
	for !finished && lines.Scan() {
		line := lines.Text()
		printed.WriteString(line + "\n")
		if m := dirRe.FindStringSubmatch(line); m != nil {
			dir = m[1]
		}
		if m := nodeRe.FindStringSubmatch(line); m != nil {
			masters = append(masters, m[1])
			pid, err := strconv.Atoi(m[2])
			require.NoError(t, err)
			pids = append(pids, pid)
		}
		if m := copyRe.FindStringSubmatch(line); m != nil {
			seeds = strings.Split(m[1], ",")
		}
		finished = strings.HasSuffix(line, "Ctrl-C stops every node.")
	}
	require.True(t, finished, "serve printed:\n%s\nstderr:\n%s", printed.String(), stderr.String())
	require.NotEmpty(t, dir, printed.String())
	require.Len(t, pids, 3, printed.String())
	assert.Equal(t, masters, seeds, "the line to copy names the masters")
	assert.Contains(t, printed.String(), "  claimsctl --partitions 6 run scripts/step05.lua\n(or --cluster "+strings.Join(seeds, ",")+" on each command)")
	for _, pid := range pids {
		require.False(t, processGone(pid), "pid %d runs", pid)
	}
	require.DirExists(t, dir)

	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: seeds})
	defer rdb.Close()
	for n := range 30 {
		require.NoError(t, rdb.Set(ctx, fmt.Sprint("k", n), n, 0).Err())
	}
	reader := redis.NewClusterClient(&redis.ClusterOptions{Addrs: seeds[2:]})
	defer reader.Close()
	for n := range 30 {
		got, err := reader.Get(ctx, fmt.Sprint("k", n)).Int()
		require.NoError(t, err)
		assert.Equal(t, n, got)
	}
	for _, addr := range masters {
		node := redis.NewClient(&redis.Options{Addr: addr})
		size, err := node.DBSize(ctx).Result()
		node.Close()
		require.NoError(t, err)
		assert.NotZero(t, size, "the keys spread over every master, %s too", addr)
	}

	// The lab on it, as the printed lines say, twice: the second run
	// takes the keyspace's 6 partitions by itself.
	for _, args := range [][]string{{"--partitions", "6", "run", "scripts/step05.lua"}, {"run", "scripts/step07.lua"}, {"run", "scripts/step09.lua"}, {"run", "scripts/step12.lua"}} {
		step := exec.Command(binary, args...)
		step.Env = append(cleanEnv(), "REDIS_CLUSTER="+strings.Join(seeds, ","))
		got, err := step.CombinedOutput()
		require.NoError(t, err, "%v:\n%s", args, got)
		assert.Contains(t, string(got), "connected to Redis Cluster via "+seeds[0])
		assert.Contains(t, string(got), "3 masters")
		assert.Contains(t, string(got), "6 partitions")
	}
	for _, addr := range masters {
		node := redis.NewClient(&redis.Options{Addr: addr})
		streams, err := node.Keys(ctx, "claims:{*}:events").Result()
		node.Close()
		require.NoError(t, err)
		assert.Len(t, streams, 2, "master %s holds two of the six partitions", addr)
	}

	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	rest, err := io.ReadAll(stdout)
	require.NoError(t, err)
	require.NoError(t, cmd.Wait(), "Ctrl-C is a normal end of serve; stderr:\n%s", stderr.String())
	exited = true
	assert.Equal(t, "stopped all 3 redis-server processes; the cluster's data is gone\n", string(rest))
	for _, pid := range pids {
		assert.True(t, processGone(pid), "pid %d is gone", pid)
	}
	assert.NoDirExists(t, dir, "its files are removed")
}

func TestServeClusterRefusals(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--cluster", "2"}, "claimsctl: --cluster 2: a Redis Cluster needs at least 3 masters, so that a majority remains to fail one over\n"},
		{[]string{"serve", "--cluster", "0"}, "claimsctl: --cluster 0: a Redis Cluster needs at least 3 masters"},
		{[]string{"serve", "--replicas", "1"}, "claimsctl: --replicas needs --cluster N: the embedded server has no replicas\n"},
		{[]string{"serve", "--cluster", "3", "--replicas", "-1"}, "claimsctl: --replicas -1: the replicas per master cannot be negative\n"},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			t.Parallel()
			r := inProcess(c.args...)
			assert.Equal(t, 2, r.code)
			assert.Contains(t, r.stderr, c.want)
			assert.Contains(t, r.stderr, "Try: claimsctl serve --cluster 3 --replicas 1\n")
			assert.Empty(t, r.stdout, "nothing started")
		})
	}
}

// TestServeClusterWithoutRedisServer: the error names the package to
// install, and nothing is left behind.
func TestServeClusterWithoutRedisServer(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	r := claimsctl(t, "", []string{"PATH=" + t.TempDir(), "TMPDIR=" + tmp}, "serve", "--cluster", "3")
	assert.Equal(t, 1, r.code)
	assert.Equal(t, "claimsctl: serve --cluster: redis-server not found on PATH; install it with `apt-get install redis-server`\n", r.stderr)
	left, err := os.ReadDir(tmp)
	require.NoError(t, err)
	assert.Empty(t, left, "its temp dir is removed")
}

// processGone reports that no process has the id pid.
func processGone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
