package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"claimsctl/streams/redistest"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// binary is the claimsctl built once for all end-to-end tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "claimsctl-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "claimsctl")
	build := exec.Command("go", "build", "-race", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build claimsctl:", err)
		os.Exit(1)
	}
	code := m.Run()
	stopReplicaCluster()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
}

// claimsctl runs the binary with args, stdin and extra environment. The
// environment is cleared of REDIS_* so the developer's settings do not leak in.
func claimsctl(t *testing.T, stdin string, env []string, args ...string) result {
	t.Helper()
	return claimsctlIn(t, "", stdin, env, args...)
}

// claimsctlIn is claimsctl run in dir ("" = the repository).
func claimsctlIn(t *testing.T, dir, stdin string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Env = append(cleanEnv(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return result{out.String(), errOut.String(), code}
}

func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "REDIS_") && !strings.HasPrefix(kv, "NO_COLOR=") {
			env = append(env, kv)
		}
	}
	return append(env, "HOME="+os.TempDir(), "XDG_CONFIG_HOME="+os.TempDir())
}

// backendArgs are the two backends every end-to-end test runs on: a real
// redis-server started for the test, and the embedded server.
func backendArgs(t *testing.T) map[string][]string {
	srv := redistest.Start(t)
	return map[string][]string{
		"redis":    {"--redis", srv.URL()},
		"embedded": {"--embedded"},
	}
}

// startServe runs `claimsctl serve` on a free loopback port until the test
// ends, and returns its URL.
func startServe(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	cmd := exec.Command(binary, "serve", "--port", strconv.Itoa(port))
	cmd.Env = cleanEnv()
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n') // printed once it listens
	require.NoError(t, err)
	require.Contains(t, line, fmt.Sprintf("127.0.0.1:%d", port))
	go io.Copy(io.Discard, stdout)
	return fmt.Sprintf("redis://127.0.0.1:%d", port)
}

func TestExitCodes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
		return p
	}
	failing := write("failing.lua", "expect(1 == 1, 'fine')\nexpect(false, 'the claim should be approved')\n")
	broken := write("broken.lua", "local x = 1\nlocal y = nil + 1\n")
	syntax := write("syntax.lua", "for i = 1, 3 do\n")
	cases := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"ok", []string{"--embedded", "-e", "print(1 + 1)"}, 0, "2\n", "embedded Redis"},
		{"failed expectation", []string{"--embedded", "run", failing}, 3, "the claim should be approved", "1 expectation failed"},
		{"lua error", []string{"--embedded", "run", broken}, 1, "", "broken.lua:2:"},
		{"syntax error", []string{"--embedded", "run", syntax}, 1, "", "syntax error"},
		{"domain error", []string{"--embedded", "-e", "approve('nope', 1)"}, 1, "", "has no events"},
		{"unreachable", []string{"--redis", "redis://127.0.0.1:1", "-e", "print(1)"}, 4, "", "cannot reach Redis"},
		{"unknown command", []string{"frobnicate"}, 2, "", "Try: claimsctl --help"},
		{"bad flag", []string{"--nope"}, 2, "", "flag provided but not defined"},
		{"run without file", []string{"run"}, 2, "", "run needs a Lua file"},
		{"missing file", []string{"run", "nothere.lua"}, 2, "", "cannot read nothere.lua"},
		{"version", []string{"version"}, 0, "claimsctl ", ""},
		{"help", []string{"--help"}, 0, "Exit codes", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := claimsctl(t, "", nil, c.args...)
			assert.Equal(t, c.code, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			assert.Contains(t, r.stdout, c.stdout)
			assert.Contains(t, r.stderr, c.stderr)
		})
	}
}

