package redistest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"claimsctl/streams/localcluster"
	"claimsctl/streams/redistest"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// shared is the package's cluster for tests that only read and write:
// formed once, by the first test that asks (see redistest.SharedCluster).
var shared = redistest.NewSharedCluster(3, 0)

func TestMain(m *testing.M) {
	code := m.Run()
	shared.Stop()
	os.Exit(code)
}

func clusterClient(t *testing.T, addrs ...string) *redis.ClusterClient {
	t.Helper()
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

func nodeClient(t *testing.T, addr string) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// owner is the index of the node that serves slot, as last observed.
func owner(c *redistest.Cluster, slot int) int {
	for i := range c.Len() {
		for _, r := range c.Node(i).Slots {
			if r.From <= slot && slot <= r.To {
				return i
			}
		}
	}
	return -1
}

// keyOn returns a key under prefix whose slot node i serves.
func keyOn(t *testing.T, ctx context.Context, rdb *redis.ClusterClient, c *redistest.Cluster, prefix string, i int) (string, int) {
	t.Helper()
	for n := range 1000 {
		key := fmt.Sprintf("%s{%d}", prefix, n)
		slot, err := rdb.ClusterKeySlot(ctx, key).Result()
		require.NoError(t, err)
		if owner(c, int(slot)) == i {
			return key, int(slot)
		}
	}
	t.Fatalf("no key under %s lands on node %d", prefix, i)
	return "", 0
}

func requireClusterOK(t *testing.T, ctx context.Context, addr string) {
	t.Helper()
	info, err := nodeClient(t, addr).ClusterInfo(ctx).Result()
	require.NoError(t, err, addr)
	assert.Contains(t, info, "cluster_state:ok\r\n", addr)
}

func TestClusterServesEverySlot(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := shared.Get(t)
	require.Equal(t, 3, c.Len())
	assert.Equal(t, c.Addrs(), c.Seeds(), "three masters, no replicas: every node is a seed")
	assert.ElementsMatch(t, c.Addrs(), c.Masters())

	served := make([]int, localcluster.SlotCount)
	for i := range c.Len() {
		n := c.Node(i)
		assert.Equal(t, localcluster.RoleMaster, n.Role, "node %d", i)
		assert.NotZero(t, n.PID, "node %d", i)
		assert.Len(t, n.ID, 40, "node %d", i)
		require.NotEmpty(t, n.Slots, "node %d", i)
		for _, r := range n.Slots {
			for s := r.From; s <= r.To; s++ {
				served[s]++
			}
		}
		requireClusterOK(t, ctx, n.Addr)
		timeout, err := nodeClient(t, n.Addr).ConfigGet(ctx, "cluster-node-timeout").Result()
		require.NoError(t, err)
		assert.Equal(t, "5000", timeout["cluster-node-timeout"], "a shared cluster's default")
	}
	for s, times := range served {
		require.Equal(t, 1, times, "slot %d is served by %d masters", s, times)
	}

	// Redis agrees: every node maps every slot to one of the three.
	for _, addr := range c.Addrs() {
		shards, err := nodeClient(t, addr).ClusterShards(ctx).Result()
		require.NoError(t, err)
		total := 0
		for _, s := range shards {
			for _, r := range s.Slots {
				total += int(r.End - r.Start + 1)
			}
			require.Len(t, s.Nodes, 1)
			assert.Equal(t, "online", s.Nodes[0].Health)
			assert.Contains(t, c.Addrs(), fmt.Sprintf("%s:%d", s.Nodes[0].IP, s.Nodes[0].Port))
		}
		assert.Equal(t, localcluster.SlotCount, total, addr)
	}
}

// TestClusterKeysAcrossNodes: a key written through one node is read
// through another, and every master holds some of the keys.
func TestClusterKeysAcrossNodes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := shared.Get(t)
	prefix := t.Name() + ":"
	writer := clusterClient(t, c.Addrs()[0])
	reader := clusterClient(t, c.Addrs()[2])
	for n := range 60 {
		require.NoError(t, writer.Set(ctx, fmt.Sprint(prefix, n), n, 0).Err())
	}
	for n := range 60 {
		got, err := reader.Get(ctx, fmt.Sprint(prefix, n)).Int()
		require.NoError(t, err)
		assert.Equal(t, n, got)
	}
	for _, addr := range c.Masters() {
		keys, _, err := nodeClient(t, addr).Scan(ctx, 0, prefix+"*", 1000).Result()
		require.NoError(t, err)
		assert.NotEmpty(t, keys, "master %s holds some of the keys", addr)
	}

	// A plain client on the wrong node is redirected: slots are really split.
	key, slot := keyOn(t, ctx, writer, c, prefix+"moved", 0)
	err := nodeClient(t, c.Node(1).Addr).Get(ctx, key).Err()
	require.Error(t, err)
	assert.Equal(t, fmt.Sprintf("MOVED %d %s", slot, c.Node(0).Addr), err.Error())
}

