package main

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"

	"claimsctl/repl"
	"claimsctl/streams/redistest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// replSession runs the REPL as `claimsctl` wires it, in this process, on
// input piped in, with conn choosing the server. Each chunk is echoed
// before it runs, after the prompt a student would have seen, so the
// output reads as a transcript.
func replSession(t *testing.T, conn connFlags, input string) string {
	t.Helper()
	var out, errOut strings.Builder
	c := &replCmd{base: &base{
		env: environment{
			getenv: func(string) string { return "" },
			stdin:  strings.NewReader(input), stdout: &out, stderr: &errOut,
		},
		conn: conn,
	}}
	ctx := context.Background()
	err := c.session(ctx, func(o repl.Options) error {
		o.Eval = &echoing{Evaluator: o.Eval, out: o.Out}
		return repl.Run(ctx, o)
	})
	require.NoError(t, err)
	assert.Empty(t, errOut.String())
	return out.String()
}

// echoing prints each line of a chunk after its prompt when the REPL
// first hands it over: a piped REPL shows no prompt and no input.
type echoing struct {
	repl.Evaluator
	out   io.Writer
	shown int // lines of the unfinished chunk already printed
}

func (e *echoing) Eval(ctx context.Context, chunk string) (string, error) {
	lines := strings.Split(chunk, "\n")
	for i := e.shown; i < len(lines); i++ {
		prompt := repl.PromptPrimary
		if i > 0 {
			prompt = repl.PromptContinuation
		}
		fmt.Fprintln(e.out, strings.TrimRight(prompt+lines[i], " "))
	}
	val, err := e.Evaluator.Eval(ctx, chunk)
	e.shown = 0
	if err != nil && e.Incomplete(err) {
		e.shown = len(lines)
	}
	return val, err
}

const submitLine = `c = submit{customer="CUST-0001", policy="POL-0001", amount=2500, type="auto", incident_date="2026-01-20", description="rear-ended at a light"}`

// TestREPLTraceShowsOnlyTheCommand: trace(true) shows what the student's
// command sent, not the state view's reads after it; and the first
// submit runs its script by EVALSHA alone (the store loaded it untraced),
// with no NOSCRIPT refusal on the way.
func TestREPLTraceShowsOnlyTheCommand(t *testing.T) {
	t.Parallel()
	servers := map[string]connFlags{
		"redis":    {url: redistest.Start(t).URL()},
		"embedded": {embedded: true},
	}
	for name, conn := range servers {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			out := replSession(t, conn, "trace(true)\n"+submitLine+"\ntrace(false)\n")
			start := strings.Index(out, "claims> "+submitLine)
			end := strings.Index(out, "claims> trace(false)")
			require.True(t, start >= 0 && end > start, out)
			var sent []string
			for _, line := range strings.Split(out[start:end], "\n") {
				if strings.HasPrefix(line, "  redis") {
					sent = append(sent, line)
				}
			}
			require.Len(t, sent, 1, "one command, and no reply shown:\n%s", out)
			assert.Regexp(t, `^  redis> EVALSHA [0-9a-f]{40} `, sent[0])
			assert.NotContains(t, out, "NOSCRIPT")
			assert.NotContains(t, out, "XINFO", "the state view is not traced")
			assert.Regexp(t, regexp.MustCompile(`claim [0-9a-f]{8} submitted \(v1\)`), out)
		})
	}
}
