package localcluster

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseNodes(t *testing.T) {
	t.Parallel()
	out := "07c37dfeb235213a872192d90877d0cd55635b91 127.0.0.1:30004@31004,host.example slave e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 0 1426238317239 4 connected\n" +
		"67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 127.0.0.1:30002@31002 master - 0 1426238316232 2 connected 5461-10922 10923\n" +
		"e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:30001@31001 myself,master - 0 0 1 connected 0-5460 [5461->-67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1]\n" +
		"6ec23923021cf3ffec47632106199cb7f496ce01 127.0.0.1:30005@31005 master,fail? - 0 1426238316232 5 disconnected\n"
	entries, err := parseNodes(out)
	require.NoError(t, err)
	require.Len(t, entries, 4)

	assert.Equal(t, "127.0.0.1:30004", entries[0].addr, "the bus port and hostname are cut off")
	assert.True(t, entries[0].flags["slave"])
	assert.Equal(t, "e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca", entries[0].master)
	assert.Empty(t, entries[0].slots)

	assert.Equal(t, []SlotRange{{5461, 10922}, {10923, 10923}}, entries[1].slots)
	assert.Equal(t, "-", entries[1].master)

	assert.True(t, entries[2].flags["myself"])
	assert.Equal(t, []SlotRange{{0, 5460}}, entries[2].slots, "a slot in migration is not served yet")

	assert.True(t, entries[3].flags["fail?"])
}

func TestParseNodesRefusesGarbage(t *testing.T) {
	t.Parallel()
	for name, out := range map[string]string{
		"short line": "07c37dfeb235213a872192d90877d0cd55635b91 127.0.0.1:30004@31004 master -",
		"bad slot":   "07c37dfeb235213a872192d90877d0cd55635b91 127.0.0.1:30004@31004 master - 0 0 1 connected 10-x",
		"backwards":  "07c37dfeb235213a872192d90877d0cd55635b91 127.0.0.1:30004@31004 master - 0 0 1 connected 10-5",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := parseNodes(out)
			assert.ErrorContains(t, err, "CLUSTER NODES line")
		})
	}
}

// TestPlanSplitsSlotsEvenly: contiguous ranges, every slot once, sizes
// within one slot of each other; replicas follow the masters in order.
func TestPlanSplitsSlotsEvenly(t *testing.T) {
	t.Parallel()
	for _, masters := range []int{1, 3, 5, 7} {
		c := &Cluster{opts: Options{Masters: masters, Replicas: 2, Dir: t.TempDir()}}
		require.NoError(t, c.plan())
		require.Len(t, c.nodes, masters*3)
		next, smallest, largest := 0, SlotCount, 0
		for i, n := range c.nodes[:masters] {
			require.Len(t, n.slots, 1, "master %d", i)
			r := n.slots[0]
			assert.Equal(t, next, r.From, "master %d starts where %d ended", i, i-1)
			size := r.To - r.From + 1
			smallest, largest = min(smallest, size), max(largest, size)
			next = r.To + 1
		}
		assert.Equal(t, SlotCount, next, "%d masters serve every slot", masters)
		assert.LessOrEqual(t, largest-smallest, 1, "%d masters", masters)
		for i, n := range c.nodes[masters:] {
			assert.Equal(t, RoleReplica, n.role)
			assert.Equal(t, i/2, n.master, "replica %d", masters+i)
			assert.Empty(t, n.slots)
		}
		ports := map[int]bool{}
		for _, n := range c.nodes {
			ports[n.port], ports[n.busPort] = true, true
		}
		assert.Len(t, ports, 2*len(c.nodes), "every port distinct")
	}
}

func TestPlanBasePort(t *testing.T) {
	t.Parallel()
	c := &Cluster{opts: Options{Masters: 3, Replicas: 1, Dir: t.TempDir(), BasePort: 7000}}
	require.NoError(t, c.plan())
	for i, n := range c.nodes {
		assert.Equal(t, 7000+i, n.port)
		assert.Equal(t, 17000+i, n.busPort)
	}
}

func TestStartRefusesBadOptions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for name, tc := range map[string]struct {
		opts Options
		want string
	}{
		"no masters":        {Options{Dir: dir}, "0 masters; a cluster needs at least 1 (3 for failover)"},
		"negative replicas": {Options{Masters: 3, Replicas: -1, Dir: dir}, "-1 replicas per master"},
		"no directory":      {Options{Masters: 3}, "no directory for the nodes' files"},
		"negative timeout":  {Options{Masters: 3, Dir: dir, NodeTimeout: -1}, "negative node timeout"},
		"bus past 65535":    {Options{Masters: 3, Dir: dir, BasePort: 55534}, "base port 55534"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c, err := Start(context.Background(), tc.opts)
			assert.Nil(t, c)
			assert.ErrorContains(t, err, tc.want)
		})
	}
}

