package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"claimsctl/luaapi"
	"claimsctl/streams/redistest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// seededSteps are the lab steps a seeded run repeats byte for byte.
var seededSteps = []string{"02", "04", "05", "07", "08", "10"}

// seededTranscript is what a seeded step printed, as a terminal shows it
// (the start-up lines on stderr, then stdout), without the one line that
// names the server: the connected to line.
func seededTranscript(r result) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(r.stderr, "\n") {
		if !strings.HasPrefix(line, "connected to ") {
			b.WriteString(line)
		}
	}
	b.WriteString(r.stdout)
	return b.String()
}

// TestSeededStepsRepeat runs steps 02, 04, 05, 07, 08 and 10 with
// --seed 7 twice each, as the README runs them (claimsctl --seed 7 run
// scripts/stepNN.lua in a student's folder), each run on a fresh
// redis-server (the same port, started anew with no data): the two print
// the same, byte for byte, apart from the connected to line. That output
// is testdata/seed/stepNN.txt, a handout's expected output, with this
// machine's name as HOST, the port as PORT and the scripts' SHA1 as <sha>
// (go test . -update rewrites them).
func TestSeededStepsRepeat(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	host, err := os.Hostname()
	require.NoError(t, err)
	for _, step := range seededSteps {
		t.Run("step"+step, func(t *testing.T) {
			var runs [2]string
			for i := range runs {
				srv.Restart(t) // no AOF, no RDB: a fresh server on the same port
				dir := studentDir(t)
				r := claimsctlIn(t, dir, "", labEnv, "--seed", "7", "--redis", srv.URL(), "run", "scripts/step"+step+".lua")
				require.Equal(t, 0, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
				runs[i] = seededTranscript(r)
			}
			assert.Equal(t, runs[0], runs[1], "two seeded runs of step %s print the same", step)
			assert.Contains(t, runs[0], "seeded run (--seed 7)", "the banner says so")

			got := runs[0]
			if at := strings.TrimPrefix(luaapi.DefaultConsumer("w", host), "w"); at != "" {
				got = strings.ReplaceAll(got, at, "@HOST") // processor@HOST …
			}
			got = strings.ReplaceAll(got, "-p "+strconv.Itoa(srv.Port()), "-p PORT")
			// The scripts' SHA1 changes with every edit of a script: not
			// what a handout is about.
			got = scriptSHA.ReplaceAllString(got, "<sha>")
			golden := filepath.Join("testdata", "seed", "step"+step+".txt")
			if *update {
				require.NoError(t, os.MkdirAll(filepath.Dir(golden), 0o755))
				require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "go test . -update writes it")
			assert.Equal(t, string(want), got, "%s is what a seeded run prints (go test . -update rewrites it)", golden)
		})
	}
}

// TestSeededRunIsRefused: a seeded run on a keyspace that holds events is
// refused before anything runs, saying why; an unseeded run there is not.
func TestSeededRunIsRefused(t *testing.T) {
	t.Parallel()
	url := redistest.Start(t).URL()
	r := claimsctl(t, "", nil, "--redis", url, "-e", "submit{customer='C', policy='P', amount=1, type='auto', incident_date='2026-01-01', description='d'}")
	require.Equal(t, 0, r.code, r.stderr)
	r = claimsctl(t, "", []string{"CLAIMSCTL_SEED=7"}, "--redis", url, "-e", "print('ran')")
	assert.Equal(t, exitUsage, r.code)
	assert.NotContains(t, r.stdout, "ran")
	assert.Contains(t, r.stderr, "--seed 7: claims:events holds 1 entry")
	assert.Contains(t, r.stderr, "Redis takes an id only after a stream's last one")
	r = claimsctl(t, "", nil, "--redis", url, "--seed", "seven", "-e", "1")
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, `--seed must be a whole number, got "seven"`)
}

// TestSeededREPLSession replays testdata/seed/repl.txt (its prompt lines
// are the input) in a REPL started as claimsctl --seed 7 on the embedded
// server: the output is the same on every run, ids, times and entry ids
// included; only the server's port is normalised. README's "A REPL
// session" is that transcript, and is held to it.
func TestSeededREPLSession(t *testing.T) {
	t.Parallel()
	golden := filepath.Join("testdata", "seed", "repl.txt")
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	session := func() string {
		return port.ReplaceAllString(seededREPLSession(t, transcriptInput(string(want))), "${1}<port>")
	}
	got := session()
	assert.Equal(t, got, session(), "two seeded sessions print the same")
	if *update {
		require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
		want = []byte(got)
	}
	assert.Equal(t, string(want), got, "go test . -update rewrites %s", golden)

	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	_, section, ok := strings.Cut(string(readme), "## A REPL session\n")
	require.True(t, ok, "README has a REPL session")
	_, block, ok := strings.Cut(section, "```\n$ claimsctl --seed 7\n")
	require.True(t, ok, "README's REPL session starts with $ claimsctl --seed 7")
	block, _, _ = strings.Cut(block, "```\n")
	assert.Equal(t, string(want), port.ReplaceAllString(block, "${1}<port>"), "README's REPL session is %s", golden)
}

// seededREPLSession is replSession with --seed 7 on the embedded server.
func seededREPLSession(t *testing.T, input string) string {
	t.Helper()
	return replSessionOf(t, &base{conn: connFlags{embedded: true}, seed: "7", seedable: true}, input)
}
