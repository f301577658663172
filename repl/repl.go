// Package repl is the interactive loop of claimsctl: it reads Lua chunks
// (several lines when a chunk is unfinished), hands them to an Evaluator,
// prints the value or the error, and after every chunk shows what the chunk
// did to the streams (the state view).
//
// It knows nothing of Lua or Redis: the Evaluator and the State function are
// given by the caller, which is what lets the tests drive it with fakes.
//
// It may import streams/streamview, streams/claims, streams/redisconn and
// readline, never luaapi: main hands it the Lua runtime as an Evaluator.
package repl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"

	"claimsctl/streams/redisconn"
	"claimsctl/streams/streamview"
)

// Prompts. The continuation prompt is short so a continued line starts
// where a student expects to keep typing.
const (
	PromptPrimary      = "claims> "
	PromptContinuation = ">> "
)

// Evaluator runs one chunk of Lua. Implemented by luaapi; the REPL only needs this.
type Evaluator interface {
	// Eval runs chunk and returns what it printed as its value (may be ""),
	// or an error. It must stop soon after ctx is cancelled (that is how
	// Ctrl-C stops a chunk), and it must run nothing of a chunk that does
	// not compile: the REPL calls it again with the longer chunk while the
	// chunk is Incomplete.
	Eval(ctx context.Context, chunk string) (string, error)
	// Incomplete reports whether err means the chunk is unfinished (continue on the next line).
	Incomplete(err error) bool
	// Completions lists what Tab offers, as typed: global names
	// ("submit", "c"), fields of global tables ("string.format",
	// "c.status") and methods of global strings ("s:upper"); a string
	// literal's methods are the names under "string.". Called between
	// chunks, never while one runs, so it may read the evaluator's state;
	// keep it bounded (a few hundred names), it is kept until the next.
	Completions() []string
}

// Options configure Run. Only Eval is required.
type Options struct {
	In  io.Reader // the user's input; in interactive mode a terminal (see Interactive)
	Out io.Writer // values, errors and the state view, in the order they happen
	Err io.Writer // readline's own messages; nil discards them
	// Errors is where the banner and the errors of chunks go; nil means
	// Out, next to the command that caused them. A piped REPL's caller
	// sets stderr, so its stdout holds only values and views.
	Errors io.Writer

	// Interactive means In is a terminal: a readline prompt with history and
	// Tab completion. When In has an Fd method and that descriptor is a
	// terminal, it is put in raw mode while a line is edited; otherwise
	// (a test feeding a pipe) the terminal modes are left alone.
	// False: lines are read from In with no prompt, no colour, no readline,
	// so a piped transcript is plain text in the order it happened.
	Interactive bool

	// Color highlights what changed in the state view and errors. Decided
	// once by main (stdout is a TTY and NO_COLOR is unset); ignored when not
	// Interactive.
	Color bool

	// HistoryFile is where readline keeps the history ("" = no history).
	HistoryFile string

	// Eval runs the chunks.
	Eval Evaluator

	// State is the source of the state view, read after every chunk; nil
	// means no view. It is called with a redisconn.Untraced context: the
	// view is not the student's command, so trace(true) does not show it.
	State func(ctx context.Context) (*streamview.State, error)

	// Banner is printed once at start (connection line + "type help() ...").
	Banner string

	// Background, if set, is called once in interactive mode with a writer
	// that prints above the prompt and redraws it, for output that arrives
	// while the student is typing (background workers' log lines).
	Background func(w io.Writer)

	// Interrupts carries Ctrl-C: main feeds it from os/signal (SIGINT),
	// since only main touches os; a buffered channel of one is enough.
	//
	// Interactive: an interrupt cancels the chunk that is running (and the
	// state view after it), and only it; the REPL carries on. One that
	// arrives while nothing runs is dropped: at the prompt the terminal is
	// in raw mode, Ctrl-C is a key, and readline discards the line itself.
	//
	// Not interactive: there is no prompt to come back to, so an interrupt
	// cancels the running chunk and ends the run; Run returns
	// ErrInterrupted (main's exit code 130).
	//
	// nil: chunks stop only when ctx is cancelled.
	Interrupts <-chan struct{}
}

