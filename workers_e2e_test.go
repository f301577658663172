package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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

// workerProcess runs `claimsctl worker` as a separate process, logging to a
// file the test prints when it fails.
func workerProcess(t *testing.T, conn []string, name, consumer string, extra ...string) *exec.Cmd {
	t.Helper()
	log, err := os.Create(filepath.Join(t.TempDir(), consumer+".log"))
	require.NoError(t, err)
	args := append(append(append([]string(nil), conn...), "worker", name, "--consumer", consumer), extra...)
	cmd := exec.Command(binary, args...)
	cmd.Env = cleanEnv()
	cmd.Stdout, cmd.Stderr = log, log
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		if t.Failed() {
			out, _ := os.ReadFile(log.Name())
			t.Logf("--- %s log ---\n%s", consumer, out)
		}
	})
	return cmd
}

// eventually polls cond every 20 ms until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// redisAt is the connection flags of a server's URL.
func redisAt(url string) []string { return []string{"--redis", url} }

func submitClaims(t *testing.T, conn []string, n, first int) {
	t.Helper()
	r := claimsctl(t, "", nil, append(append([]string(nil), conn...), "-e", fmt.Sprintf(`
		sample_data{}
		for i = %d, %d do
		  submit{customer = "CUST-0001", policy = ("POL-%%04d"):format((i - 1) %% 20 + 1), amount = 100 + i,
		         type = ({"auto", "home", "health", "life", "property", "travel", "liability"})[((i - 1) %% 20) %% 7 + 1],
		         incident_date = "2026-11-01", description = "claim " .. i}
		end`, first, first+n-1))...)
	require.Equal(t, 0, r.code, r.stderr)
}

func groupDone(ctx context.Context, store *streams.Store, groups ...string) bool {
	st, err := store.State(ctx)
	if err != nil {
		return false
	}
	events := st.Combined(store.Keys().EventStreams())
	if events == nil {
		return false
	}
	for _, name := range groups {
		g := events.Group(name)
		if g == nil || g.Pending > 0 || g.Lag > 0 {
			return false
		}
	}
	return true
}

// assertExactlyOnce checks every effect of the processor and the analytics
// worker against the event stream: each claim decided once, the read model
// at the claim's version, analytics counting each event once.
func assertExactlyOnce(t *testing.T, ctx context.Context, store *streams.Store, claims int) {
	t.Helper()
	decisions := map[string]int{}
	versions := map[string]int64{}
	byType := map[string]int64{}
	require.NoError(t, store.Replay(ctx, streams.ReplayOptions{}, func(d streams.Delivery) error {
		require.NoError(t, d.Err)
		byType[string(d.Event.Type)]++
		versions[d.Event.ClaimID] = d.Event.Version
		if d.Event.Actor == "processor" {
			decisions[d.Event.ClaimID]++
		}
		return nil
	}))
	require.Len(t, versions, claims)
	for id, v := range versions {
		assert.Equal(t, 1, decisions[id], "claim %s decided once by the processor", id)
		view, err := store.ClaimView(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, fmt.Sprint(v), view["version"], "read model of %s at its last version", id)
	}
	stats, err := store.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(claims), stats.Claims, "analytics counts each claim once")
	for typ, n := range byType {
		assert.Equal(t, n, stats.ByEventType[typ], "analytics counts each %s once", typ)
	}
	loads, err := store.AdjusterLoads(ctx)
	require.NoError(t, err)
	var open int64
	for _, n := range loads {
		open += n
	}
	assert.Equal(t, byType["claim.assigned"], open, "each assignment is counted once in the adjusters' load")
}

// TestKilledWorkerLosesNothing kills -9 a processor and an analytics worker
// in the middle of their work, starts others, and checks every effect is
// applied exactly once: on one redis-server (AOF), and on a Redis Cluster
// with 6 partitions, where each worker reads every partition.
func TestKilledWorkerLosesNothing(t *testing.T) {
	t.Parallel()
	for _, where := range []string{"redis", "cluster"} {
		t.Run(where, func(t *testing.T) {
			t.Parallel()
			var (
				conn []string
				rdb  redis.UniversalClient
			)
			if where == "redis" {
				srv := redistest.Start(t, redistest.WithAOF())
				conn, rdb = redisAt(srv.URL()), redis.NewClient(&redis.Options{Addr: srv.Addr()})
			} else {
				c := redistest.StartCluster(t, 3, 0)
				conn = []string{"--cluster", strings.Join(c.Seeds(), ","), "--partitions", "6"}
				rdb = redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Seeds()})
			}
			defer rdb.Close()
			killedMidBatch(t, conn, rdb)
		})
	}
}

