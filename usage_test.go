package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// inProcess runs the CLI in this process, with no REDIS_* settings.
func inProcess(args ...string) result {
	var out, errOut bytes.Buffer
	code := run(args, environment{
		getenv: func(string) string { return "" },
		stdin:  strings.NewReader(""), stdout: &out, stderr: &errOut,
	})
	return result{out.String(), errOut.String(), code}
}

// TestHelp compares claimsctl --help and every subcommand's --help with
// testdata/help/NAME.txt (go test . -update rewrites them).
func TestHelp(t *testing.T) {
	t.Parallel()
	cases := map[string][]string{"claimsctl": {"--help"}}
	for _, c := range (&base{}).subcommands() {
		name := c.doc().name
		cases[name] = []string{name, "--help"}
	}
	for name, args := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := inProcess(args...)
			require.Equal(t, 0, r.code, r.stderr)
			assert.Empty(t, r.stderr)
			golden := filepath.Join("testdata", "help", name+".txt")
			if *update {
				require.NoError(t, os.MkdirAll(filepath.Dir(golden), 0o755))
				require.NoError(t, os.WriteFile(golden, []byte(r.stdout), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "go test . -update writes it")
			assert.Equal(t, string(want), r.stdout)
			for _, line := range strings.Split(r.stdout, "\n") {
				assert.LessOrEqual(t, len(line), 80, "fits a terminal: %q", line)
			}

			help := inProcess(append([]string{"help"}, args[:len(args)-1]...)...)
			assert.Equal(t, 0, help.code, help.stderr)
			assert.Equal(t, r.stdout, help.stdout, "claimsctl help %s says the same", name)
		})
	}

	goldens, err := filepath.Glob(filepath.Join("testdata", "help", "*.txt"))
	require.NoError(t, err)
	for _, g := range goldens {
		assert.Contains(t, cases, strings.TrimSuffix(filepath.Base(g), ".txt"), "%s belongs to no command", g)
	}
}

// TestUsageErrors: a mistake names the flag as it was typed and ends with
// a Try: line; near misses get a suggestion.
func TestUsageErrors(t *testing.T) {
	t.Parallel()
	workers := "Try: claimsctl worker processor --consumer p1   (workers: processor, analytics, notifications, audit, or a Lua consumer file)\n"
	cases := []struct {
		args   []string
		stderr string
	}{
		{[]string{"worker", "--cuont", "5"}, "claimsctl: flag provided but not defined: --cuont; did you mean --count?\nTry: claimsctl worker --help\n"},
		{[]string{"worker", "processor", "-cuont=5"}, "claimsctl: flag provided but not defined: -cuont; did you mean --count?\nTry: claimsctl worker --help\n"},
		{[]string{"worker", "processor", "--min-idle", "-5x"}, "claimsctl: invalid value \"-5x\" for flag --min-idle: parse error\nTry: claimsctl worker --help\n"},
		{[]string{"worker", "processor", "--count"}, "claimsctl: flag needs an argument: --count\nTry: claimsctl worker --help\n"},
		{[]string{"worker", "procesor"}, "claimsctl: no worker \"procesor\"; did you mean processor?\n" + workers},
		{[]string{"worker", "nosuch"}, "claimsctl: no worker \"nosuch\"\n" + workers},
		{[]string{"worker", "nofile.lua"}, "claimsctl: cannot read nofile.lua: no such file or directory\nTry: claimsctl worker scripts/consumers/high_value.lua\n"},
		{[]string{"worker", "audit", "--max-deliveries", "0"}, "claimsctl: --max-deliveries must be at least 1, got 0\n" + workers},
		{[]string{"dashboard", "--once=maybe"}, "claimsctl: invalid boolean value \"maybe\" for --once: parse error\nTry: claimsctl dashboard --help\n"},
		{[]string{"report", "-x"}, "claimsctl: flag provided but not defined: -x\nTry: claimsctl report --help\n"},
		{[]string{"--embeded", "-e", "print(1)"}, "claimsctl: flag provided but not defined: --embeded; did you mean --embedded?\nTry: claimsctl --help\n"},
		{[]string{"wroker"}, "claimsctl: unknown command \"wroker\"; did you mean worker?\nTry: claimsctl --help\n"},
		{[]string{"help", "dashbord"}, "claimsctl: unknown command \"dashbord\"; did you mean dashboard?\nTry: claimsctl --help\n"},
		{[]string{"step07.lua"}, "claimsctl: unknown command \"step07.lua\"\nTry: claimsctl run step07.lua\n"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			t.Parallel()
			r := inProcess(c.args...)
			assert.Equal(t, 2, r.code)
			assert.Equal(t, c.stderr, r.stderr)
			assert.Empty(t, r.stdout)
		})
	}
}
