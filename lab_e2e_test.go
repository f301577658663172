package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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

// labEnv keeps the race detector's one-second pause at exit out of the
// lab's many short commands: the suite runs dozens of steps.
var labEnv = []string{"GORACE=atexit_sleep_ms=100"}

// faultsStep breaks the server on purpose (lab step 13): TestLabStep13
// runs it on each kind of server, the lab's runs below leave it out.
const faultsStep = "scripts/step13.lua"

// labSteps are the lab's step scripts, in order, but the faults step.
func labSteps(t *testing.T) []string {
	t.Helper()
	steps, err := filepath.Glob("scripts/step*.lua")
	require.NoError(t, err)
	require.Len(t, steps, 13, "one script per lab step (12: partitions, 13: faults)")
	require.Equal(t, faultsStep, steps[12])
	return steps[:12]
}

// runFaults runs step 13 against the server the connection flags name,
// as a student does, and checks what it says it did: every fault it can
// have hit and was followed by the proof, the others skipped with why.
func runFaults(t *testing.T, dir string, conn []string, faults, skipped []string) string {
	t.Helper()
	r := claimsctlIn(t, dir, "", labEnv, append(append([]string(nil), conn...), "run", faultsStep)...)
	require.Equal(t, 0, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	assert.NotRegexp(t, `(?m)^FAIL `, r.stdout, "no failed expectation")
	assert.Contains(t, r.stdout, "Now you should see")
	for _, f := range faults {
		assert.Regexp(t, `(?m)^  `+regexp.QuoteMeta(f)+` +\d+ +\d+ +\d+ +\d+ +\d+ +\d+ +\d+  nothing lost or doubled$`, r.stdout, "the timeline's row of %q", f)
	}
	for _, s := range skipped {
		assert.Contains(t, r.stdout, "  skipped: "+s+" (", "skipped, saying why")
	}
	assert.Equal(t, len(faults), strings.Count(r.stdout, "  proof: "), "a proof after each fault")
	assert.NotContains(t, r.stdout, "lost 1")
	t.Logf("step 13's timeline:\n%s", r.stdout[strings.Index(r.stdout, "-- the timeline"):])
	return r.stdout
}

// The faults each server can have, by the titles step 13 gives them.
var (
	workerFaults = []string{"kill the processor mid-batch", "a slow analytics consumer", "a processor that crashes on a claim"}
	clientFaults = []string{"CLIENT PAUSE 1500 ms", "CLIENT KILL every client"}
)

// TestLabStep13 runs the faults step as the README runs it, on each kind
// of server: the embedded one (`claimsctl serve`, with the lab's workers
// in their terminals: TestLabInSeparateTerminals), a redis-server that
// `claimsctl serve --aof` can restart, and the package's `claimsctl serve
// --cluster 3 --replicas 1`, twice there: the second run meets the
// masters the first one failed over.
func TestLabStep13(t *testing.T) {
	t.Parallel()
	t.Run("redis", func(t *testing.T) {
		t.Parallel()
		srv := serveAOF(t)
		out := runFaults(t, studentDir(t), redisAt(srv.url), append(append(append([]string(nil), workerFaults...), clientFaults...),
			"kill -9 redis-server, restarted from its AOF"), []string{"failovers"})
		assert.Contains(t, out, fmt.Sprintf("pid %d -> ", srv.pid))
	})
	t.Run("cluster", func(t *testing.T) {
		t.Parallel()
		sc := useReplicaCluster(t)
		dir := studentDir(t)
		for run := 1; run <= 2; run++ {
			out := runFaults(t, dir, []string{"--cluster", sc.seeds}, append(append(append([]string(nil), workerFaults...), clientFaults...),
				"CLUSTER FAILOVER of partition 0's master", "kill -9 of partition 0's master"), []string{"restarting the server"})
			assert.Contains(t, out, "the killed master is a replica of the new master", "run %d", run)
			// The kill was real: that redis-server process is gone, and
			// CLUSTER NODES lists its address as a replica now (serve
			// started it again), its replica as a master.
			m := regexp.MustCompile(`chaos: kill -9 (\d+) \(master (\S+)\): replica (\S+) took over`).FindStringSubmatch(out)
			require.NotNil(t, m, "run %d", run)
			pid, _ := strconv.Atoi(m[1])
			assert.True(t, gone(pid), "run %d: redis-server pid %d is gone", run, pid)
			c := redis.NewClient(&redis.Options{Addr: m[3]})
			nodes, err := c.ClusterNodes(context.Background()).Result()
			c.Close()
			require.NoError(t, err)
			assert.Regexp(t, `(?m)^\S+ `+regexp.QuoteMeta(m[3])+`@\d+ myself,master `, nodes, "run %d", run)
			assert.Regexp(t, `(?m)^\S+ `+regexp.QuoteMeta(m[2])+`@\d+ slave `, nodes, "run %d", run)
		}
	})
}

// studentDir is a folder of its own, as a student's checkout: the steps
// write data/ (report, archives) relative to where they run.
func studentDir(t *testing.T) string {
	t.Helper()
	repo, err := os.Getwd()
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, os.Symlink(filepath.Join(repo, "scripts"), filepath.Join(dir, "scripts")))
	return dir
}