func killedMidBatch(t *testing.T, conn []string, rdb redis.UniversalClient) {
	ctx := context.Background()
	const claims = 2000
	submitClaims(t, conn, claims, 1)
	store, err := streams.Open(ctx, rdb, streams.Options{})
	require.NoError(t, err)

	fast := []string{"--count", "20", "--min-idle", "300ms", "--recover-every", "100ms"}
	p1 := workerProcess(t, conn, "processor", "p1", fast...)
	a1 := workerProcess(t, conn, "analytics", "a1", fast...)
	// More claims come in while the workers are frozen and killed, so
	// both groups have work left (lag) however fast they drained the
	// first ones on a quiet or a loaded machine.
	more := make(chan result, 1)
	go func() {
		r := result{code: -1} // sent even if claimsctl fails the test
		defer func() { more <- r }()
		r = claimsctl(t, "", nil, append(append([]string(nil), conn...), "-e", fmt.Sprintf(`
			for i = %d, %d do
			  submit{customer = "CUST-0001", policy = ("POL-%%04d"):format((i - 1) %% 20 + 1), amount = 100 + i,
			         type = "auto", incident_date = "2026-11-01", description = "claim " .. i}
			  sleep(1)
			end`, claims+1, 2*claims))...)
	}()
	// Frozen (SIGSTOP) while it holds a batch it has not acked, then
	// killed: the state seen is the state it dies in, however fast it is.
	killMidBatch := func(p *exec.Cmd, group string) {
		eventually(t, 60*time.Second, group+"'s worker frozen mid-batch", func() bool {
			require.NoError(t, p.Process.Signal(syscall.SIGSTOP))
			st, err := store.State(ctx)
			if err == nil {
				if ev := st.Combined(store.Keys().EventStreams()); ev != nil {
					if g := ev.Group(group); g != nil && g.Pending > 0 && g.Lag > 0 {
						return true
					}
				}
			}
			require.NoError(t, p.Process.Signal(syscall.SIGCONT))
			return false
		})
		require.NoError(t, p.Process.Kill())
		_ = p.Wait()
	}
	killMidBatch(p1, streams.GroupProcessors)
	killMidBatch(a1, streams.GroupAnalytics)
	r := <-more
	require.Equal(t, 0, r.code, r.stderr)

	workerProcess(t, conn, "processor", "p2", fast...)
	workerProcess(t, conn, "analytics", "a2", fast...)
	eventually(t, 60*time.Second, "the new workers to finish everything", func() bool {
		return groupDone(ctx, store, streams.GroupProcessors, streams.GroupAnalytics)
	})
	summary, _, err := store.Pending(ctx, streams.GroupProcessors)
	require.NoError(t, err)
	assert.Zero(t, summary.Count)
	assertExactlyOnce(t, ctx, store, 2*claims)
}

// TestRedisRestartLosesNothing restarts redis-server (AOF) under running
// workers: they reconnect, and every event before and after is handled once.
func TestRedisRestartLosesNothing(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t, redistest.WithAOF())
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rdb.Close()
	store := streams.New(rdb, streams.Options{})

	submitClaims(t, redisAt(srv.URL()), 100, 1)
	workerProcess(t, redisAt(srv.URL()), "processor", "p1")
	workerProcess(t, redisAt(srv.URL()), "analytics", "a1")
	eventually(t, 30*time.Second, "the first 100 claims", func() bool {
		return groupDone(ctx, store, streams.GroupProcessors, streams.GroupAnalytics)
	})

	srv.Stop()
	srv.Restart(t)
	// After a restart Redis reports no lag (entries-read is null) until a
	// consumer reaches the end; the state view counts it instead.
	submitClaims(t, redisAt(srv.URL()), 100, 101)
	eventually(t, 60*time.Second, "the workers to reconnect and handle the rest", func() bool {
		return groupDone(ctx, store, streams.GroupProcessors, streams.GroupAnalytics)
	})
	assertExactlyOnce(t, ctx, store, 200)
}

