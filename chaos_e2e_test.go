package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
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

// servedAOF is a `claimsctl serve --aof` running for a test: its URL, the
// pid of the redis-server it started first, and what it printed so far.
type servedAOF struct {
	url string
	pid int
	mu  sync.Mutex
	out strings.Builder
}

func (s *servedAOF) printed() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String()
}

// serveAOF runs `claimsctl serve --aof` on a free loopback port, its files
// in a temp folder, until the test ends.
func serveAOF(t *testing.T) *servedAOF {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	cmd := exec.Command(binary, "serve", "--aof", "--port", strconv.Itoa(port), "--dir", t.TempDir())
	cmd.Env = cleanEnv()
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		_ = cmd.Wait()
	})
	lines := bufio.NewReader(stdout)
	first, err := lines.ReadString('\n') // printed once redis-server answers
	require.NoError(t, err)
	m := regexp.MustCompile(`^redis-server 127\.0\.0\.1:\d+ \(AOF on, in \S+\) pid (\d+)\.`).FindStringSubmatch(first)
	require.NotNil(t, m, first)
	s := &servedAOF{url: fmt.Sprintf("redis://127.0.0.1:%d", port)}
	s.pid, _ = strconv.Atoi(m[1])
	s.out.WriteString(first)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := lines.Read(buf)
			s.mu.Lock()
			s.out.Write(buf[:n])
			s.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return s
}

// gone reports whether pid is no longer a running process (gone, or a
// zombie its parent has yet to reap).
func gone(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(stat)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(f) > 0 && f[0] == "Z"
}

// TestChaosKillsAWorkerProcess: chaos.kill names a worker that another
// terminal runs, and that process dies of SIGKILL (kill -9), by the pid
// it registered.
func TestChaosKillsAWorkerProcess(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := redistest.Start(t)
	conn := redisAt(srv.URL())
	w := workerProcess(t, conn, "processor", "processor@terminal")
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	store := streams.New(rdb, streams.Options{})
	eventually(t, 30*time.Second, "the worker to register its pid", func() bool {
		procs, err := workers.Processes(ctx, store, streams.GroupProcessors)
		return err == nil && procs["processor@terminal"] == w.Process.Pid
	})
	exited := make(chan error, 1)
	go func() { exited <- w.Wait() }()

	r := claimsctl(t, "", nil, append(conn, "-e", `local k = chaos.kill("processor"); print(k.killed, k.pid, k.consumer)`)...)
	require.Equal(t, 0, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	assert.Contains(t, r.stdout, fmt.Sprintf("process\t%d\tprocessor@terminal", w.Process.Pid))
	assert.Contains(t, r.stdout, fmt.Sprintf("kill -9 %d: the process running consumer processor@terminal of group processors is gone", w.Process.Pid))
	select {
	case err := <-exited:
		require.Error(t, err)
		status := w.ProcessState.Sys().(syscall.WaitStatus)
		assert.True(t, status.Signaled() && status.Signal() == syscall.SIGKILL, "killed by SIGKILL, not %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("the worker process is still running")
	}
}

// TestChaosRestartServerKeepsTheEvents: chaos.restart_server on the
// redis-server `claimsctl serve --aof` runs: that process dies, serve
// starts another on the same port, which replays the AOF, and the events
// are all there.
func TestChaosRestartServerKeepsTheEvents(t *testing.T) {
	t.Parallel()
	srv := serveAOF(t)
	r := claimsctl(t, "", nil, "--redis", srv.url, "-e", `
sample_data{}
for i = 1, 5 do
  submit{customer = "CUST-0001", policy = "POL-0001", amount = 100 * i, type = "auto", incident_date = "2026-11-01", description = "before the restart"}
end
local r = chaos.restart_server()
print(r.pid_before, r.pid_after, r.events_before, r.events_after, info().events.length)`)
	require.Equal(t, 0, r.code, "stdout:\n%s\nstderr:\n%s\nserve:\n%s", r.stdout, r.stderr, srv.printed())
	assert.Regexp(t, fmt.Sprintf(`(?m)^%d\t(\d+)\t5\t5\t5$`, srv.pid), r.stdout)
	m := regexp.MustCompile(`(?m)^\d+\t(\d+)\t`).FindStringSubmatch(r.stdout)
	require.NotNil(t, m)
	after, _ := strconv.Atoi(m[1])
	assert.NotEqual(t, srv.pid, after, "another process")
	assert.True(t, gone(srv.pid), "redis-server pid %d is gone", srv.pid)
	assert.False(t, gone(after), "redis-server pid %d runs", after)
	assert.Contains(t, r.stdout, fmt.Sprintf("chaos: kill -9 %d (redis-server on 127.0.0.1:", srv.pid))
	eventually(t, 10*time.Second, "serve to say it restarted it", func() bool {
		return strings.Contains(srv.printed(), fmt.Sprintf("redis-server is back, pid %d", after))
	})
	assert.Contains(t, srv.printed(), fmt.Sprintf("redis-server pid %d died", srv.pid))
}
