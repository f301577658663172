package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
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
	return replSessionOf(t, &base{conn: conn}, input)
}

// replSessionOf is replSession with the flags of b (conn, seed …).
func replSessionOf(t *testing.T, b *base, input string) string {
	t.Helper()
	// stderr (the banner, errors) shares the builder, so the transcript
	// keeps each error after its command.
	var out strings.Builder
	b.env = environment{
		getenv: func(string) string { return "" },
		stdin:  strings.NewReader(input), stdout: &out, stderr: &out,
	}
	c := &replCmd{base: b}
	ctx := context.Background()
	err := c.session(ctx, func(o repl.Options) error {
		o.Eval = &echoing{Evaluator: o.Eval, out: o.Out}
		return repl.Run(ctx, o)
	})
	var failed *repl.CommandsFailed
	if !errors.As(err, &failed) {
		require.NoError(t, err)
	}
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

// TestREPLTranscripts replays each testdata/repl/*.txt: its prompt lines
// ("claims> ", ">> ") are the input, the rest is what the REPL printed,
// compared after normalising what changes from run to run (ids, times,
// ports). A new session is written as prompt lines alone; go test .
// -update fills in the output.
func TestREPLTranscripts(t *testing.T) {
	t.Parallel()
	goldens, err := filepath.Glob(filepath.Join("testdata", "repl", "*.txt"))
	require.NoError(t, err)
	require.NotEmpty(t, goldens)
	for _, golden := range goldens {
		t.Run(filepath.Base(golden), func(t *testing.T) {
			t.Parallel()
			want, err := os.ReadFile(golden)
			require.NoError(t, err)
			got := normalizeTranscript(replSession(t, connFlags{embedded: true}, transcriptInput(string(want))))
			if *update {
				require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
				return
			}
			assert.Equal(t, string(want), got, "go test . -update rewrites %s", golden)
		})
	}
}

// transcriptInput is what was typed in a transcript: its prompt lines.
func transcriptInput(transcript string) string {
	var in strings.Builder
	for _, line := range strings.Split(transcript, "\n") {
		for _, prompt := range []string{repl.PromptPrimary, repl.PromptContinuation} {
			if typed, ok := strings.CutPrefix(line, prompt); ok || line == strings.TrimSpace(prompt) {
				in.WriteString(typed + "\n")
				break
			}
		}
	}
	return in.String()
}

var (
	scriptSHA = regexp.MustCompile(`\b[0-9a-f]{40}\b`)
	timestamp = regexp.MustCompile(`\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?Z?`)
	streamID  = regexp.MustCompile(`\b\d{13}-\d+\b`)
	// A uuid, or the 8 characters that stand for it (claims.Short). A
	// short id can be all digits, so any 8-digit number is taken for
	// one: keep such numbers out of the transcripts.
	uuidOrShort = regexp.MustCompile(`\b[0-9a-f]{8}(-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})?\b`)
	port        = regexp.MustCompile(`(127\.0\.0\.1:|-p )\d+`)
)

// normalizeTranscript replaces what differs between runs: each stream id
// by <idN> and each uuid by <uuidN> (its short form by <cN>), numbered in
// order of appearance so that what refers to the same entry or claim
// still does; times by <time>, the server's port by <port>, the scripts'
// SHA1 by <sha>.
func normalizeTranscript(s string) string {
	s = scriptSHA.ReplaceAllString(s, "<sha>")
	s = timestamp.ReplaceAllString(s, "<time>")
	s = port.ReplaceAllString(s, "${1}<port>")
	s = numbered(s, streamID, func(m string) string { return m }, func(n int, _ string) string { return fmt.Sprintf("<id%d>", n) })
	return numbered(s, uuidOrShort, func(m string) string { return m[:8] }, func(n int, m string) string {
		if len(m) == 8 {
			return fmt.Sprintf("<c%d>", n)
		}
		return fmt.Sprintf("<uuid%d>", n)
	})
}

// numbered replaces each match of re by name(n, match), n numbering the
// distinct keys of the matches in order of appearance.
func numbered(s string, re *regexp.Regexp, key func(string) string, name func(int, string) string) string {
	seen := map[string]int{}
	return re.ReplaceAllStringFunc(s, func(m string) string {
		k := key(m)
		if _, ok := seen[k]; !ok {
			seen[k] = len(seen) + 1
		}
		return name(seen[k], m)
	})
}

func TestNormalizeTranscript(t *testing.T) {
	t.Parallel()
	in := "connected at 127.0.0.1:40123: watch it with redis-cli -p 40123\n" +
		"claim 5107b0a8 submitted (v1) as 1796118867647-0\n" +
		"EVALSHA 4a4248aa688e2d7591b93ad424e9a7121facbdb4 claim_id 5107b0a8-60f9-4a41-8293-f513967869df event_id 89d18045-093e-428b-89d1-90e0873e55db occurred_at 2026-12-01T09:54:27.648Z\n" +
		"1796118867647-0  claim.submitted  5107b0a8  v1  2026-12-01 09:54:27.648\n" +
		"claim 0223e3cc assigned (v2) as 1796118867648-3\n"
	assert.Equal(t, "connected at 127.0.0.1:<port>: watch it with redis-cli -p <port>\n"+
		"claim <c1> submitted (v1) as <id1>\n"+
		"EVALSHA <sha> claim_id <uuid1> event_id <uuid2> occurred_at <time>\n"+
		"<id1>  claim.submitted  <c1>  v1  <time>\n"+
		"claim <c3> assigned (v2) as <id2>\n", normalizeTranscript(in))
}
