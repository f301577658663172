package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"claimsctl/streams"
	"claimsctl/streams/claims"
	"claimsctl/streams/redisconn"
	"claimsctl/streams/workers"
)

// servedCluster is a `claimsctl serve --cluster` running for a test.
type servedCluster struct {
	seeds    string
	pids     map[string]int    // every node's pid by address
	replicas map[string]string // a master's replica by the master's address
}

// startServeCluster runs `claimsctl serve --cluster 3` with extra flags
// and reads the nodes it prints, until it says the cluster is ready; the
// caller stops it (SIGINT, as Ctrl-C).
func startServeCluster(extra ...string) (servedCluster, *exec.Cmd, error) {
	cmd := exec.Command(binary, append([]string{"serve", "--cluster", "3"}, extra...)...)
	cmd.Env = cleanEnv()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return servedCluster{}, nil, err
	}
	if err := cmd.Start(); err != nil {
		return servedCluster{}, nil, err
	}
	var (
		sc      = servedCluster{pids: map[string]int{}, replicas: map[string]string{}}
		nodeRe  = regexp.MustCompile(`^  (master|replica) +(\S+) +pid (\d+) +(?:of (\S+))?`)
		seedRe  = regexp.MustCompile(`^  export REDIS_CLUSTER=(\S+)$`)
		lines   = bufio.NewScanner(stdout)
		printed strings.Builder
	)
	for lines.Scan() {
		line := lines.Text()
		printed.WriteString(line + "\n")
		if m := nodeRe.FindStringSubmatch(line); m != nil {
			pid, _ := strconv.Atoi(m[3])
			sc.pids[m[2]] = pid
			if m[1] == "replica" {
				sc.replicas[m[4]] = m[2]
			}
		}
		if m := seedRe.FindStringSubmatch(line); m != nil {
			sc.seeds = m[1]
		}
		if strings.HasSuffix(line, "Ctrl-C stops every node.") && sc.seeds != "" {
			go func() { _, _ = io.Copy(io.Discard, stdout) }()
			return sc, cmd, nil
		}
	}
	_ = cmd.Process.Signal(syscall.SIGINT)
	_ = cmd.Wait()
	return sc, nil, fmt.Errorf("serve --cluster did not come up:\n%s", printed.String())
}

// replicaCluster is the package's one `claimsctl serve --cluster 3
// --replicas 1`, started by the first test that asks for it and stopped by
// TestMain. Its tests fail masters over, so they take it in turn.
var replicaCluster struct {
	once sync.Once
	turn sync.Mutex
	sc   servedCluster
	cmd  *exec.Cmd
	err  error
}

// useReplicaCluster gives the test the package's cluster with replicas
// for its whole run, once every master has a replica again (a master a
// test before killed comes back as one). The pids and replicas serve
// printed at the start may be stale by then: ask the cluster.
func useReplicaCluster(t *testing.T) servedCluster {
	t.Helper()
	replicaCluster.once.Do(func() {
		replicaCluster.sc, replicaCluster.cmd, replicaCluster.err = startServeCluster("--replicas", "1")
	})
	require.NoError(t, replicaCluster.err)
	replicaCluster.turn.Lock()
	t.Cleanup(replicaCluster.turn.Unlock)
	seeds := strings.Split(replicaCluster.sc.seeds, ",")
	eventually(t, 60*time.Second, "every master of the served cluster with a connected replica", func() bool {
		return clusterWhole(seeds)
	})
	return replicaCluster.sc
}

// stopReplicaCluster stops the package's cluster, if a test started it.
func stopReplicaCluster() {
	if c := replicaCluster.cmd; c != nil {
		_ = c.Process.Signal(syscall.SIGINT)
		_ = c.Wait()
	}
}

