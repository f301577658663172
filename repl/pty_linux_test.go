package repl

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"claimsctl/repl/ptytest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// terminal is the user's side of a pty: what they type and what they see.
type terminal struct {
	t      *testing.T
	ptmx   *os.File
	mu     sync.Mutex
	seen   strings.Builder
	cursor int           // what expect has consumed
	more   chan struct{} // a read arrived
}

func newTerminal(t *testing.T) (*terminal, *os.File) {
	t.Helper()
	ptmx, tty := ptytest.Open(t)
	term := &terminal{t: t, ptmx: ptmx, more: make(chan struct{}, 1)}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			term.mu.Lock()
			term.seen.Write(buf[:n])
			term.mu.Unlock()
			select {
			case term.more <- struct{}{}:
			default:
			}
			if err != nil {
				return
			}
		}
	}()
	// Closing the master ends the slave's reads too (EIO), so no reader
	// is left behind.
	t.Cleanup(func() {
		ptmx.Close()
		tty.Close()
	})
	return term, tty
}

// expect waits until the screen shows want after what was already
// expected. The deadline only turns a hang into a failure.
func (term *terminal) expect(want string) {
	term.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		term.mu.Lock()
		s := term.seen.String()
		i := strings.Index(s[term.cursor:], want)
		if i >= 0 {
			term.cursor += i + len(want)
		}
		term.mu.Unlock()
		if i >= 0 {
			return
		}
		select {
		case <-term.more:
		case <-deadline:
			term.t.Fatalf("timed out waiting for %q; screen since last match:\n%q", want, s[term.cursor:])
		}
	}
}

// since is what the screen showed after the last match.
func (term *terminal) since(mark int) string {
	term.mu.Lock()
	defer term.mu.Unlock()
	return term.seen.String()[mark:]
}

func (term *terminal) mark() int {
	term.mu.Lock()
	defer term.mu.Unlock()
	return term.cursor
}

func (term *terminal) typeIn(s string) {
	term.t.Helper()
	_, err := io.WriteString(term.ptmx, s)
	require.NoError(term.t, err)
}

func TestRunOnPty(t *testing.T) {
	term, tty := newTerminal(t)
	store := &fakeStore{}
	ev := &fakeEval{store: store, started: make(chan struct{})}
	interrupts := make(chan struct{})
	history := filepath.Join(t.TempDir(), "history")

	before := termios(t, tty)
	done := make(chan error, 1)
	go func() {
		done <- Run(context.Background(), Options{
			In: tty, Out: tty, Err: tty,
			Interactive: true,
			HistoryFile: history,
			Eval:        ev,
			State:       store.state,
			Banner:      "connected to test",
			Interrupts:  interrupts,
		})
	}()

	// Each input is typed only once the prompt shows: readline has put
	// the terminal in raw mode by then, so keys reach it as keys.
	term.expect("connected to test\r\n  (no streams yet)\r\n")
	term.expect("claims> ")
	term.typeIn("1+1\r")
	term.expect("2\r\n  (no change)\r\n")
	term.expect("claims> ")

	// A multi-line chunk with the continuation prompt.
	term.typeIn("for i = 1, 2 do\r")
	term.expect(">> ")
	term.typeIn("end\r")
	term.expect("loop of 2 lines\r\n")
	term.expect("claims> ")

	// Up brings the whole chunk back, on one line, and it runs as one.
	term.typeIn(keyUp)
	term.expect("for i = 1, 2 do end")
	term.typeIn("\r")
	term.expect("loop of 1 lines\r\n")
	term.expect("claims> ")

	// Ctrl-C at the prompt gives the line up.
	term.typeIn("fail")
	term.expect("fail")
	term.typeIn("\x03")
	term.expect("^C")
	term.expect("claims> ")

	// Ctrl-C in a continuation gives the whole chunk up; what was
	// entered of it can be brought back with Up and finished.
	term.typeIn("while x do\r")
	term.expect(">> ")
	term.typeIn("\x03")
	term.expect("claims> ")
	term.typeIn(keyUp)
	term.expect("while x do")
	term.typeIn("\r")
	term.expect(">> ")
	term.typeIn("end\r")
	term.expect("loop of 2 lines\r\n")
	term.expect("claims> ")

	// Tab completes the one API name that fits, a module's function and
	// a string literal's method.
	term.typeIn("subm\t")
	term.expect("submit")
	term.typeIn("\x03")
	term.expect("claims> ")
	term.typeIn("string.fo\t")
	term.expect("string.format")
	term.typeIn("\x03")
	term.expect("claims> ")
	term.typeIn(`("%d"):up` + "\t")
	term.expect(`("%d"):upper`)
	term.typeIn("\x03")
	term.expect("claims> ")

	// An interrupt while a chunk runs cancels that chunk only.
	term.typeIn("block\r")
	<-ev.started
	interrupts <- struct{}{}
	term.expect("error: <string>:1: context canceled\r\n")
	term.expect("claims> ")
	term.typeIn("add\r")
	term.expect("added\r\n")
	term.expect("claims:events   len 1")
	term.expect("claims> ")

	// What a chunk defined completes from the next prompt on.
	term.typeIn("added_c\t")
	term.expect("added_claim")
	term.typeIn("\x03")
	term.expect("claims> ")

	// Ctrl-D leaves.
	mark := term.mark()
	term.typeIn("\x04")
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatalf("Run did not return after Ctrl-D; screen: %q", term.since(mark))
	}

	assert.Equal(t, before.Lflag, termios(t, tty).Lflag, "the terminal is back in cooked mode")

	assert.Equal(t, []string{
		"1+1",
		"for i = 1, 2 do", "for i = 1, 2 do\nend",
		"for i = 1, 2 do end",
		"while x do",
		"while x do", "while x do\nend",
		"block",
		"add",
	}, ev.seen(), "given-up lines are never evaluated")

	// One entry a chunk: the one recalled and run again is not repeated,
	// and the one finished after Up is saved whole, not as its last line.
	saved, err := os.ReadFile(history)
	require.NoError(t, err)
	assert.Equal(t, "1+1\nfor i = 1, 2 do end\nwhile x do\nwhile x do end\nblock\nadd\n", string(saved))
}

// keyUp is the Up arrow as a terminal sends it.
const keyUp = "\x1b[A"

func TestRunOnPtyCancelled(t *testing.T) {
	term, tty := newTerminal(t)
	ev := &fakeEval{store: &fakeStore{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{In: tty, Out: tty, Err: tty, Interactive: true, Eval: ev})
	}()

	term.expect("claims> ")
	term.typeIn("1+1")
	term.expect("1+1")
	// A shutdown (SIGTERM in main) while the user is typing: Run returns
	// at once and the half-typed line is not run.
	cancel()
	select {
	case err := <-done:
		assert.ErrorIs(t, err, context.Canceled)
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after ctx was cancelled")
	}
	assert.Empty(t, ev.seen())
}

func termios(t *testing.T, f *os.File) *unix.Termios {
	t.Helper()
	raw, err := f.SyscallConn()
	require.NoError(t, err)
	var tio *unix.Termios
	require.NoError(t, raw.Control(func(fd uintptr) {
		tio, err = unix.IoctlGetTermios(int(fd), unix.TCGETS)
	}))
	require.NoError(t, err)
	return tio
}