// TestWorkerStopsCleanlyOnSignal: SIGINT or SIGTERM lets the worker finish
// its batch and exit 0, as the lab's separate terminals are stopped.
func TestWorkerStopsCleanlyOnSignal(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		cmd := exec.Command(binary, "--redis", srv.URL(), "worker", "audit", "--consumer", "au-"+sig.String())
		cmd.Env = cleanEnv()
		stdout, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		line, err := bufio.NewReader(stdout).ReadString('\n') // "started: ..." once it runs
		require.NoError(t, err)
		require.Contains(t, line, "started")
		require.NoError(t, cmd.Process.Signal(sig))
		rest, _ := io.ReadAll(stdout)
		require.NoError(t, cmd.Wait(), "exit 0 on %s", sig)
		assert.Contains(t, string(rest), "stopped")
	}
}

// TestReportCommand prints the report as JSON or writes the lab's file.
func TestReportCommand(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	submitClaims(t, redisAt(srv.URL()), 3, 1)
	r := claimsctl(t, "", nil, "--redis", srv.URL(), "report")
	require.Equal(t, 0, r.code, r.stderr)
	var rep map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep))
	assert.EqualValues(t, 3, rep["claims"])

	out := filepath.Join(t.TempDir(), "data", "claims-analytics-report.json")
	r = claimsctl(t, "", nil, "--redis", srv.URL(), "report", "-o", out)
	require.Equal(t, 0, r.code, r.stderr)
	raw, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Contains(t, string(raw), `"claims": 3`)
	assert.Contains(t, r.stderr, "report of 3 claims written to "+out)
}

// TestWorkerMaxDeliveries: with --max-deliveries 1 the first failure of
// an entry dead-letters it (the default, 5, would retry it first).
func TestWorkerMaxDeliveries(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	r := claimsctl(t, "", nil, "--redis", srv.URL(), "-e",
		`submit{customer="C", policy="P", amount=5, type="auto", incident_date="2026-01-01", description="poison"}`)
	require.Equal(t, 0, r.code, r.stderr)
	workerProcess(t, redisAt(srv.URL()), "scripts/consumers/flaky.lua", "f1", "--max-deliveries", "1")

	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rdb.Close()
	store := streams.New(rdb, streams.Options{})
	eventually(t, 30*time.Second, "the entry in the DLQ", func() bool {
		letters, err := workers.DLQ(context.Background(), store)
		return err == nil && len(letters) == 1
	})
}

// TestWorkerSignalInterruptsALoopingHandler: a Lua consumer whose handle()
// never returns still stops on the first SIGINT or SIGTERM: the handler is
// interrupted after the grace, and its entry stays pending (not acked).
func TestWorkerSignalInterruptsALoopingHandler(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	loop := filepath.Join(t.TempDir(), "loop.lua")
	require.NoError(t, os.WriteFile(loop, []byte("group = \"loop\"\nfunction handle(ev) while true do end end\n"), 0o644))
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rdb.Close()
	ctx := context.Background()
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			prefix := "sig" + strconv.Itoa(int(sig)) + ":"
			store := streams.New(rdb, streams.Options{Prefix: prefix})
			r := claimsctl(t, "", nil, "--redis", srv.URL(), "--prefix", prefix, "-e",
				`submit{customer="C", policy="P", amount=5, type="auto", incident_date="2026-01-01", description="d"}`)
			require.Equal(t, 0, r.code, r.stderr)

			cmd := exec.Command(binary, "--redis", srv.URL(), "--prefix", prefix, "worker", loop, "--consumer", "l1")
			cmd.Env = cleanEnv()
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			require.NoError(t, cmd.Start())
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			t.Cleanup(func() {
				_ = cmd.Process.Kill()
				<-exited
			})
			eventually(t, 30*time.Second, "the handler to hold the entry", func() bool {
				sum, _, err := store.Pending(ctx, "loop")
				return err == nil && sum.Count == 1
			})
			require.NoError(t, cmd.Process.Signal(sig))
			select {
			case err := <-exited:
				exited <- err // for the clean-up
				require.NoError(t, err, "exit 0 on %s:\n%s", sig, out.String())
			case <-time.After(30 * time.Second):
				t.Fatalf("the worker ignored %s:\n%s", sig, out.String())
			}
			assert.Contains(t, out.String(), "interrupted: handle() was still running")
			assert.Contains(t, out.String(), "stopped")
			sum, _, err := store.Pending(ctx, "loop")
			require.NoError(t, err)
			assert.EqualValues(t, 1, sum.Count, "the interrupted entry stays pending")
		})
	}
}

