package luaapi

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The processes chaos signals: SIGKILL and waiting for the end, and
// what /proc says of a process (its state, its parent, whether
// claimsctl serve runs it).

// killWait bounds how long kill waits for a killed process to be gone.
const killWait = 5 * time.Second

// killWorkerProcess sends SIGKILL to a claimsctl worker process, after
// checking that pid is one (a pid left by a worker long gone may have been
// reused), and waits until it is gone.
func killWorkerProcess(pid int) error {
	args, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return fmt.Errorf("pid %d is not running here (is the worker on another machine?)", pid)
	}
	if !slices.Contains(strings.Split(string(args), "\x00"), "worker") {
		return fmt.Errorf("pid %d is not a claimsctl worker any more (%q): left alone", pid, strings.ReplaceAll(string(args), "\x00", " "))
	}
	return killAndWait(pid)
}

func killAndWait(pid int) error {
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill -9 %d: %w", pid, err)
	}
	deadline := time.Now().Add(killWait)
	for time.Now().Before(deadline) {
		// Gone, or a zombie its parent has yet to reap: dead either way.
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil || procState(string(stat)) == "Z" {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("kill -9 %d: still running after %s", pid, killWait)
}

// procState is the state letter of a /proc/PID/stat line, and parent its
// parent's pid: the fields after the command name in parentheses.
func procState(stat string) string {
	f := strings.Fields(stat[strings.LastIndexByte(stat, ')')+1:])
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

func procParent(pid int) int {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(stat)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(f[1])
	return ppid
}

// servedByClaimsctl checks that a redis-server at addr with pid runs on
// this machine under `claimsctl serve FLAG`, which starts it again when it
// dies; it returns why not otherwise.
func servedByClaimsctl(addr string, pid int, flag string) error {
	host, _, _ := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("%s is not on this machine: its process cannot be signalled from here", addr)
	}
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil || !strings.HasPrefix(strings.TrimSpace(string(comm)), "redis-server") {
		return fmt.Errorf("pid %d (INFO server's process_id of %s) is not a redis-server here", pid, addr)
	}
	parent, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", procParent(pid)))
	args := strings.Split(string(parent), "\x00")
	if !slices.Contains(args, "serve") || !slices.Contains(args, flag) || !strings.Contains(filepath.Base(args[0]), "claimsctl") {
		return fmt.Errorf("redis-server pid %d on %s was not started by `claimsctl serve %s`: nothing would start it again", pid, addr, flag)
	}
	return nil
}