// TestClusterFailover: SIGKILL a master; its replica takes over its slots
// with the data it had replicated, and the old master rejoins as a replica.
func TestClusterFailover(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := redistest.StartCluster(t, 3, 1)
	require.Equal(t, 6, c.Len())
	assert.Len(t, c.Masters(), 3)
	assert.Equal(t, c.Addrs()[:3], c.Seeds())
	var replica int
	for i := range c.Len() {
		if n := c.Node(i); n.Role == localcluster.RoleReplica && n.Master == 0 {
			replica = i
		}
	}
	require.NotZero(t, replica, "master 0 has a replica")

	rdb := clusterClient(t, c.Seeds()...)
	key, slot := keyOn(t, ctx, rdb, c, t.Name(), 0)
	require.NoError(t, rdb.Set(ctx, key, "before the crash", 0).Err())
	acked, err := nodeClient(t, c.Node(0).Addr).Do(ctx, "WAIT", 1, 5000).Int()
	require.NoError(t, err)
	require.Equal(t, 1, acked, "the replica has the key before its master dies")

	killed := c.Node(0)
	c.Kill(0)
	assert.Zero(t, c.Node(0).PID)
	assert.True(t, processGone(killed.PID), "pid %d is gone after Kill", killed.PID)
	promoted, err := c.WaitFailover(ctx, 0)
	require.NoError(t, err)
	assert.Equal(t, replica, promoted, "master 0's own replica took over")
	n := c.Node(promoted)
	assert.Equal(t, localcluster.RoleMaster, n.Role)
	assert.Equal(t, killed.Slots, n.Slots)
	assert.Equal(t, promoted, owner(c, slot))
	assert.NotContains(t, c.Masters(), killed.Addr)
	for i := range c.Len() {
		if i != 0 {
			requireClusterOK(t, ctx, c.Node(i).Addr)
		}
	}
	got, err := clusterClient(t, c.Seeds()...).Get(ctx, key).Result()
	require.NoError(t, err, "a client seeded with the dead master too finds the new one")
	assert.Equal(t, "before the crash", got)

	require.NoError(t, c.Restart(0))
	require.NoError(t, c.WaitHealthy(ctx))
	back := c.Node(0)
	assert.Equal(t, killed.ID, back.ID, "the same node rejoins")
	assert.Equal(t, localcluster.RoleReplica, back.Role)
	assert.Equal(t, promoted, back.Master, "it replicates the node that replaced it")
	requireClusterOK(t, ctx, back.Addr)
}

// TestClusterAOFSurvivesKillAndRestart: a master without replicas comes
// back with its data from the AOF and serves its slots again.
func TestClusterAOFSurvivesKillAndRestart(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// fsync at every write, so nothing acked can be lost to SIGKILL.
	c := redistest.StartCluster(t, 3, 0, redistest.WithAOF(), redistest.WithArgs("--appendfsync", "always"))
	rdb := clusterClient(t, c.Seeds()...)
	key, _ := keyOn(t, ctx, rdb, c, t.Name(), 0)
	require.NoError(t, rdb.Set(ctx, key, "kept", 0).Err())

	c.Kill(0)
	require.NoError(t, c.Restart(0))
	require.NoError(t, c.WaitHealthy(ctx))
	assert.Equal(t, localcluster.RoleMaster, c.Node(0).Role)
	got, err := nodeClient(t, c.Node(0).Addr).Get(ctx, key).Result()
	require.NoError(t, err)
	assert.Equal(t, "kept", got)
}

func TestClusterStopLeavesNoProcess(t *testing.T) {
	t.Parallel()
	c := redistest.StartCluster(t, 3, 1)
	var pids []int
	for i := range c.Len() {
		pid := c.Node(i).PID
		require.NotZero(t, pid)
		require.False(t, processGone(pid))
		pids = append(pids, pid)
	}
	c.Stop()
	for i, pid := range pids {
		assert.True(t, processGone(pid), "node %d, pid %d, is gone", i, pid)
		assert.Zero(t, c.Node(i).PID)
	}
	c.Stop() // a second Stop (the cleanup's) has nothing left to do
}

// processGone reports that no process has the id pid. Stop and Kill reap
// their processes, so a pid that stays would be a node left running.
func processGone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

func TestStartClusterRefusesTLS(t *testing.T) {
	t.Parallel()
	// The failure is the test's own: run it where it cannot end this test.
	ft := &fatalRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		redistest.StartCluster(ft, 3, 0, redistest.WithTLS())
	}()
	<-done
	assert.True(t, strings.Contains(ft.msg, "WithTLS is not supported"), ft.msg)
}

// fatalRecorder records the message of Fatalf and ends its goroutine, as
// testing.T does, without failing the test it wraps.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (f *fatalRecorder) Helper() {}

func (f *fatalRecorder) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
