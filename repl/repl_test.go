package repl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"claimsctl/streams/streamview"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var errIncomplete = errors.New("<string> line 1: unexpected EOF (expected 'end')")

// fakeEval is a test double of the Lua evaluator: it knows a few chunks,
// calls a chunk with "do" and no "end" incomplete, and appends to a fake
// stream on "add" so the state view has something to show.
type fakeEval struct {
	mu      sync.Mutex
	chunks  []string      // every chunk Eval saw, complete or not
	store   *fakeStore    // "add" appends to it
	started chan struct{} // "block" reports that it runs
}

func (f *fakeEval) Eval(ctx context.Context, chunk string) (string, error) {
	f.mu.Lock()
	f.chunks = append(f.chunks, chunk)
	f.mu.Unlock()
	switch {
	case strings.Contains(chunk, "do") && !strings.Contains(chunk, "end"):
		return "", errIncomplete
	case strings.HasPrefix(chunk, "for"), strings.HasPrefix(chunk, "while"):
		return fmt.Sprintf("loop of %d lines", strings.Count(chunk, "\n")+1), nil
	case chunk == "1+1":
		return "2", nil
	case chunk == "print2":
		return "a\nb\n", nil
	case chunk == "nothing":
		return "", nil
	case chunk == "fail":
		return "", errors.New("<string>:1: boom")
	case chunk == "add":
		f.store.add()
		return "added", nil
	case chunk == "block":
		f.started <- struct{}{}
		<-ctx.Done()
		return "", fmt.Errorf("<string>:1: %w", ctx.Err())
	}
	return "", fmt.Errorf("fake: unknown chunk %q", chunk)
}

func (f *fakeEval) Incomplete(err error) bool { return errors.Is(err, errIncomplete) }

// Completions has a name that "add" defines, as a chunk that sets a
// global does.
func (f *fakeEval) Completions() []string {
	names := []string{"submit", "start", "stop", "consume", "claim", "claim", "help",
		"c", "c.id", "c.status", "c.stream", "s", "s:format", "s:upper",
		"string", "string.format", "string.upper", "table", "table.insert"}
	if f.store != nil && f.store.len() > 0 {
		names = append(names, "added_claim")
	}
	return names
}

func (f *fakeEval) seen() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.chunks...)
}

// fakeStore is the state view source: claims:events with one group.
type fakeStore struct {
	mu     sync.Mutex
	length int64
}

func (s *fakeStore) add() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.length++
}

func (s *fakeStore) len() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.length
}

func (s *fakeStore) state(context.Context) (*streamview.State, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.length == 0 {
		return snapshot(), nil
	}
	return snapshot(events(s.length, fmt.Sprintf("1-%d", s.length-1), group("processors", 0, s.length))), nil
}

// runPiped runs the REPL on input as a pipe would feed it.
func runPiped(t *testing.T, input string) (string, *fakeEval) {
	t.Helper()
	store := &fakeStore{}
	ev := &fakeEval{store: store}
	var out, errOut strings.Builder
	err := Run(context.Background(), Options{
		In:     strings.NewReader(input),
		Out:    &out,
		Err:    &errOut,
		Eval:   ev,
		State:  store.state,
		Banner: "connected to embedded redis\ntype help() for help",
	})
	if failed := strings.Count(out.String(), "error: "); failed > 0 {
		assert.Equal(t, &CommandsFailed{N: failed}, err, "a piped run with failed chunks says how many")
	} else {
		require.NoError(t, err)
	}
	assert.Empty(t, errOut.String())
	return out.String(), ev
}

func TestRunTranscript(t *testing.T) {
	t.Parallel()
	out, _ := runPiped(t, "1+1\nadd\nadd\n1+1\nfail\nprint2\nnothing\n")
	assert.Equal(t, lines(
		"connected to embedded redis",
		"type help() for help",
		"  (no streams yet)",
		"2",
		"  (no change)",
		"added",
		"* claims:events   len 1  last 1-0  (new)",
		"*   processors    pending 0  lag 1  consumers -  (new)",
		"added",
		"* claims:events   len 2 (+1)  last 1-1",
		"*   processors    pending 0  lag 2 (+1)  consumers -",
		"2",
		"  (no change)",
		"error: <string>:1: boom",
		"  (no change)",
		"a",
		"b",
		"  (no change)",
		"  (no change)",
	), out)
}