// TestSpawnedConsumerHasAMemoryCeiling: a spawned consumer that allocates
// without bound runs in a child process and is stopped there, with a clear
// error in workers(); the host and the other workers live on. On the
// embedded server too: the child reaches it on its loopback port.
func TestSpawnedConsumerHasAMemoryCeiling(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	hog := filepath.Join(dir, "hog.lua")
	require.NoError(t, os.WriteFile(hog, []byte(`group = "hog"
local kept = {}
function handle(ev)
  for i = 1, 1e9 do kept[#kept + 1] = string.rep("x", 1e7) .. i end
end
`), 0o644))
	bad := filepath.Join(dir, "bad.lua")
	require.NoError(t, os.WriteFile(bad, []byte(`function handle(ev) end`), 0o644))
	script := `
		local claim = {customer="C", policy="P", amount=50000, type="auto", incident_date="2026-01-01", description="d"}
		start("audit", {log = false})
		spawn("` + hog + `", {log = false})
		spawn("scripts/consumers/high_value.lua", {log = false})
		local ok, err = pcall(spawn, "` + bad + `")
		print("bad: " .. tostring(err))
		submit(claim)
		local function worker(name)
		  for _, w in ipairs(workers()) do if w.name == name then return w end end
		end
		local deadline = os.time() + 120
		while worker("hog").running and os.time() < deadline do sleep(20) end
		print("hog: " .. tostring(worker("hog").error))
		submit(claim)
		wait_idle({"audit", "high-value"})
		print("audit running: " .. tostring(worker("audit").running))
		print("high_value running: " .. tostring(worker("high_value").running))
		print("hog pending: " .. pending("hog").count)`
	for name, conn := range backendArgs(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := claimsctl(t, "", nil, append(conn, "-e", script)...)
			require.Equal(t, 0, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			assert.Regexp(t, `bad: .*spawn .*bad\.lua: .*bad\.lua must set group`, r.stdout)
			assert.Contains(t, r.stdout, "hog: stopped: it used more than 512 MB\n")
			assert.Contains(t, r.stdout, "audit running: true\n")
			assert.Contains(t, r.stdout, "high_value running: true\n")
			assert.Contains(t, r.stdout, "hog pending: 1\n", "the entry it died on stays pending")
			assert.NotContains(t, r.stdout+r.stderr, "goroutine", "no stack dump")
		})
	}
}

// TestStopEndsASpawnedChild: stop() ends a spawned consumer's child process
// even when its handler never returns, and its log lines reach the parent.
func TestStopEndsASpawnedChild(t *testing.T) {
	t.Parallel()
	loop := filepath.Join(t.TempDir(), "loop.lua")
	require.NoError(t, os.WriteFile(loop, []byte("group = \"loop\"\nfunction handle(ev) while true do end end\n"), 0o644))
	r := claimsctl(t, "", nil, "--embedded", "-e", `
		spawn("`+loop+`", {consumer = "l1"})
		submit{customer="C", policy="P", amount=5, type="auto", incident_date="2026-01-01", description="d"}
		while pending("loop").count == 0 do sleep(20) end
		print("stopped " .. stop("all"))
		local w = workers()[1]
		print("running: " .. tostring(w.running) .. ", error: " .. tostring(w.error))
		print("pending: " .. pending("loop").count)`)
	require.Equal(t, 0, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	assert.Contains(t, r.stdout, "  [loop l1  started: group loop", "the child's log, relayed")
	assert.Contains(t, r.stdout, "interrupted: handle() was still running")
	assert.Contains(t, r.stdout, "stopped 1\n")
	assert.Contains(t, r.stdout, "running: false, error: nil\n")
	assert.Contains(t, r.stdout, "pending: 1\n")
}

// TestSpawnedConsumerReachesAPasswordServer: the child gets the connection,
// password included, through its environment, and nothing prints it.
func TestSpawnedConsumerReachesAPasswordServer(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	admin := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	require.NoError(t, admin.ConfigSet(context.Background(), "requirepass", "sp4wn-pw").Err())
	admin.Close()
	r := claimsctl(t, "", []string{"REDIS_URL=redis://:sp4wn-pw@" + srv.Addr()}, "-e", `
		spawn("scripts/consumers/high_value.lua")
		submit{customer="C", policy="P", amount=50000, type="auto", incident_date="2026-01-01", description="d"}
		wait_idle("high-value")
		print("running: " .. tostring(workers()[1].running))`)
	require.Equal(t, 0, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	assert.Contains(t, r.stdout, "batch of 1: 1 handled", "it reached the server")
	assert.Contains(t, r.stdout, "running: true")
	assert.NotContains(t, r.stdout+r.stderr, "sp4wn-pw")
}