// runLab runs every step in order against url, as a student does, and
// returns each step's output by name.
func runLab(t *testing.T, dir, url string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, step := range labSteps(t) {
		r := claimsctlIn(t, dir, "", labEnv, "--redis", url, "run", step)
		require.Equal(t, 0, r.code, "%s\nstdout:\n%s\nstderr:\n%s", step, r.stdout, r.stderr)
		assert.NotContains(t, r.stdout, "FAIL", step)
		assert.Contains(t, r.stdout, "Now you should see", step)
		out[filepath.Base(step)] = r.stdout
	}
	return out
}

// TestLabStepsTwice runs step01..step12 in order twice on one server, as
// a student who does the lab again (or a class sharing a server): a real
// redis-server, and the embedded server shared through `claimsctl serve`.
// Step 11 trims the stream, and the second run's steps must still hold.
func TestLabStepsTwice(t *testing.T) {
	t.Parallel()
	servers := map[string]string{
		"redis":    redistest.Start(t).URL(),
		"embedded": startServe(t),
	}
	for name, url := range servers {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := studentDir(t)
			first := runLab(t, dir, url)
			// Between the runs another tool writes into the stream; every
			// step still holds (step 9's flaky consumer meets these too).
			opt, err := redis.ParseURL(url)
			require.NoError(t, err)
			rdb := redis.NewClient(opt)
			defer rdb.Close()
			for _, values := range [][]any{
				{"note", "written by redis-cli"},
				{"type", "claim.submitted", "claim_id", "11111111-2222-4333-8444-555555555555", "version", "1"},
			} {
				require.NoError(t, rdb.XAdd(context.Background(), &redis.XAddArgs{Stream: "claims:events", Values: values}).Err())
			}
			second := runLab(t, dir, url)

			// Step 10 words its figures as the dashboard does.
			status := regexp.MustCompile(`status: +submitted \d+, assigned \d+, investigating \d+, investigated \d+, approved \d+, rejected \d+, payment_initiated \d+, paid \d+`)
			assert.Regexp(t, status, first["step10.lua"])
			assert.Regexp(t, `avg processing (\d+ms|<1ms|[\d.]+s|-), avg resolution (\d+ms|<1ms|[\d.]+s|-)`, first["step10.lua"])

			// Step 11 kept the first run's archive and restored stream.
			for n := 1; n <= 2; n++ {
				archive := filepath.Join(dir, "data", fmt.Sprintf("claims-archive-%d.jsonl", n))
				info, err := os.Stat(archive)
				require.NoError(t, err, "run %d's archive is kept", n)
				assert.NotZero(t, info.Size())
			}
			assert.Contains(t, second["step11.lua"], "an earlier run left data/claims-archive-1.jsonl and claims:restored-1: they are kept")
			assert.Contains(t, second["step11.lua"], "imported")
			assert.Contains(t, second["step11.lua"], "into claims:restored-2")
			// Step 8 after step 11's trim: report() and stats() differ, and
			// the step says why.
			assert.Contains(t, second["step08.lua"], "claims:events was trimmed")
		})
	}
}

// terminal runs a long-lived claimsctl command, as in a terminal of its
// own, logging to a file the test prints when it fails; it is stopped
// with SIGTERM (Ctrl-C's twin) when the test ends.
func terminal(t *testing.T, dir string, args ...string) {
	t.Helper()
	log, err := os.Create(filepath.Join(t.TempDir(), "terminal.log"))
	require.NoError(t, err)
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Env = append(cleanEnv(), labEnv...)
	cmd.Stdout, cmd.Stderr = log, log
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		if t.Failed() {
			out, _ := os.ReadFile(log.Name())
			t.Logf("--- claimsctl %v ---\n%s", args, out)
		}
	})
}

// TestLabInSeparateTerminals is the README's flow: `claimsctl serve`, the
// four workers and the Lua consumer each in a terminal of its own, then
// the steps in another. Claims flow through the running workers; every
// step passes, run after run, without racing them.
func TestLabInSeparateTerminals(t *testing.T) {
	t.Parallel()
	url := startServe(t)
	dir := studentDir(t)
	for _, w := range []string{"processor", "analytics", "notifications", "audit", "scripts/consumers/high_value.lua"} {
		terminal(t, dir, "--redis", url, "worker", w)
	}
	opts, err := redis.ParseURL(url)
	require.NoError(t, err)
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	store := streams.New(rdb, streams.Options{})
	eventually(t, 30*time.Second, "the five workers to run", func() bool {
		for _, g := range []string{"processors", "analytics", "notifications", "audit", "high-value"} {
			if running, err := workers.Running(context.Background(), store, g); err != nil || len(running) == 0 {
				return false
			}
		}
		return true
	})
	for run := 1; run <= 3; run++ {
		out := runLab(t, dir, url)
		if t.Failed() {
			t.Fatalf("run %d failed", run)
		}
		for _, step := range []string{"step05.lua", "step06.lua", "step07.lua", "step08.lua", "step10.lua"} {
			assert.Contains(t, out[step], "processor     already runs as processor@", "run %d, %s: the terminal's processor did the work", run, step)
			assert.NotContains(t, out[step], "started here", "run %d, %s: no worker of its own", run, step)
		}
		assert.Contains(t, out["step04.lua"], "refused (the processor was first)", "run %d", run)
	}
	// Step 13 too, in a keyspace of its own beside the terminals' workers:
	// the faults the embedded server can have.
	runFaults(t, dir, redisAt(url), workerFaults, []string{"CLIENT PAUSE", "CLIENT KILL", "restarting the server", "failovers"})
}
