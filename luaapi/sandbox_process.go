package luaapi

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Lua runs in the host's process, so the one limit that holds whatever a
// script does is a process of its own: a spawned consumer (spawn) and a
// graded hand-in (claimsctl check) run in a child claimsctl with limits.

// LimitsEnv carries a child's limits (Limits.String). main applies them to
// its own process before anything else runs: a limit the parent set after
// the start would leave the child a moment without one.
const LimitsEnv = "CLAIMSCTL_LIMITS"

// Defaults of the limits.
const (
	// DefaultMemory is the memory ceiling of a spawned consumer and of a
	// graded exercise. A consumer uses about 120 MB of it at rest (the Go
	// runtime's own), a -race build about 450 MB.
	DefaultMemory = 512 << 20
	// DefaultCPU is the CPU time a graded exercise may use.
	DefaultCPU = 30 * time.Second
	// KillGrace is how long a child told to stop (SIGTERM) has before it
	// is killed: more than ConsumerGrace, so a consumer interrupts its own
	// handler first.
	KillGrace = 5 * time.Second
)

// Limits bound a child process.
type Limits struct {
	// Memory caps its data segment (RLIMIT_DATA) in bytes: the Go heap and
	// the Lua state in it. RLIMIT_AS would not do: the Go runtime reserves
	// far more address space than it uses. 0: no limit.
	Memory int64
	// CPU caps its CPU time (RLIMIT_CPU), in whole seconds. 0: no limit.
	CPU time.Duration
}

// String is the form LimitsEnv holds: "memory=536870912 cpu=30s".
func (l Limits) String() string {
	var parts []string
	if l.Memory > 0 {
		parts = append(parts, "memory="+strconv.FormatInt(l.Memory, 10))
	}
	if l.CPU > 0 {
		parts = append(parts, "cpu="+l.CPU.String())
	}
	return strings.Join(parts, " ")
}

// ParseLimits reads Limits.String.
func ParseLimits(s string) (Limits, error) {
	var l Limits
	for _, f := range strings.Fields(s) {
		k, v, _ := strings.Cut(f, "=")
		var err error
		switch k {
		case "memory":
			l.Memory, err = strconv.ParseInt(v, 10, 64)
		case "cpu":
			l.CPU, err = time.ParseDuration(v)
		default:
			err = errors.New("unknown limit")
		}
		if err != nil {
			return Limits{}, fmt.Errorf("%s %q: %s: %w", LimitsEnv, s, f, err)
		}
	}
	return l, nil
}

// MB writes a memory limit for people: "512 MB".
func MB(bytes int64) string { return fmt.Sprintf("%d MB", bytes>>20) }

// Launcher starts claimsctl itself as a child process. main supplies it:
// only main knows its own executable and environment.
type Launcher struct {
	// Path is the claimsctl executable.
	Path string
	// Args come before every child's own: the connection flags that are
	// no secret (--tls-ca FILE).
	Args []string
	// Env is the child's environment, the connection included (REDIS_URL
	// or the lab's variables): never on the command line, which ps shows
	// to every user of the machine.
	Env []string
}

// ChildOptions say what to run in a child and how.
type ChildOptions struct {
	Args   []string // claimsctl's arguments: a subcommand and its flags
	Limits Limits
	// Wall stops the child after this long: SIGTERM, then SIGKILL after
	// KillGrace. 0: no limit.
	Wall time.Duration
	Env  []string // added to the launcher's
	// Stdin, Stdout and ExtraFiles are the child's; nil Stdin is a pipe
	// that closes when this process ends, nil Stdout discards.
	Stdin      io.Reader
	Stdout     io.Writer
	ExtraFiles []*os.File
	// Stderr receives the child's error output up to a crash of the Go
	// runtime (out of memory), whose stack dump is left out: Err says why
	// the child stopped instead. nil keeps only the last line, for Err.
	Stderr io.Writer
}

// Child is a running claimsctl child process.
type Child struct {
	cmd    *exec.Cmd
	limits Limits
	wall   time.Duration
	done   chan struct{}
	err    error // set before done closes

	mu       sync.Mutex
	stopping bool // Stop was called
	timedOut bool // Wall passed
	stderr   stderrTail
	killer   *time.Timer // SIGKILL after KillGrace
}

// Start starts claimsctl with o.Args in a child process.
func (l *Launcher) Start(o ChildOptions) (*Child, error) {
	cmd := exec.Command(l.Path, append(slices.Clone(l.Args), o.Args...)...)
	cmd.Env = append(append(filterEnv(l.Env, LimitsEnv), o.Env...), LimitsEnv+"="+o.Limits.String())
	cmd.Stdin, cmd.Stdout, cmd.ExtraFiles = o.Stdin, o.Stdout, o.ExtraFiles
	c := &Child{cmd: cmd, limits: o.Limits, wall: o.Wall, done: make(chan struct{}), stderr: stderrTail{relay: o.Stderr}}
	if o.Stdin == nil {
		// A pipe this process never writes to and holds until the child
		// exits: a child that reads EOF on its stdin knows its parent is
		// gone, even one killed without a word (kill -9).
		if _, err := cmd.StdinPipe(); err != nil {
			return nil, fmt.Errorf("start %s: %w", strings.Join(o.Args, " "), err)
		}
	}
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", strings.Join(o.Args, " "), err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", strings.Join(o.Args, " "), err)
	}
	relayed := make(chan struct{})
	go func() {
		defer close(relayed)
		c.stderr.read(errPipe)
	}()
	var wall *time.Timer
	if o.Wall > 0 {
		wall = time.AfterFunc(o.Wall, func() {
			c.mu.Lock()
			c.timedOut = true
			c.mu.Unlock()
			c.Stop()
		})
	}
	go func() {
		<-relayed // Wait closes the pipe: read it to the end first
		waitErr := cmd.Wait()
		if wall != nil {
			wall.Stop()
		}
		c.mu.Lock()
		if c.killer != nil {
			c.killer.Stop()
		}
		c.err = c.verdict(waitErr)
		c.mu.Unlock()
		close(c.done)
	}()
	return c, nil
}

