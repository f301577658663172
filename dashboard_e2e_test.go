package main

import (
	"bytes"
	"os/exec"
	"strings"
	"syscall"
	"testing"

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