// TestPasswordIsNeverPrinted goes through every output a password could
// reach: the start-up line, info() and server(), the state view, the
// check table, a worker's log, and the errors of a malformed URL, a
// refused password and a missing one.
func TestPasswordIsNeverPrinted(t *testing.T) {
	t.Parallel()
	const pw = "s3cret-pw"
	srv := redistest.Start(t)
	admin := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	require.NoError(t, admin.ConfigSet(context.Background(), "requirepass", pw).Err())
	admin.Close()
	url := fmt.Sprintf("redis://:%s@%s", pw, srv.Addr())
	host, port, _ := strings.Cut(srv.Addr(), ":")
	hostEnv := []string{"REDIS_HOST=" + host, "REDIS_PORT=" + port}
	const show = "print(info().backend); print(server().backend); print(info().events.length)"
	cases := []struct {
		name   string
		stdin  string
		env    []string
		args   []string
		code   int
		stderr string
	}{
		{"REDIS_URL", "", []string{"REDIS_URL=" + url}, []string{"-e", show}, 0, "connected to Redis at " + srv.Addr() + "\n"},
		{"--redis", "", nil, []string{"--redis", url, "-e", show}, 0, "connected to Redis at " + srv.Addr() + "\n"},
		{"REDIS_PASSWORD", "", append(hostEnv, "REDIS_PASSWORD="+pw), []string{"-e", show}, 0, "(REDIS_HOST/REDIS_PORT)"},
		{"the REPL", "submit{customer='C', policy='P', amount=5, type='auto', incident_date='2026-01-01', description='d'}\ninfo()\n",
			[]string{"REDIS_URL=" + url}, nil, 0, ""},
		{"the check table", "", nil, []string{"check", "--redis", url, "scripts/exercises/solutions"}, 0, ""},
		{"wrong password", "", []string{"REDIS_URL=redis://:wrong-" + pw + "@" + srv.Addr()}, []string{"-e", show}, 4,
			"claimsctl: Redis at " + srv.Addr() + " refused the password (WRONGPASS"},
		{"wrong REDIS_PASSWORD", "", append(hostEnv, "REDIS_PASSWORD=wrong-"+pw), []string{"-e", show}, 4,
			"(REDIS_HOST/REDIS_PORT) refused the password (WRONGPASS"},
		{"no password", "", nil, []string{"--redis", srv.URL(), "-e", show}, 4,
			"claimsctl: Redis at " + srv.Addr() + " needs a password (NOAUTH)"},
		{"?password=", "", nil, []string{"--redis", srv.URL() + "/0?password=" + pw, "-e", show}, 1,
			"the password goes before the host, redis://[user]:PASSWORD@host:port, not in ?password="},
		{"percent-encoded, in a URL that does not parse", "", nil, []string{"--redis", "redis://:s3cr%65t-pw@" + host + ":bad port", "-e", show}, 1,
			`redis URL "redis://<redacted>@` + host + `:bad port"`},
		{"split by an unescaped '/'", "", nil, []string{"--redis", "redis://:12/" + pw + "@" + srv.Addr(), "-e", show}, 1,
			"an '@' after the host"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := claimsctl(t, c.stdin, c.env, c.args...)
			require.Equal(t, c.code, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			assert.Contains(t, r.stderr, c.stderr)
			assert.NotContains(t, r.stdout+r.stderr, "s3cret")
			assert.NotContains(t, r.stdout+r.stderr, "s3cr%65t")
		})
	}

	t.Run("a worker's log", func(t *testing.T) {
		t.Parallel()
		conn := []string{"--redis", url, "--prefix", "worker:"}
		setup := claimsctl(t, "", nil, append(conn, "-e", "submit{customer='C', policy='P', amount=5, type='auto', incident_date='2026-01-01', description='d'}")...)
		require.Equal(t, 0, setup.code, setup.stderr)
		cmd := exec.Command(binary, append([]string{"worker", "processor", "-v"}, conn...)...)
		cmd.Env = cleanEnv()
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		stdout, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		lines := make(chan string)
		go func() {
			scan := bufio.NewScanner(stdout)
			for scan.Scan() {
				lines <- scan.Text()
			}
			close(lines)
		}()
		var log strings.Builder
		deadline := time.After(30 * time.Second) // turns a hang into a failure
	read:
		for !strings.Contains(log.String(), "claim.submitted") { // the claim's event was handled
			select {
			case line, ok := <-lines:
				if !ok {
					break read
				}
				log.WriteString(line + "\n")
			case <-deadline:
				break read
			}
		}
		require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
		for line := range lines {
			log.WriteString(line + "\n")
		}
		require.NoError(t, cmd.Wait())
		assert.Contains(t, log.String(), "claim.submitted", "stderr:\n%s", stderr.String())
		assert.Contains(t, stderr.String(), "connected to Redis at "+srv.Addr())
		assert.NotContains(t, log.String()+stderr.String(), "s3cret")
	})
}