// clusterWhole reports whether, by the CLUSTER NODES of the first seed that
// answers, every master serving slots has a connected replica in sync
// (master_link_status:up: one still copying its master would not be
// elected) and no node is failing.
func clusterWhole(seeds []string) bool {
	for _, addr := range seeds {
		c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
		nodes, err := c.ClusterNodes(context.Background()).Result()
		c.Close()
		if err != nil {
			continue
		}
		masters, served, replicas := map[string]bool{}, map[string]bool{}, []string{}
		for line := range strings.SplitSeq(strings.TrimSpace(nodes), "\n") {
			f := strings.Fields(line)
			if len(f) < 8 || strings.Contains(f[2], "fail") {
				return false
			}
			switch {
			case strings.Contains(f[2], "master") && len(f) > 8:
				masters[f[0]] = true
			case strings.Contains(f[2], "slave") && f[7] == "connected":
				served[f[3]] = true
				replicas = append(replicas, strings.Split(f[1], "@")[0])
			}
		}
		for _, r := range replicas {
			c := redis.NewClient(&redis.Options{Addr: r, MaxRetries: -1})
			info, err := c.Info(context.Background(), "replication").Result()
			c.Close()
			if err != nil || !strings.Contains(info, "master_link_status:up") {
				return false
			}
		}
		for id := range masters {
			if !served[id] {
				return false
			}
		}
		return len(masters) > 0
	}
	return false
}

// liveReplica is a master's replica and the master's pid, as the cluster
// says now.
func liveReplica(ctx context.Context, master string) (string, int, error) {
	c := redis.NewClient(&redis.Options{Addr: master})
	defer c.Close()
	id, err := c.Do(ctx, "CLUSTER", "MYID").Text()
	if err != nil {
		return "", 0, err
	}
	lines, err := c.Do(ctx, "CLUSTER", "REPLICAS", id).StringSlice()
	if err != nil || len(lines) == 0 {
		return "", 0, fmt.Errorf("replicas of %s: %v %v", master, lines, err)
	}
	info, err := c.Info(ctx, "server").Result()
	if err != nil {
		return "", 0, err
	}
	m := regexp.MustCompile(`process_id:(\d+)`).FindStringSubmatch(info)
	if m == nil {
		return "", 0, fmt.Errorf("no process_id in INFO server of %s", master)
	}
	pid, _ := strconv.Atoi(m[1])
	return strings.Split(strings.Fields(lines[0])[1], "@")[0], pid, nil
}

// submitLoop is `claimsctl run` of a loop of submit{}: one line per
// submit, "ok ID" or "err MESSAGE", read as they come.
type submitLoop struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	oks  []loopOK
	errs []string
	done chan struct{}
}

type loopOK struct {
	id string
	at time.Time // when the test read the line
}

// submitOne is a submit loop's step i: a submit{} of ids[i] (a new id if
// ids is empty), and a sleep of pause ms.
func submitOne(ids []string, pause int) string {
	var src strings.Builder
	src.WriteString("local ids = {")
	for _, id := range ids {
		fmt.Fprintf(&src, "%q,", id)
	}
	fmt.Fprintf(&src, `}
local function step(i)
  if #ids > 0 and i > #ids then return false end
  local ok, c = pcall(submit, {id = ids[i], customer = "CUST-0001", policy = "POL-0001", amount = 100, type = "auto",
                                incident_date = "2026-11-01", description = "loop " .. i})
  if ok then print("ok " .. c.id) else print("err " .. tostring(c)) end
  if %d > 0 then sleep(%d) end
  return true
end
`, pause, pause)
	return src.String()
}

// sampleMany is a bulk loop's step i: sample_claims of 20 claims.
const sampleMany = `
local function step(i)
  local ok, r = pcall(sample_claims, {count = 20, seed = i})
  if not ok then print("err " .. tostring(r)) return true end
  if r.error then print("err " .. r.error) end
  for _, id in ipairs(r.claims) do print("ok " .. id) end
  return true
end
`