// ErrInterrupted is returned by Run when an interrupt ended a
// non-interactive run (see Options.Interrupts).
var ErrInterrupted = errors.New("interrupted")

// CommandsFailed is returned by a non-interactive Run that read its input
// to the end with N chunks that failed, so a piped session's exit code
// says so; each error was printed as it happened.
type CommandsFailed struct{ N int }

func (e *CommandsFailed) Error() string {
	if e.N == 1 {
		return "1 command failed"
	}
	return fmt.Sprintf("%d commands failed", e.N)
}

// Run reads chunks until EOF / Ctrl-D / `exit` / `quit`, returns nil then.
// Errors of a chunk are printed and never end the loop. If ctx is
// cancelled Run returns ctx.Err(), and ErrInterrupted when an interrupt
// ended a non-interactive run; any other error is a failure to read input
// or to start readline.
//
// The state view is printed once at start, after the banner, so that the
// first chunk's view can show its deltas against where the session began.
func Run(ctx context.Context, o Options) error {
	if o.Eval == nil {
		return errors.New("repl: no evaluator")
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Err == nil {
		o.Err = io.Discard
	}
	if o.Errors == nil {
		o.Errors = o.Out
	}
	if !o.Interactive {
		o.Color = false
	}
	if !o.Interactive && o.Interrupts != nil {
		// The whole run is the unit that Ctrl-C stops; the cause tells
		// main it was the user, not a shutdown.
		var cancel context.CancelCauseFunc
		ctx, cancel = context.WithCancelCause(ctx)
		defer cancel(nil)
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			select {
			case <-o.Interrupts:
				cancel(ErrInterrupted)
			case <-stop:
			}
		}()
	}
	s := &session{o: o}
	s.refreshCompletions()

	var (
		src lineSource
		err error
	)
	if o.Interactive {
		src, err = newReadlineSource(ctx, o, s.completer())
	} else {
		src = newScannerSource(o.In)
	}
	if err != nil {
		return err
	}
	defer src.close()

	if o.Banner != "" {
		fmt.Fprintln(o.Errors, strings.TrimRight(o.Banner, "\n"))
	}
	s.view(ctx)
	if err := s.loop(ctx, src); err != nil {
		return err
	}
	if !o.Interactive && s.failed > 0 {
		return &CommandsFailed{N: s.failed}
	}
	return nil
}

// errLineDropped is a line source reporting Ctrl-C at the prompt.
var errLineDropped = errors.New("line given up")

// lineSource is where lines come from: readline on a terminal, a scanner
// on a pipe. readLine returns io.EOF at the end and errLineDropped when
// the user gave up the line (Ctrl-C).
type lineSource interface {
	readLine(ctx context.Context, prompt string) (string, error)
	// remember keeps the lines of an entered chunk in the history.
	remember(lines []string)
	close()
}

// session is the state of one Run: the previous view (to show what
// changed) and the names offered on Tab.
type session struct {
	o      Options
	prev   *streamview.State
	names  atomic.Pointer[[]string]
	failed int // chunks that ended in an error
}