func TestREPLThroughStdin(t *testing.T) {
	t.Parallel()
	for name, conn := range backendArgs(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			session := strings.Join([]string{
				`c = submit{customer="CUST-0001", policy="POL-0001", amount=2500, type="auto",`,
				`  incident_date="2026-11-20", description="rear-ended at a light"}`,
				`approve(c.id, {amount=2000})`,
				`evs = consume("processors", "w1")`,
				`ack("processors", evs)`,
				`for i = 1, 2 do`,
				`  print("line", i)`,
				`end`,
				`1 + 1`,
				`nosuchfunction()`,
				`claim(c.id).status`,
			}, "\n") + "\n"
			r := claimsctl(t, session, nil, conn...)
			require.Equal(t, 1, r.code, "two commands failed\nstdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			out := r.stdout
			assert.NotContains(t, out, "claims> ", "no prompt when stdin is not a terminal")
			assert.NotContains(t, out, "\x1b[", "no colour when stdout is not a terminal")
			assert.Regexp(t, `claim [0-9a-f]{8} submitted \(v1\) as \d+-\d+`, out)
			assert.Regexp(t, `claims:events\s+len 1 .*\(new\)`, out, "the state view after submit")
			assert.Contains(t, r.stderr, "error: stdin:1: approve")
			assert.Contains(t, r.stderr, "needs an investigated claim (nothing written)")
			assert.NotContains(t, out, "error:", "errors go to stderr")
			assert.NotContains(t, out, "Lua REPL on the claims event store", "and so does the start-up line")
			assert.Contains(t, r.stderr, "Lua REPL on the claims event store")
			assert.True(t, strings.HasSuffix(r.stderr, "claimsctl: 2 commands failed\n"), r.stderr)
			assert.Regexp(t, `1 event\s*\n\s+\d+-\d+\s+claim.submitted`, out)
			assert.Regexp(t, `processors\s+pending 1 .*consumers w1\(1\)`, out, "pending rises after consume")
			assert.Contains(t, out, "1 acked")
			assert.Regexp(t, `processors\s+pending 0 \(-1\)`, out, "and falls after ack")
			assert.Contains(t, out, "line\t1\nline\t2")
			assert.Contains(t, out, "\n2\n")
			assert.Contains(t, r.stderr, "error: stdin:1: attempt to call a non-function object")
			assert.Contains(t, out, "\nsubmitted\n")
			assert.Contains(t, out, "(no change)")
		})
	}
}

// TestTwoProcessesRaceToDecide starts pairs of processes that approve and
// reject the same investigated claim at once: exactly one decision per
// claim may reach the stream.
func TestTwoProcessesRaceToDecide(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	conn := []string{"--redis", srv.URL()}
	const claims = 5
	setup := claimsctl(t, "", nil, append(conn, "-e", fmt.Sprintf(`
		for i = 1, %d do
		  local c = submit{customer="C", policy="P", amount=1000, type="home", incident_date="2026-11-01", description="race"}
		  assign(c.id, "ADJ-001"); investigate(c.id, {findings="ok"})
		  print(c.id)
		end`, claims))...)
	require.Equal(t, 0, setup.code, setup.stderr)
	claimIDs := strings.Fields(setup.stdout)
	require.Len(t, claimIDs, claims)

	var wg sync.WaitGroup
	results := make([]result, 2*claims)
	for i, id := range claimIDs {
		for j, code := range []string{
			fmt.Sprintf(`approve(%q, 900)`, id),
			fmt.Sprintf(`reject(%q, "fraud suspected")`, id),
		} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[2*i+j] = claimsctl(t, "", nil, append(conn, "-e", code)...)
			}()
		}
	}
	wg.Wait()

	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rdb.Close()
	entries, err := rdb.XRange(context.Background(), "claims:events", "-", "+").Result()
	require.NoError(t, err)
	decisions := map[string]int{}
	for _, e := range entries {
		if typ := e.Values["type"]; typ == "claim.approved" || typ == "claim.rejected" {
			decisions[e.Values["claim_id"].(string)]++
		}
	}
	for i, id := range claimIDs {
		assert.Equal(t, 1, decisions[id], "claim %s must have exactly one decision", id)
		a, b := results[2*i], results[2*i+1]
		assert.ElementsMatch(t, []int{0, 1}, []int{a.code, b.code}, "one process wins, one fails:\n%s\n%s", a.stderr, b.stderr)
		loser := a
		if a.code == 0 {
			loser = b
		}
		assert.Regexp(t, `someone else changed it first|which is final|claim is (approved|rejected)`, loser.stderr)
	}
}

