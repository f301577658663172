package repl

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/chzyer/readline"
)

// maxLine is the longest input line accepted from a pipe: generous, so a
// generated script with a long table literal on one line still runs.
const maxLine = 16 << 20

// scannerSource reads lines from a pipe. The scanner runs on a goroutine
// of its own so that a cancelled ctx ends Run at once even while the
// read is blocked (a pipe from a process that is still running).
type scannerSource struct {
	lines chan scanned
	done  chan struct{}
}

type scanned struct {
	line string
	err  error
}

func newScannerSource(r io.Reader) *scannerSource {
	if r == nil {
		r = strings.NewReader("")
	}
	s := &scannerSource{lines: make(chan scanned), done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), maxLine)
		for sc.Scan() {
			// A script saved on Windows keeps working.
			line := strings.TrimSuffix(sc.Text(), "\r")
			select {
			case s.lines <- scanned{line: line}:
			case <-s.done:
				return
			}
		}
		err := io.EOF
		if sc.Err() != nil {
			err = fmt.Errorf("read input: %w", sc.Err())
		}
		select {
		case s.lines <- scanned{err: err}:
		case <-s.done:
		}
	}()
	return s
}

func (s *scannerSource) readLine(ctx context.Context, _ string) (string, error) {
	select {
	case l := <-s.lines:
		return l.line, l.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func (s *scannerSource) close() { close(s.done) }

// A pipe keeps no history.
func (s *scannerSource) remember([]string) {}

// readlineSource reads lines from a terminal with chzyer/readline.
type readlineSource struct {
	rl    *readline.Instance
	stdin *readline.CancelableStdin
	stop  func() bool
	color bool
}

// fder is a file that has a descriptor, like *os.File; the REPL asks for
// it instead of importing os, which only main touches.
type fder interface{ Fd() uintptr }

// terminalFd is the descriptor of r if it is a terminal, else -1.
func terminalFd(r any) int {
	f, ok := r.(fder)
	if !ok {
		return -1
	}
	fd := int(f.Fd())
	if !readline.IsTerminal(fd) {
		return -1
	}
	return fd
}

// newReadlineSource sets readline up on o.In and o.Out rather than on the
// process's stdin and stdout (readline's defaults), so that a test can
// hand it the two ends of a pty and main hands it os.Stdin and os.Stdout.
func newReadlineSource(ctx context.Context, o Options, ac readline.AutoCompleter) (*readlineSource, error) {
	if o.In == nil {
		return nil, errors.New("repl: interactive mode needs an input")
	}
	// readline's own Close does not reach a reader it did not create; a
	// CancelableStdin we hold can be closed to end a blocked read.
	stdin := readline.NewCancelableStdin(o.In)
	raw := &rawMode{fd: terminalFd(o.In)}
	outFd := terminalFd(o.Out)
	prompt := PromptPrimary
	if o.Color {
		prompt = colorPrompt(prompt)
	}
	cfg := &readline.Config{
		Prompt:            prompt,
		HistoryFile:       o.HistoryFile,
		HistorySearchFold: true,
		// The session saves a chunk as one entry (remember), not each line.
		DisableAutoSaveHistory: true,
		AutoComplete:           ac,
		Stdin:                  stdin,
		Stdout:                 o.Out,
		Stderr:                 o.Err,
		// The caller decided this is a terminal; readline's own check
		// looks at the process's fds 0 and 1, which are not ours to judge.
		FuncIsTerminal: func() bool { return true },
		FuncMakeRaw:    raw.enter,
		FuncExitRaw:    raw.exit,
		FuncGetWidth:   func() int { return width(outFd, raw.fd) },
	}
	rl, err := readline.NewEx(cfg)
	if err != nil {
		stdin.Close()
		return nil, fmt.Errorf("start line editor: %w", err)
	}
	if o.Background != nil {
		o.Background(rl.Stdout())
	}
	return &readlineSource{
		rl:    rl,
		stdin: stdin,
		// Cancelling ctx ends a read that is waiting for a key.
		stop:  context.AfterFunc(ctx, func() { stdin.Close() }),
		color: o.Color,
	}, nil
}

func (r *readlineSource) readLine(_ context.Context, prompt string) (string, error) {
	if r.color {
		prompt = colorPrompt(prompt)
	}
	r.rl.SetPrompt(prompt)
	line, err := r.rl.Readline()
	if errors.Is(err, readline.ErrInterrupt) {
		// readline hands back the partial line with ErrInterrupt: it is
		// given up, not entered.
		return "", errLineDropped
	}
	if err == nil && line != "" {
		// With auto-save off, readline's history cursor stays on an
		// entry recalled with Up, and its next SaveHistory would store
		// that entry's edited text instead of the chunk (readline
		// v1.5.1, opHistory.New). Saving "" moves the cursor back to the
		// end and writes nothing; it needs the entry that typing the
		// line made, hence only after a line that is not empty.
		_ = r.rl.SaveHistory("")
	}
	return line, err
}

// remember saves an entered chunk as one history entry, so Up brings the
// whole chunk back, on one line. Lines are joined with a space, which
// means the same to Lua, unless a line may hold a comment or a long
// string (there a newline ends or is part of something): such a chunk
// is saved line by line, as typed. An IO error only loses the entry.
func (r *readlineSource) remember(lines []string) {
	for _, entry := range historyEntries(lines) {
		_ = r.rl.SaveHistory(entry)
	}
}

func historyEntries(lines []string) []string {
	var kept []string
	for _, l := range lines {
		if strings.Contains(l, "--") || strings.Contains(l, "[[") || strings.Contains(l, "[=") ||
			strings.HasSuffix(l, "\\") {
			return lines
		}
		if l = strings.TrimSpace(l); l != "" {
			kept = append(kept, l)
		}
	}
	if len(kept) == 0 {
		return nil
	}
	return []string{strings.Join(kept, " ")}
}

func (r *readlineSource) close() {
	r.stop()
	r.stdin.Close()
	r.rl.Close()
}

// colorPrompt makes the prompt stand out from the output around it.
func colorPrompt(p string) string {
	return "\x1b[1;36m" + strings.TrimRight(p, " ") + "\x1b[0m "
}

// rawMode puts the input terminal in raw mode while a line is edited, and
// back in cooked mode while a chunk runs, so that Ctrl-C there is a
// SIGINT (which main turns into Options.Interrupts). fd -1: not a
// terminal, nothing to do.
type rawMode struct {
	fd    int
	state *readline.State
}

func (r *rawMode) enter() error {
	if r.fd < 0 {
		return nil
	}
	st, err := readline.MakeRaw(r.fd)
	if err != nil {
		return err
	}
	r.state = st
	return nil
}

func (r *rawMode) exit() error {
	if r.fd < 0 || r.state == nil {
		return nil
	}
	return readline.Restore(r.fd, r.state)
}

// width is the terminal's width, or 80 when neither end is a terminal.
func width(fds ...int) int {
	for _, fd := range fds {
		if fd < 0 {
			continue
		}
		if w, _, err := readline.GetSize(fd); err == nil && w > 0 {
			return w
		}
	}
	return 80
}