// startSubmitLoop runs `claimsctl run` of a Lua file that defines
// step(i) (print "ok ID" or "err MESSAGE"; false ends the loop) and calls
// it for i = 1, 2, … until stopped.
func startSubmitLoop(t *testing.T, env, conn []string, stepSource string) *submitLoop {
	t.Helper()
	src := stepSource + `
local i = 1
while step(i) do i = i + 1 end
`
	file := filepath.Join(t.TempDir(), "loop.lua")
	require.NoError(t, os.WriteFile(file, []byte(src), 0o644))
	l := &submitLoop{done: make(chan struct{})}
	l.cmd = exec.Command(binary, append(append([]string(nil), conn...), "run", file)...)
	l.cmd.Env = append(cleanEnv(), env...)
	stdout, err := l.cmd.StdoutPipe()
	require.NoError(t, err)
	l.cmd.Stderr = l.cmd.Stdout
	require.NoError(t, l.cmd.Start())
	go func() {
		defer close(l.done)
		lines := bufio.NewScanner(stdout)
		for lines.Scan() {
			line := lines.Text()
			l.mu.Lock()
			switch {
			case strings.HasPrefix(line, "ok "):
				l.oks = append(l.oks, loopOK{id: strings.TrimPrefix(line, "ok "), at: time.Now()})
			case strings.HasPrefix(line, "err "):
				l.errs = append(l.errs, line)
			}
			l.mu.Unlock()
		}
	}()
	t.Cleanup(l.stop)
	return l
}

func (l *submitLoop) stop() {
	_ = l.cmd.Process.Signal(syscall.SIGTERM)
	<-l.done
	_ = l.cmd.Wait()
}

func (l *submitLoop) snapshot() ([]loopOK, []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.oks), slices.Clone(l.errs)
}

// workerLine is one time-stamped line of a foreground worker's log.
type workerLine struct {
	at        time.Time
	partition int
	text      string
}

var workerLineRe = regexp.MustCompile(`^(\d\d:\d\d:\d\d\.\d\d\d) \w+\[p(\d+)\] \S+  (.*)$`)

// workerLog reads a worker's log file (written by workerProcess).
func workerLog(t *testing.T, file string) []workerLine {
	t.Helper()
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	var out []workerLine
	today := time.Now()
	for line := range strings.SplitSeq(string(data), "\n") {
		m := workerLineRe.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		clock, err := time.ParseInLocation(logTime, m[1], time.Local)
		require.NoError(t, err)
		at := time.Date(today.Year(), today.Month(), today.Day(), clock.Hour(), clock.Minute(), clock.Second(), clock.Nanosecond(), time.Local)
		p, _ := strconv.Atoi(m[2])
		out = append(out, workerLine{at: at, partition: p, text: m[3]})
	}
	return out
}