func TestInterruptStopsARunningScript(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	cmd := exec.Command(binary, "--redis", srv.URL(), "-e", `print("waiting"); consume("g", "w", {block=600000})`)
	cmd.Env = cleanEnv()
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	buf := make([]byte, 64)
	n, err := stdout.Read(buf) // "waiting": the consume is about to block
	require.NoError(t, err)
	require.Contains(t, string(buf[:n]), "waiting")
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	err = cmd.Wait()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, 130, ee.ExitCode())
}

// TestInterruptStopsThePipedREPL: with piped input there is no prompt to
// return to, so Ctrl-C (SIGINT) stops the running chunk and the REPL, 130.
func TestInterruptStopsThePipedREPL(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	cmd := exec.Command(binary, "--redis", srv.URL())
	cmd.Env = cleanEnv()
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	_, err = io.WriteString(stdin, "print('waiting'); consume('g', 'w', {block=600000})\n")
	require.NoError(t, err)
	lines := bufio.NewScanner(stdout)
	for lines.Scan() && !strings.Contains(lines.Text(), "waiting") {
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	go io.Copy(io.Discard, stdout)
	err = cmd.Wait()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, 130, ee.ExitCode())
}

func TestTraceNeverPrintsThePassword(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	admin := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	require.NoError(t, admin.ConfigSet(context.Background(), "requirepass", "tr4ce-pw").Err())
	admin.Close()
	_, port, _ := strings.Cut(srv.Addr(), ":")
	// Trace on, then enough concurrent work that the pool dials new
	// connections (each sends AUTH) while tracing.
	r := claimsctl(t, "", []string{"REDIS_URL=redis://:tr4ce-pw@" + srv.Addr()}, "-e", `
		trace(true)
		start("audit", {log = false}); start("analytics", {log = false})
		for i = 1, 5 do submit{customer="C", policy="P", amount=5, type="auto", incident_date="2026-01-01", description="d"} end
		wait_idle()`)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "redis> EVALSHA", "the trace is on")
	assert.NotContains(t, r.stdout+r.stderr, "tr4ce-pw")

	// What a student may type to play with passwords, traced.
	r = claimsctl(t, "", []string{"REDIS_URL=redis://:tr4ce-pw@" + srv.Addr()}, "-e", fmt.Sprintf(`
		trace(true)
		redis("CONFIG", "SET", "requirepass", "tr4ce-pw")
		redis("ACL", "SETUSER", "student", "on", ">stud3nt-pw", "~*", "+@all")
		redis("AUTH", "student", "stud3nt-pw")
		redis("MIGRATE", "127.0.0.1", "%s", "", "0", "1000", "AUTH2", "student", "stud3nt-pw", "KEYS", "no-such-key")
		redis("CONFIG", "SET", "maxmemory-policy", "noeviction")
		print(pcall(redis, "AUTH", "student", "wrong-stud3nt-pw"))`, port))
	require.Equal(t, 0, r.code, r.stderr)
	for _, line := range []string{
		"redis> CONFIG SET (credentials hidden)\n",
		"redis> ACL SETUSER (credentials hidden)\n",
		"redis> AUTH (credentials hidden)\n",
		"redis> MIGRATE (credentials hidden)\n",
		"redis> CONFIG SET maxmemory-policy noeviction\n",
		"redis< (error) WRONGPASS",
	} {
		assert.Contains(t, r.stdout, line)
	}
	assert.NotContains(t, r.stdout+r.stderr, "tr4ce-pw")
	assert.NotContains(t, r.stdout+r.stderr, "stud3nt-pw")
}

