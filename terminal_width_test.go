package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// onTerminal runs the CLI in this process as if stdout were a terminal of
// the given width (colour off, so the frame is plain text), with stdin as
// given (not a terminal).
func onTerminal(t *testing.T, tty bool, columns int, stdin string, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, environment{
		getenv: func(k string) string {
			if k == "NO_COLOR" {
				return "1"
			}
			return ""
		},
		stdin: strings.NewReader(stdin), stdout: &out, stderr: &errOut,
		stdoutTTY: tty, stdoutWidth: func() int { return columns },
	})
	require.Equal(t, 0, code, "stderr: %s", errOut.String())
	return out.String()
}

// ruleWidth is the width of the dashboard's rule under its title.
func ruleWidth(t *testing.T, frame string) int {
	t.Helper()
	for _, line := range strings.Split(frame, "\n") {
		if line != "" && strings.Trim(line, "=") == "" {
			return len(line)
		}
	}
	t.Fatalf("no rule in:\n%s", frame)
	return 0
}

// TestDashboardTakesTheTerminalsWidth: without --width (or width=) the
// dashboard is as wide as the terminal, and 80 columns when stdout is not
// one (piped output, golden files); --width and width= still decide.
func TestDashboardTakesTheTerminalsWidth(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		tty     bool
		stdin   string
		args    []string
		columns int
	}{
		{"dashboard on a terminal", true, "", []string{"--embedded", "dashboard", "--once"}, 120},
		{"dashboard piped", false, "", []string{"--embedded", "dashboard", "--once"}, 80},
		{"dashboard --width", true, "", []string{"--embedded", "dashboard", "--once", "--width", "70"}, 70},
		{"a narrow terminal", true, "", []string{"--embedded", "dashboard", "--once"}, 60},
		{"dashboard() in a script", true, "", []string{"--embedded", "-e", "dashboard{once=true}"}, 120},
		{"dashboard{width=} in a script", true, "", []string{"--embedded", "-e", "dashboard{once=true, width=90}"}, 90},
		{"dashboard() piped", false, "", []string{"--embedded", "-e", "dashboard{once=true}"}, 80},
		{"dashboard() in the REPL", true, "dashboard{once=true}\n", []string{"--embedded"}, 120},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			columns := 120
			if c.name == "a narrow terminal" {
				columns = 30 // narrower than the dashboard can be
			}
			assert.Equal(t, c.columns, ruleWidth(t, onTerminal(t, c.tty, columns, c.stdin, c.args...)))
		})
	}
}
