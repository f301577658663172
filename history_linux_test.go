package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
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

// screen collects what the terminal shows.
type screen struct {
	mu   sync.Mutex
	seen bytes.Buffer
	more chan struct{}
}

func watch(r io.Reader) *screen {
	s := &screen{more: make(chan struct{}, 1)}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := r.Read(buf)
			s.mu.Lock()
			s.seen.Write(buf[:n])
			s.mu.Unlock()
			select {
			case s.more <- struct{}{}:
			default:
			}
			if err != nil {
				return
			}
		}
	}()
	return s
}

// await waits until the screen has shown want; the deadline only turns a
// hang into a failure.
func (s *screen) await(t *testing.T, want string) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		s.mu.Lock()
		seen := s.seen.String()
		s.mu.Unlock()
		if strings.Contains(seen, want) {
			return
		}
		select {
		case <-s.more:
		case <-deadline:
			t.Fatalf("timed out waiting for %q; the screen:\n%q", want, seen)
		}
	}
}

// TestHistoryIsPrivate runs the REPL on a terminal, as a user does, and
// checks that the history, which holds what was typed (a password, here),
// is for its owner only: a new file, and one an older claimsctl left
// readable.
func TestHistoryIsPrivate(t *testing.T) {
	t.Parallel()
	for _, old := range []bool{false, true} {
		t.Run(fmt.Sprintf("existing file %v", old), func(t *testing.T) {
			t.Parallel()
			config := t.TempDir()
			dir := filepath.Join(config, "claimsctl")
			history := filepath.Join(dir, "history")
			if old {
				require.NoError(t, os.MkdirAll(dir, 0o755))
				require.NoError(t, os.WriteFile(history, []byte("print(1)\n"), 0o644))
				require.NoError(t, os.Chmod(dir, 0o755)) // whatever the umask
				require.NoError(t, os.Chmod(history, 0o644))
			}
			ptmx, tty := ptytest.Open(t)
			cmd := exec.Command(binary, "--embedded")
			cmd.Env = append(cleanEnv(), "XDG_CONFIG_HOME="+config, "NO_COLOR=1")
			cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
			cmd.SysProcAttr = &unix.SysProcAttr{Setsid: true, Setctty: true}
			require.NoError(t, cmd.Start())
			screen := watch(ptmx)
			screen.await(t, "claims> ")
			_, err := io.WriteString(ptmx, `redis("AUTH", "hist-pw")`+"\r")
			require.NoError(t, err)
			screen.await(t, "error: ")
			_, err = io.WriteString(ptmx, "\x04") // Ctrl-D
			require.NoError(t, err)
			require.NoError(t, cmd.Wait())

			raw, err := os.ReadFile(history)
			require.NoError(t, err)
			assert.Contains(t, string(raw), `redis("AUTH", "hist-pw")`, "the history was kept")
			fi, err := os.Stat(history)
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "history file")
			di, err := os.Stat(dir)
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o700), di.Mode().Perm(), "its folder")
		})
	}
}