func TestTLS(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t, redistest.WithTLS())
	plain := redistest.Start(t)
	junk := filepath.Join(t.TempDir(), "not-a-ca.pem")
	require.NoError(t, os.WriteFile(junk, []byte("-----BEGIN NOTHING-----\n"), 0o600))
	const show = "print(server().backend); print(info().events.length)"
	cases := []struct {
		name   string
		env    []string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"verified with --tls-ca", nil, []string{"--redis", srv.URL(), "--tls-ca", srv.CAFile(), "-e", show}, 0,
			"Redis at " + srv.Addr() + " (TLS)\n0\n", "connected to Redis at " + srv.Addr() + " (TLS)\n"},
		{"REDIS_URL and --tls-ca after the command", []string{"REDIS_URL=" + srv.URL()}, []string{"run", "--tls-ca", srv.CAFile(), "scripts/step01.lua"}, 0,
			"", "connected to Redis at " + srv.Addr() + " (TLS)\n"},
		{"refused without --tls-ca", nil, []string{"--redis", srv.URL(), "-e", show}, 4,
			"", `TLS handshake failed: the server's certificate is signed by "CN=redistest throwaway CA" that this machine does not trust: name its CA with --tls-ca FILE`},
		{"not verified with --tls-insecure", nil, []string{"--redis", srv.URL(), "--tls-insecure", "-e", show}, 0,
			"Redis at " + srv.Addr() + " (TLS, certificate not verified)\n", "connected to Redis at " + srv.Addr() + " (TLS, certificate not verified)\n"},
		{"not verified with ?skip_verify=true", nil, []string{"--redis", srv.URL() + "?skip_verify=true", "-e", show}, 0,
			"(TLS, certificate not verified)", "connected to Redis at " + srv.Addr() + " (TLS, certificate not verified)\n"},
		{"rediss:// to a plain port", nil, []string{"--redis", "rediss://" + plain.Addr(), "-e", show}, 4,
			"", "TLS handshake failed: the server at " + plain.Addr() + " does not speak TLS (try redis:// instead)"},
		{"redis:// to a TLS port", nil, []string{"--redis", "redis://" + srv.Addr(), "-e", show}, 4,
			"", "the server at " + srv.Addr() + " speaks TLS only (try rediss:// instead)"},
		{"a CA file with no certificate", nil, []string{"--redis", srv.URL(), "--tls-ca", junk, "-e", show}, 2,
			"", "--tls-ca " + junk + " holds no PEM certificate"},
		{"a CA file that is not there", nil, []string{"--redis", srv.URL(), "--tls-ca", junk + ".gone", "-e", show}, 2,
			"", "--tls-ca: cannot read " + junk + ".gone: no such file or directory"},
		{"TLS flags without rediss://", nil, []string{"--redis", plain.URL(), "--tls-insecure", "-e", show}, 2,
			"", "TLS flags (--tls-insecure) need a rediss:// URL"},
		{"TLS flags with the embedded server", nil, []string{"--embedded", "--tls-ca", srv.CAFile(), "-e", show}, 2,
			"", "TLS flags (--tls-ca " + srv.CAFile() + ") need a rediss:// URL"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := claimsctl(t, "", c.env, c.args...)
			assert.Equal(t, c.code, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			assert.Contains(t, r.stdout, c.stdout)
			assert.Contains(t, r.stderr, c.stderr)
		})
	}
}

// TestEmbeddedBanner: a command that ends by itself takes its embedded
// server along milliseconds later, so its start-up line points to
// `claimsctl serve` instead of to redis-cli.
func TestEmbeddedBanner(t *testing.T) {
	t.Parallel()
	const brief = ": its data is gone when this command ends; start `claimsctl serve` in another terminal to keep it and watch it with redis-cli\n"
	cases := []struct {
		name     string
		stdin    string
		args     []string
		lasting  bool
		exitCode int
	}{
		{"-e", "", []string{"--embedded", "-e", "print(1)"}, false, 0},
		{"run", "", []string{"--embedded", "run", "scripts/step01.lua"}, false, 0},
		{"report", "", []string{"report", "--embedded"}, false, 0},
		{"check", "", []string{"check", "--embedded", "scripts/exercises/solutions"}, false, 0},
		{"dashboard --once", "", []string{"dashboard", "--embedded", "--once"}, false, 0},
		{"repl", "print(1)\n", []string{"--embedded"}, true, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := claimsctl(t, c.stdin, nil, c.args...)
			require.Equal(t, c.exitCode, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			out := r.stdout + r.stderr
			if c.lasting {
				assert.Regexp(t, `connected to embedded Redis \(in memory, gone on exit\) at 127\.0\.0\.1:(\d+): watch it with redis-cli -p \d+\n`, out)
				return
			}
			assert.Regexp(t, `connected to embedded Redis \(in memory\) at 127\.0\.0\.1:\d+`+regexp.QuoteMeta(brief), out)
			assert.NotContains(t, out, "redis-cli -p")
		})
	}
}