// loop accumulates lines into a chunk until the evaluator no longer calls
// it incomplete, then reports it.
func (s *session) loop(ctx context.Context, src lineSource) error {
	var (
		pending []string // lines of an unfinished chunk
		lastErr error    // why the pending chunk is unfinished
	)
	for {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		prompt := PromptPrimary
		if len(pending) > 0 {
			prompt = PromptContinuation
		}
		line, err := src.readLine(ctx, prompt)
		if ctx.Err() != nil {
			// Closing the input to stop readline may hand back a partial
			// line: it was not entered, so it is not run.
			return context.Cause(ctx)
		}
		switch {
		case errors.Is(err, errLineDropped):
			// The lines entered before Ctrl-C stay in the history, so the
			// chunk can be brought back and finished.
			if len(pending) > 0 {
				src.remember(pending)
			}
			pending, lastErr = nil, nil
			continue
		case errors.Is(err, io.EOF):
			if len(pending) > 0 {
				// The input ended inside a chunk: say why it is unfinished
				// (the evaluator's syntax error), as a script runner would.
				s.report("", fmt.Errorf("input ended inside a chunk: %w", lastErr))
				s.view(ctx)
			}
			return nil
		case err != nil:
			return err
		}

		if len(pending) == 0 {
			switch strings.TrimSpace(line) {
			case "":
				continue
			case "exit", "quit", "exit()", "quit()":
				src.remember([]string{line})
				return nil
			}
		} else if strings.TrimSpace(line) == "" {
			// A blank line cannot finish a chunk; keep it for the line
			// numbers of errors and wait for more.
			pending = append(pending, line)
			continue
		}
		pending = append(pending, line)

		var val string
		s.interruptible(ctx, func(ctx context.Context) {
			val, err = s.o.Eval.Eval(ctx, strings.Join(pending, "\n"))
		})
		if err != nil && s.o.Eval.Incomplete(err) {
			lastErr = err
			continue
		}
		src.remember(pending)
		pending, lastErr = nil, nil
		s.report(val, err)
		s.refreshCompletions()
		s.view(ctx)
	}
}

// report prints a chunk's value or error (to Errors).
func (s *session) report(val string, err error) {
	if val != "" {
		fmt.Fprint(s.o.Out, val)
		if !strings.HasSuffix(val, "\n") {
			fmt.Fprintln(s.o.Out)
		}
	}
	if err != nil {
		s.failed++
		s.printError(err)
	}
}

func (s *session) printError(err error) {
	msg := strings.TrimRight(err.Error(), "\n")
	if s.o.Color {
		fmt.Fprintf(s.o.Errors, "\x1b[1;31merror:\x1b[0m %s\n", msg)
		return
	}
	fmt.Fprintf(s.o.Errors, "error: %s\n", msg)
}

// view prints the state view and remembers it for the next diff. A failed
// read is reported like a chunk's error and leaves the previous snapshot
// in place, so the next view still diffs against what was last shown.
func (s *session) view(ctx context.Context) {
	if s.o.State == nil {
		return
	}
	var (
		st  *streamview.State
		err error
	)
	s.interruptible(ctx, func(ctx context.Context) { st, err = s.o.State(redisconn.Untraced(ctx)) })
	if err != nil {
		if ctx.Err() == nil {
			s.printError(fmt.Errorf("state view: %w", err))
		}
		return
	}
	fmt.Fprint(s.o.Out, RenderState(s.prev, st, s.o.Color))
	s.prev = st
}

// interruptible runs fn with a context of its own that an interrupt
// cancels, so Ctrl-C stops this chunk and the REPL carries on.
func (s *session) interruptible(ctx context.Context, fn func(context.Context)) {
	ints := s.o.Interrupts
	if !s.o.Interactive || ints == nil {
		fn(ctx)
		return
	}
	// An interrupt that arrived while nothing ran is stale: it must not
	// cancel the chunk the user typed after it.
	for drained := false; !drained; {
		select {
		case <-ints:
		default:
			drained = true
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ints:
			cancel()
		case <-done:
		}
	}()
	fn(cctx)
}

// refreshCompletions asks the evaluator for its names between chunks, on
// the REPL's own goroutine: readline calls the completer from its own
// goroutine, and an evaluator (one Lua state) is not safe to call from two.
func (s *session) refreshCompletions() {
	names := sortedUnique(s.o.Eval.Completions())
	s.names.Store(&names)
}