func TestRunMultiLine(t *testing.T) {
	t.Parallel()
	out, ev := runPiped(t, "for i = 1, 3 do\n  x = i\n\nend\n1+1\n")
	assert.Equal(t, []string{
		"for i = 1, 3 do",
		"for i = 1, 3 do\n  x = i",
		// the blank line is kept but not evaluated on its own
		"for i = 1, 3 do\n  x = i\n\nend",
		"1+1",
	}, ev.seen())
	assert.Contains(t, out, "loop of 4 lines\n  (no change)\n2\n")
	assert.NotContains(t, out, "error")
}

func TestRunErrorsDoNotEnd(t *testing.T) {
	t.Parallel()
	out, ev := runPiped(t, "fail\nbogus\n1+1\n")
	assert.Equal(t, []string{"fail", "bogus", "1+1"}, ev.seen())
	assert.Contains(t, out, "error: <string>:1: boom\n  (no change)\n")
	assert.Contains(t, out, "error: fake: unknown chunk \"bogus\"\n  (no change)\n2\n")
}

// TestRunPipedFailures: a piped run says how many chunks failed (main's
// exit code), and with Errors set the banner and errors go there, the
// values and views to Out.
func TestRunPipedFailures(t *testing.T) {
	t.Parallel()
	var out, errs strings.Builder
	err := Run(context.Background(), Options{
		In: strings.NewReader("fail\n1+1\nbogus\n"), Out: &out, Errors: &errs,
		Eval: &fakeEval{}, Banner: "connected",
	})
	assert.Equal(t, &CommandsFailed{N: 2}, err)
	assert.EqualError(t, err, "2 commands failed")
	assert.Equal(t, "2\n", out.String())
	assert.Equal(t, "connected\nerror: <string>:1: boom\nerror: fake: unknown chunk \"bogus\"\n", errs.String())

	err = Run(context.Background(), Options{In: strings.NewReader("1+1\n"), Out: &out, Eval: &fakeEval{}})
	assert.NoError(t, err, "no failure, no error")
}

func TestRunExit(t *testing.T) {
	t.Parallel()
	for _, word := range []string{"exit", "quit", "  exit  ", "quit()"} {
		t.Run(word, func(t *testing.T) {
			t.Parallel()
			_, ev := runPiped(t, "1+1\n"+word+"\n1+1\n")
			assert.Equal(t, []string{"1+1"}, ev.seen())
		})
	}
}

func TestRunExitInsideChunkIsLua(t *testing.T) {
	t.Parallel()
	_, ev := runPiped(t, "while x do\nexit\nend\n")
	assert.Equal(t, []string{"while x do", "while x do\nexit", "while x do\nexit\nend"}, ev.seen())
}

func TestRunEOFInsideChunk(t *testing.T) {
	t.Parallel()
	out, _ := runPiped(t, "1+1\nfor i = 1, 2 do\n  x = i\n")
	assert.True(t, strings.HasSuffix(out, "2\n  (no change)\nerror: input ended inside a chunk: "+errIncomplete.Error()+"\n  (no change)\n"), out)
}

func TestRunWithoutStateView(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	err := Run(context.Background(), Options{
		In:   strings.NewReader("1+1\r\nfail\n"),
		Out:  &out,
		Eval: &fakeEval{},
	})
	assert.Equal(t, &CommandsFailed{N: 1}, err)
	assert.Equal(t, "2\nerror: <string>:1: boom\n", out.String())
}

func TestRunStateViewError(t *testing.T) {
	t.Parallel()
	store := &fakeStore{}
	calls := 0
	var out strings.Builder
	err := Run(context.Background(), Options{
		In:   strings.NewReader("add\nadd\n"),
		Out:  &out,
		Eval: &fakeEval{store: store},
		State: func(ctx context.Context) (*streamview.State, error) {
			calls++
			if calls == 2 {
				return nil, errors.New("connection refused")
			}
			return store.state(ctx)
		},
	})
	require.NoError(t, err)
	// The failed view leaves the last shown one as the base of the next diff.
	assert.Equal(t, lines(
		"  (no streams yet)",
		"added",
		"error: state view: connection refused",
		"added",
		"* claims:events   len 2  last 1-1  (new)",
		"*   processors    pending 0  lag 2  consumers -  (new)",
	), out.String())
}

func TestRunLongLine(t *testing.T) {
	t.Parallel()
	long := "x = '" + strings.Repeat("a", 1<<20) + "'"
	_, ev := runPiped(t, long+"\n")
	assert.Equal(t, []string{long}, ev.seen())
}

func TestRunCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	in, w := io.Pipe()
	t.Cleanup(func() { w.Close() })
	ev := &fakeEval{store: &fakeStore{}}
	var out syncBuffer
	done := make(chan error, 1)
	go func() { done <- Run(ctx, Options{In: in, Out: &out, Eval: ev}) }()

	_, err := io.WriteString(w, "1+1\n") // returns once the REPL has read it
	require.NoError(t, err)
	cancel() // the REPL now waits for a line that never comes
	assert.ErrorIs(t, <-done, context.Canceled)
}

func TestRunPipedInterrupt(t *testing.T) {
	t.Parallel()
	ev := &fakeEval{store: &fakeStore{}, started: make(chan struct{})}
	interrupts := make(chan struct{})
	done := make(chan error, 1)
	var out syncBuffer
	go func() {
		done <- Run(context.Background(), Options{
			In:         strings.NewReader("block\n1+1\n"),
			Out:        &out,
			Eval:       ev,
			Interrupts: interrupts,
		})
	}()
	<-ev.started
	interrupts <- struct{}{}
	// A piped run has no prompt to come back to: Ctrl-C ends it.
	assert.ErrorIs(t, <-done, ErrInterrupted)
	assert.Equal(t, []string{"block"}, ev.seen())
	assert.Equal(t, "error: <string>:1: context canceled\n", out.String())
}

func TestCompleter(t *testing.T) {
	t.Parallel()
	c := completer{names: func() []string { return sortedUnique((&fakeEval{}).Completions()) }}
	tests := []struct {
		line       string
		pos        int
		want       []string
		wantLength int
	}{
		{line: "st", pos: 2, want: []string{"art", "op", "ring"}, wantLength: 2},
		{line: "x = cl", pos: 6, want: []string{"aim"}, wantLength: 2},
		{line: "consume(", pos: 8, want: nil, wantLength: 0},
		{line: "sub + 1", pos: 3, want: []string{"mit"}, wantLength: 3},
		{line: "", pos: 0, want: []string{"c", "claim", "consume", "help", "s", "start", "stop", "string", "submit", "table"}, wantLength: 0},
		{line: "zz", pos: 2, want: nil, wantLength: 2},
		// fields of a global table
		{line: "c.st", pos: 4, want: []string{"atus", "ream"}, wantLength: 2},
		{line: "print(c.", pos: 8, want: []string{"id", "status", "stream"}, wantLength: 0},
		{line: "string.fo", pos: 9, want: []string{"rmat"}, wantLength: 2},
		{line: "table.ins", pos: 9, want: []string{"ert"}, wantLength: 3},
		// methods of a global string, and of a string literal
		{line: "s:up", pos: 4, want: []string{"per"}, wantLength: 2},
		{line: `("%d"):fo`, pos: 9, want: []string{"rmat"}, wantLength: 2},
		{line: `x = 'a':up`, pos: 10, want: []string{"per"}, wantLength: 2},
		// what the names do not cover gets nothing rather than a wrong name
		{line: "c:st", pos: 4, want: nil, wantLength: 2},
		{line: "s.fo", pos: 4, want: nil, wantLength: 2},
		{line: "x.c.st", pos: 6, want: nil, wantLength: 0},
		{line: "f().st", pos: 6, want: nil, wantLength: 0},
		{line: "1.5", pos: 3, want: nil, wantLength: 0},
		// the cursor inside the line completes what is before it
		{line: "c.st = 1", pos: 4, want: []string{"atus", "ream"}, wantLength: 2},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			t.Parallel()
			got, length := c.Do([]rune(tt.line), tt.pos)
			var gotS []string
			for _, g := range got {
				gotS = append(gotS, string(g))
			}
			assert.Equal(t, tt.want, gotS)
			assert.Equal(t, tt.wantLength, length)
		})
	}
}

func TestHistoryEntries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		lines []string
		want  []string
	}{
		{"one line", []string{"1+1"}, []string{"1+1"}},
		{"a chunk is one entry", []string{"for i = 1, 2 do", "  print(i)", "", "end"}, []string{"for i = 1, 2 do print(i) end"}},
		{"a comment would swallow the lines after it", []string{"for i = 1, 2 do -- twice", "end"}, []string{"for i = 1, 2 do -- twice", "end"}},
		{"a long string keeps its newline", []string{"s = [[a", "b]]"}, []string{"s = [[a", "b]]"}},
		{"a level long string too", []string{"s = [==[a", "b]==]"}, []string{"s = [==[a", "b]==]"}},
		{"a string continued after a backslash", []string{`s = "a\`, `b"`}, []string{`s = "a\`, `b"`}},
		{"blank", []string{"  "}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, historyEntries(tt.lines))
		})
	}
}

// syncBuffer is a strings.Builder safe for the REPL's goroutine and the
// test's.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