func TestStartRefusesAnotherClustersDirectory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "nodes-7000.conf"), []byte("old"), 0o644))
	_, err := Start(context.Background(), Options{Masters: 3, Dir: dir})
	assert.ErrorContains(t, err, "holds another cluster's nodes-7000.conf; use an empty directory")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "nothing started, nothing written")
}

func TestStartNamesTheMissingPackage(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // no redis-server there
	_, err := Start(context.Background(), Options{Masters: 3, Dir: t.TempDir()})
	assert.ErrorIs(t, err, ErrNoRedisServer)
	assert.ErrorContains(t, err, "apt-get install redis-server")
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "3 masters, no replicas", Describe(3, 0))
	assert.Equal(t, "3 masters, 1 replica each", Describe(3, 1))
	assert.Equal(t, "1 master, 2 replicas each", Describe(1, 2))
	assert.Equal(t, "5461-10922", SlotRange{5461, 10922}.String())
	assert.Equal(t, "7", SlotRange{7, 7}.String())
}

func TestStartReportsARefusedArgument(t *testing.T) {
	t.Parallel()
	_, err := Start(context.Background(), Options{Masters: 3, Dir: t.TempDir(), Args: []string{"--no-such-directive", "1"}})
	require.Error(t, err)
	assert.ErrorContains(t, err, "redis-server exited before answering PING")
	assert.ErrorContains(t, err, "no-such-directive", "the node's log says what it refused")
}

// TestWaitHealthyReportsANodeThatDied: a node that exits without Kill or
// Stop ends the wait at once, with its log, instead of at the deadline.
func TestWaitHealthyReportsANodeThatDied(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := Start(ctx, Options{Masters: 3, Dir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(c.Stop)
	require.NoError(t, syscall.Kill(c.Node(1).PID, syscall.SIGKILL)) // not through c.Kill
	err = c.WaitHealthy(ctx)
	var exited *nodeExited
	require.ErrorAs(t, err, &exited)
	assert.Equal(t, 1, exited.index)
	assert.ErrorContains(t, err, "exited by itself (signal: killed)")
	assert.NoError(t, ctx.Err(), "the wait ended before its deadline")
}

func TestStartOnATakenBasePort(t *testing.T) {
	t.Parallel()
	var taken net.Listener
	for taken == nil {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		if l.Addr().(*net.TCPAddr).Port+10002 <= 65535 { // room for the bus ports
			taken = l
			continue
		}
		l.Close()
	}
	defer taken.Close()
	port := taken.Addr().(*net.TCPAddr).Port
	_, err := Start(context.Background(), Options{Masters: 3, Dir: t.TempDir(), BasePort: port})
	assert.ErrorIs(t, err, ErrPortInUse)
	assert.ErrorContains(t, err, fmt.Sprintf("start node 0: 127.0.0.1:%d or its cluster bus port %d: already in use", port, port+10000))
}

// cancelAfter is a Log that records the pids of the nodes started and
// cancels once n have started.
type cancelAfter struct {
	mu     sync.Mutex
	n      int
	pids   []int
	cancel context.CancelFunc
}

var startedLine = regexp.MustCompile(`^localcluster: node \d+: \S+ \(bus \d+\), pid (\d+)\n$`)

func (c *cancelAfter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if m := startedLine.FindSubmatch(p); m != nil {
		pid, _ := strconv.Atoi(string(m[1]))
		c.pids = append(c.pids, pid)
		if len(c.pids) == c.n {
			c.cancel()
		}
	}
	return len(p), nil
}

// TestStartStopsItsNodesWhenInterrupted: a Start cancelled half-way (all
// nodes up, the cluster not formed: that takes 2 s) leaves no process.
func TestStartStopsItsNodesWhenInterrupted(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := &cancelAfter{n: 6, cancel: cancel}
	c, err := Start(ctx, Options{Masters: 3, Replicas: 1, Dir: t.TempDir(), Log: log})
	assert.Nil(t, c)
	assert.ErrorIs(t, err, context.Canceled)
	require.Len(t, log.pids, 6)
	for _, pid := range log.pids {
		assert.ErrorIs(t, syscall.Kill(pid, 0), syscall.ESRCH, "pid %d is gone", pid)
	}
}

// Not parallel: exec of a file just written can fail with "text file
// busy" while another test forks (golang/go#22315).
func TestStartRefusesAnOldRedis(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "redis-server")
	require.NoError(t, os.WriteFile(bin, []byte("#!/bin/sh\necho 'Redis server v=6.0.16 sha=00000000:0 malloc=jemalloc-5.2.1 bits=64 build=6d95e1af3a2c082a'\n"), 0o755))
	_, err := Start(context.Background(), Options{Masters: 3, Dir: t.TempDir(), Bin: bin})
	assert.ErrorContains(t, err, `is Redis "6.0.16"; a local cluster needs Redis 7.0 or newer`)
}
