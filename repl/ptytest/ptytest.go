//go:build linux

// Package ptytest opens pseudo-terminals for tests that drive claimsctl
// as a person at a terminal does (the REPL's line editing, Ctrl-C, Ctrl-D).
//
// It is for tests only and imports nothing of claimsctl.
package ptytest

import (
	"fmt"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// Open opens a pseudo-terminal of 24 rows and 100 columns: ptmx is the
// user's side, tty the terminal the program runs on. Both close at t's
// cleanup. (github.com/creack/pty does the same; these three ioctls are
// all it would do on Linux, and it would put the master in blocking mode.)
func Open(t testing.TB) (ptmx, tty *os.File) {
	t.Helper()
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("ptytest: open /dev/ptmx: %v", err)
	}
	var n int
	// Control, not Fd: Fd would put the master in blocking mode, and
	// closing it would then wait for the reader instead of ending it.
	raw, err := ptmx.SyscallConn()
	if err == nil {
		cerr := raw.Control(func(fd uintptr) {
			if err = unix.IoctlSetPointerInt(int(fd), unix.TIOCSPTLCK, 0); err != nil {
				return
			}
			if n, err = unix.IoctlGetInt(int(fd), unix.TIOCGPTN); err != nil {
				return
			}
			err = unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, &unix.Winsize{Row: 24, Col: 100})
		})
		if err == nil {
			err = cerr
		}
	}
	if err != nil {
		ptmx.Close()
		t.Fatalf("ptytest: set up the pty: %v", err)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		ptmx.Close()
		t.Fatalf("ptytest: open /dev/pts/%d: %v", n, err)
	}
	t.Cleanup(func() {
		ptmx.Close()
		tty.Close()
	})
	return ptmx, tty
}
