package main

import (
	"bytes"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"claimsctl/streams/redistest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDashboardOnce(t *testing.T) {
	t.Parallel()
	for name, conn := range backendArgs(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := claimsctl(t, "", nil, append(conn, "dashboard", "--once")...)
			require.Equal(t, 0, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			assert.Contains(t, r.stdout, "Claims dashboard")
			assert.NotContains(t, r.stdout, "\x1b", "no ANSI when stdout is not a terminal")
			assert.NotContains(t, r.stdout, "Ctrl-C", "one frame, no refresh footer")
		})
	}
}

func TestDashboardShowsTheClaims(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	conn := []string{"--redis", srv.URL()}
	seed := claimsctl(t, "", nil, append(conn, "-e", `
		local a = submit{customer="C", policy="P", amount=2500, type="auto", incident_date="2026-11-01", description="dent"}
		submit{customer="C", policy="P", amount=500, type="home", incident_date="2026-11-01", description="leak"}
		assign(a.id, "ADJ-001")`)...)
	require.Equal(t, 0, seed.code, seed.stderr)

	r := claimsctl(t, "", nil, append(conn, "dashboard", "--once", "--width", "60")...)
	require.Equal(t, 0, r.code, r.stderr)
	for _, want := range []string{"claims 2   events 3", "3,000.00", "Status", "Claims by type", "Claims per hour", "ADJ-001 1/0  #"} {
		assert.Contains(t, r.stdout, want)
	}
	assert.Regexp(t, `\n  assigned\s+1  #+\n`, r.stdout)
	for _, line := range strings.Split(r.stdout, "\n") {
		assert.LessOrEqual(t, len(line), 60, "%q", line)
	}
}

func TestDashboardUsageErrors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"dashboard", "--refresh", "0"}, "--refresh must be above 0"},
		{[]string{"dashboard", "--width", "20"}, "--width must be at least 60"},
		{[]string{"dashboard", "--onse"}, "flag provided but not defined"},
	} {
		r := claimsctl(t, "", nil, append([]string{"--embedded"}, c.args...)...)
		assert.Equal(t, 2, r.code, "%v: %s", c.args, r.stderr)
		assert.Contains(t, r.stderr, c.msg)
		assert.Contains(t, r.stderr, "Try: claimsctl dashboard")
	}
}

// TestDashboardCtrlCExitsZero: stopping a live dashboard is how it ends,
// so SIGINT gives exit 0, not the 130 of an interrupted script.
func TestDashboardCtrlCExitsZero(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	cmd := exec.Command(binary, "--redis", srv.URL(), "dashboard", "--refresh", "600")
	cmd.Env = cleanEnv()
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	// Read until the first frame is complete: its footer is the last line.
	var seen bytes.Buffer
	buf := make([]byte, 4096)
	for !strings.Contains(seen.String(), "Ctrl-C stops") {
		n, err := stdout.Read(buf)
		seen.Write(buf[:n])
		require.NoError(t, err, "output so far:\n%s", seen.String())
	}
	assert.Contains(t, seen.String(), "Claims dashboard")
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	require.NoError(t, cmd.Wait(), "exit 0 after Ctrl-C")
}

// output collects a process's output as it comes, safe to read meanwhile.
type output struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// TestLongRunningViewsRideOutARestart stops redis-server (AOF) under a
// running dashboard and a monitor() script, then starts it again on the
// same port: both say they are reconnecting, keep running, and show what
// is written after the restart.
func TestLongRunningViewsRideOutARestart(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t, redistest.WithAOF())
	conn := redisAt(srv.URL())
	submitClaims(t, conn, 2, 1)

	start := func(args ...string) (*exec.Cmd, *output, chan error) {
		cmd := exec.Command(binary, append(append([]string(nil), conn...), args...)...)
		cmd.Env = cleanEnv()
		out := &output{}
		cmd.Stdout, cmd.Stderr = out, out
		require.NoError(t, cmd.Start())
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		t.Cleanup(func() {
			_ = cmd.Process.Signal(syscall.SIGINT)
			<-exited
			if t.Failed() {
				t.Logf("--- %v ---\n%s", args, out)
			}
		})
		return cmd, out, exited
	}
	_, dash, dashExited := start("dashboard", "--refresh", "0.2", "--width", "60")
	_, mon, monExited := start("-e", "monitor{seconds = 600}")
	eventually(t, 30*time.Second, "the dashboard's first frame and the monitor under way", func() bool {
		return strings.Contains(dash.String(), "claims 2 ") && strings.Contains(mon.String(), "monitoring claims:events")
	})

	srv.Stop()
	eventually(t, 60*time.Second, "both saying they are reconnecting", func() bool {
		return strings.Contains(dash.String(), "redis unavailable, reconnecting in 200ms") &&
			strings.Contains(mon.String(), "(redis unavailable, reconnecting: ")
	})
	srv.Restart(t)
	r := claimsctl(t, "", nil, append(conn, "-e", `c = submit{customer="CUST-0009", policy="POL-0001", amount=300, type="auto",
		incident_date="2026-11-01", description="after the restart"} print(c.id)`)...)
	require.Equal(t, 0, r.code, r.stderr)
	id := strings.TrimSpace(r.stdout)
	eventually(t, 60*time.Second, "the new claim in both", func() bool {
		return strings.Contains(dash.String(), "claims 3 ") &&
			regexp.MustCompile(`claim\.submitted +`+id[:8]).MatchString(mon.String())
	})
	assert.Contains(t, mon.String(), "(reconnected)")
	for name, exited := range map[string]chan error{"dashboard": dashExited, "monitor": monExited} {
		select {
		case err := <-exited:
			t.Fatalf("%s ended: %v", name, err)
		default:
		}
	}
}