// filterEnv drops the variable name from env.
func filterEnv(env []string, name string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}

// Stop asks the child to stop (SIGTERM: a worker finishes its batch) and
// kills it if it is still running KillGrace later. It does not wait.
func (c *Child) Stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopping {
		return
	}
	c.stopping = true
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	c.killer = time.AfterFunc(KillGrace, func() { _ = c.cmd.Process.Kill() })
}

// Done is closed when the child has exited.
func (c *Child) Done() <-chan struct{} { return c.done }

// Err says, once Done is closed, why the child stopped: nil for exit 0 or
// for a child that Stop stopped, else a *ChildError.
func (c *Child) Err() error {
	<-c.done
	return c.err
}

// ChildError is a child that stopped on its own, or at a limit.
type ChildError struct {
	// Reason says why in a line: "it used more than 512 MB", or the last
	// line the child wrote to its error output.
	Reason string
	// ExitCode is the child's (-1 when a signal ended it).
	ExitCode int
	// Limit is the limit that stopped it, if one did.
	Limit Limit
}

// Limit names one of a child's limits.
type Limit string

// The limits a child may be stopped at.
const (
	LimitMemory Limit = "memory"
	LimitCPU    Limit = "cpu"
	LimitTime   Limit = "time"
)

func (e *ChildError) Error() string { return e.Reason }

// verdict turns the child's end into its Err.
func (c *Child) verdict(waitErr error) error {
	st := c.cmd.ProcessState
	if st == nil {
		return fmt.Errorf("wait for %s: %w", strings.Join(c.cmd.Args[1:], " "), waitErr)
	}
	code := st.ExitCode()
	var cpu time.Duration
	var peak int64 // bytes resident at most
	if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
		cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		peak = ru.Maxrss << 10 // KiB on Linux
	}
	ws, _ := st.Sys().(syscall.WaitStatus)
	killed := ws.Signaled() && (ws.Signal() == syscall.SIGKILL || ws.Signal() == syscall.SIGXCPU)
	// A runtime that finds no memory under RLIMIT_DATA usually says so;
	// when it crashes some other way on its way (an "unknown pc"), a peak
	// near the limit says the same.
	nearLimit := c.limits.Memory > 0 && peak >= c.limits.Memory/4*3
	switch {
	case c.stderr.outOfMemory(), c.stderr.crashed() && nearLimit:
		return &ChildError{Reason: "stopped: it used more than " + MB(c.limits.Memory), ExitCode: code, Limit: LimitMemory}
	case killed && c.limits.CPU > 0 && cpu >= c.limits.CPU-time.Second:
		return &ChildError{Reason: fmt.Sprintf("stopped: it used more than %s of CPU time", c.limits.CPU), ExitCode: code, Limit: LimitCPU}
	case c.timedOut:
		return &ChildError{Reason: fmt.Sprintf("stopped: it ran longer than %s", c.wall), ExitCode: code, Limit: LimitTime}
	case code == 0, c.stopping && ws.Signaled():
		return nil
	}
	reason := strings.TrimPrefix(c.stderr.last(), "claimsctl: ")
	if reason == "" {
		reason = st.String()
	}
	return &ChildError{Reason: reason, ExitCode: code}
}

// stderrTail relays a child's error output line by line until the Go
// runtime crashes, and remembers the last line and whether the crash was
// for want of memory.
type stderrTail struct {
	relay io.Writer

	mu      sync.Mutex
	lastOut string
	crash   string // the first line of a runtime crash
	// noMemory: a line of the crash says it found no memory (it need
	// not be the first: "runtime: ... unknown pc" may come before).
	noMemory bool
}

func (s *stderrTail) read(r io.Reader) {
	lines := bufio.NewScanner(r)
	lines.Buffer(make([]byte, 64<<10), 1<<20)
	for lines.Scan() {
		line := lines.Text()
		s.mu.Lock()
		if s.crash == "" && (strings.HasPrefix(line, "fatal error:") || strings.HasPrefix(line, "runtime:") ||
			strings.Contains(line, "ThreadSanitizer")) {
			s.crash = line
		}
		crashed := s.crash != ""
		if crashed && !s.noMemory && saysNoMemory(line) {
			s.noMemory = true
		}
		if !crashed && strings.TrimSpace(line) != "" {
			s.lastOut = line
		}
		s.mu.Unlock()
		if !crashed && s.relay != nil {
			fmt.Fprintln(s.relay, line)
		}
	}
	_, _ = io.Copy(io.Discard, r) // a line too long to scan
}

func (s *stderrTail) crashed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.crash != ""
}

func (s *stderrTail) last() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.crash != "" {
		return s.crash
	}
	return s.lastOut
}

// outOfMemory: the Go runtime (or the race detector) found no memory
// under the limit.
func (s *stderrTail) outOfMemory() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.noMemory
}

func saysNoMemory(line string) bool {
	for _, sign := range []string{"out of memory", "cannot allocate memory", "errno=12", "errno: 12", "failed to allocate"} {
		if strings.Contains(line, sign) {
			return true
		}
	}
	return false
}