// TestServeClusterFailover is the failover as the README tells it:
// `claimsctl serve --cluster 3 --replicas 1`, the four workers and two
// submit loops as processes of their own, then kill -9 of a master by its
// pid. Submits go on succeeding once the replica is promoted, the workers
// of the partitions on healthy masters never wait for Redis, the workers
// of the failed partitions resume, no submit fails, and every claim is
// decided exactly once. The phases are logged (-v) for docs/scaling.md.
func TestServeClusterFailover(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sc := useReplicaCluster(t)
	env := []string{"REDIS_CLUSTER=" + sc.seeds}
	conn := []string{"--partitions", "6"}
	r := claimsctl(t, "", env, append(conn, "-e", "sample_data{}")...)
	require.Equal(t, 0, r.code, r.stderr)

	backend, err := redisconn.Connect(ctx, redisconn.ConnectOptions{Cluster: sc.seeds})
	require.NoError(t, err)
	t.Cleanup(func() { _ = backend.Close() })
	store, err := streams.Open(ctx, backend.Client, streams.Options{Partitions: 6})
	require.NoError(t, err)
	keys := store.Keys()
	rdb := backend.Client.(*redis.ClusterClient)

	// The victim is the master of partition 0; its partitions fail over,
	// the others live on healthy masters.
	master, err := rdb.MasterForKey(ctx, keys.Partition(0).Events())
	require.NoError(t, err)
	victim := master.Options().Addr
	replica, victimPID, err := liveReplica(ctx, victim)
	require.NoError(t, err, "%s has a replica", victim)
	failed := map[int]bool{}
	for p := range keys.Partitions() {
		m, err := rdb.MasterForKey(ctx, keys.Partition(p).Events())
		require.NoError(t, err)
		failed[p] = m.Options().Addr == victim
	}
	var healthyIDs []string
	for len(healthyIDs) < 4000 {
		if id := uuid.NewString(); !failed[keys.PartitionOf(id)] {
			healthyIDs = append(healthyIDs, id)
		}
	}

	dir := t.TempDir()
	logs := map[string]string{}
	for _, name := range workers.Names {
		logs[name] = filepath.Join(dir, name+".log")
		w := exec.Command(binary, append(append([]string(nil), conn...), "worker", name)...)
		w.Env = append(cleanEnv(), env...)
		f, err := os.Create(logs[name])
		require.NoError(t, err)
		w.Stdout, w.Stderr = f, f
		require.NoError(t, w.Start())
		t.Cleanup(func() {
			_ = w.Process.Signal(syscall.SIGTERM)
			_ = w.Wait()
			f.Close()
			if t.Failed() {
				out, _ := os.ReadFile(logs[name])
				t.Logf("--- %s log (last 4000 bytes) ---\n%s", name, out[max(0, len(out)-4000):])
			}
		})
	}
	mixed := startSubmitLoop(t, env, conn, submitOne(nil, 0))
	healthy := startSubmitLoop(t, env, conn, submitOne(healthyIDs, 5))
	bulk := startSubmitLoop(t, env, conn, sampleMany)
	eventually(t, 60*time.Second, "both submit loops and every worker under way", func() bool {
		m, _ := mixed.snapshot()
		h, _ := healthy.snapshot()
		b, _ := bulk.snapshot()
		return len(m) >= 100 && len(h) >= 20 && len(b) >= 100 && groupDone(ctx, store) &&
			len(workerLog(t, logs["audit"])) > 0
	})

	killed := time.Now()
	require.NoError(t, syscall.Kill(victimPID, syscall.SIGKILL))
	replicaClient := redis.NewClient(&redis.Options{Addr: replica})
	t.Cleanup(func() { _ = replicaClient.Close() })
	eventually(t, 30*time.Second, "the replica "+replica+" promoted (CLUSTER NODES)", func() bool {
		nodes, err := replicaClient.ClusterNodes(ctx).Result()
		if err != nil {
			return false
		}
		for line := range strings.SplitSeq(nodes, "\n") {
			if strings.Contains(line, "myself") {
				return strings.Contains(line, "master")
			}
		}
		return false
	})
	promoted := time.Now()

	var firstSubmit time.Time
	eventually(t, 30*time.Second, "a submit to a failed partition succeeding after the promotion", func() bool {
		oks, _ := mixed.snapshot()
		for _, ok := range oks {
			if ok.at.After(promoted) && failed[keys.PartitionOf(ok.id)] {
				firstSubmit = ok.at
				return true
			}
		}
		return false
	})
	resumed := map[string]time.Time{}
	eventually(t, 30*time.Second, "every worker handling a failed partition's events after the promotion", func() bool {
		for _, name := range workers.Names {
			if _, ok := resumed[name]; ok {
				continue
			}
			for _, l := range workerLog(t, logs[name]) {
				if failed[l.partition] && l.at.After(promoted) && strings.HasPrefix(l.text, "batch of") {
					resumed[name] = l.at
					break
				}
			}
		}
		return len(resumed) == len(workers.Names)
	})
	healthyBefore, _ := healthy.snapshot()
	eventually(t, 30*time.Second, "the healthy loop going on", func() bool {
		h, _ := healthy.snapshot()
		return len(h) >= len(healthyBefore)+20
	})
	bulkBefore, _ := bulk.snapshot()
	eventually(t, 30*time.Second, "the bulk loop going on", func() bool {
		b, _ := bulk.snapshot()
		return len(b) >= len(bulkBefore)+100
	})
	mixed.stop()
	healthy.stop()
	bulk.stop()

	oks, errs := mixed.snapshot()
	healthyOKs, healthyErrs := healthy.snapshot()
	assert.Empty(t, errs, "no submit failed")
	assert.Empty(t, healthyErrs, "no submit to a healthy partition failed")
	bulkOKs, bulkErrs := bulk.snapshot()
	assert.Empty(t, bulkErrs, "no sample_claims failed")
	duringFailover := 0
	for _, ok := range healthyOKs {
		if ok.at.After(killed) && ok.at.Before(promoted) {
			duringFailover++
		}
	}
	assert.NotZero(t, duringFailover, "submits to healthy partitions go on while the master is down")

	// The workers on healthy masters never waited for Redis, but for a
	// policy on the dead master that the processor had never read (the
	// bulk loop's claims on unknown policies, POL-9xxx): that one it
	// cannot decide without.
	unreadPolicy := regexp.MustCompile(`read policy:\S+ for the batch: `)
	pause := map[string]time.Duration{}
	for _, name := range workers.Names {
		lines := workerLog(t, logs[name])
		for _, l := range lines {
			if failed[l.partition] || !strings.Contains(l.text, "retrying in") {
				continue
			}
			if name == "processor" && unreadPolicy.MatchString(l.text) {
				continue
			}
			t.Errorf("%s on healthy partition p%d waited: %s", name, l.partition, l.text)
		}
		var last time.Time
		for _, l := range lines {
			if failed[l.partition] || !strings.HasPrefix(l.text, "batch of") {
				continue
			}
			if !last.IsZero() && l.at.After(killed) && l.at.Sub(last) > pause[name] {
				pause[name] = l.at.Sub(last)
			}
			last = l.at
		}
	}

	all := slices.Concat(oks, healthyOKs, bulkOKs)
	eventually(t, 60*time.Second, "every group through every event", func() bool {
		return groupDone(ctx, store, streams.GroupProcessors, streams.GroupAnalytics, streams.GroupNotifications, streams.GroupAudit)
	})
	for _, ok := range all {
		h, err := store.History(ctx, ok.id)
		require.NoError(t, err, "claim %s (acknowledged) is there", ok.id)
		decisions := 0
		for _, e := range h {
			if e.Type == claims.ClaimAssigned || e.Type == claims.ClaimRejected {
				decisions++
			}
		}
		assert.Equal(t, 1, decisions, "claim %s decided exactly once", ok.id)
	}

	t.Logf("failover of %s (partitions %v): kill -> promotion %s; promotion -> first submit to a failed partition %s; "+
		"promotion -> failed partitions resumed: %s; longest gap between batches on healthy partitions: %s; %d claims, %d submitted to healthy partitions while the master was down",
		victim, failedList(failed), promoted.Sub(killed).Round(time.Millisecond), firstSubmit.Sub(promoted).Round(time.Millisecond),
		sinceEach(resumed, promoted), eachDuration(pause), len(all), duringFailover)
}

func failedList(failed map[int]bool) []int {
	var out []int
	for p, f := range failed {
		if f {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// sinceEach is each worker's time after t0.
func sinceEach(m map[string]time.Time, t0 time.Time) string {
	var parts []string
	for _, name := range workers.Names {
		if at, ok := m[name]; ok {
			parts = append(parts, fmt.Sprintf("%s %s", name, at.Sub(t0).Round(time.Millisecond)))
		}
	}
	return strings.Join(parts, ", ")
}

// eachDuration is each worker's duration.
func eachDuration(m map[string]time.Duration) string {
	var parts []string
	for _, name := range workers.Names {
		parts = append(parts, fmt.Sprintf("%s %s", name, m[name].Round(time.Millisecond)))
	}
	return strings.Join(parts, ", ")
}
