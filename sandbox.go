package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"claimsctl/luaapi"
	"claimsctl/streams"
	"claimsctl/streams/quota"
	"claimsctl/streams/redisconn"

	"golang.org/x/sys/unix"
)

// applyLimits sets the limits of luaapi.LimitsEnv on this process. The Go
// runtime does not know RLIMIT_DATA: a soft memory limit below it makes
// the collector work before the ceiling instead of growing the heap to
// twice what is live.
func applyLimits(spec string) error {
	l, err := luaapi.ParseLimits(spec)
	if err != nil {
		return err
	}
	if l.Memory > 0 {
		if err := unix.Setrlimit(unix.RLIMIT_DATA, &unix.Rlimit{Cur: uint64(l.Memory), Max: uint64(l.Memory)}); err != nil {
			return fmt.Errorf("limit memory to %s: %w", luaapi.MB(l.Memory), err)
		}
		debug.SetMemoryLimit(l.Memory / 2)
	}
	if l.CPU > 0 {
		secs := uint64(math.Ceil(l.CPU.Seconds()))
		if err := unix.Setrlimit(unix.RLIMIT_CPU, &unix.Rlimit{Cur: secs, Max: secs}); err != nil {
			return fmt.Errorf("limit CPU time to %s: %w", l.CPU, err)
		}
	}
	return nil
}

// sandboxFlags are run's and the REPL's --sandbox and --memory.
type sandboxFlags struct {
	on       bool
	memoryMB int64
	wall     time.Duration // how long a sandboxed session may last (0: no limit)
	quota    quotaFlags
}

// sandboxCPU is the CPU time a --sandbox session may use, as check allows
// a hand-in.
const sandboxCPU = luaapi.DefaultCPU

func (s *sandboxFlags) register(fs *flag.FlagSet) {
	limits := "at most --memory and " + sandboxCPU.String() + " of CPU time"
	if s.wall > 0 {
		limits += ",\nstopped after " + s.wall.String()
	}
	fs.BoolVar(&s.on, "sandbox", false, "run as claimsctl check grades a hand-in: in a process\n"+
		"of its own, with no os.execute, files written only in a\n"+
		"temp folder, Lua loaded only from the script's folder,\n"+limits)
	fs.Int64Var(&s.memoryMB, "memory", luaapi.DefaultMemory>>20, "stop a spawn()ed consumer (with --sandbox, the whole\n"+
		"session) that uses more than `MB` megabytes")
	s.quota.register(fs, "a --sandbox session")
}

func (s *sandboxFlags) check(hint string) error {
	if s.memoryMB <= 0 {
		return &usageError{msg: fmt.Sprintf("--memory must be above 0, got %d", s.memoryMB), hint: hint}
	}
	return s.quota.check(hint)
}

// guardStore is the client side of the quota in the sandboxed child: its
// writes are counted on store's connection, and past the quota refused
// and onExceed called.
func (s *sandboxFlags) guardStore(ctx context.Context, store *streams.Store, onExceed func(error)) (*quota.Guard, error) {
	g := quota.New(store.Client(), store.Keys().Prefix, s.quota.limits(), onExceed)
	if err := g.Start(ctx); err != nil {
		return nil, err
	}
	store.Client().AddHook(g.Hook())
	return g, nil
}

// limits are the sandbox's, for its child process.
func (s *sandboxFlags) limits() luaapi.Limits {
	return luaapi.Limits{Memory: s.memoryMB << 20, CPU: sandboxCPU}
}

// insideSandbox reports whether this process is the child that sandboxed
// started: it runs under the limits, in the Lua sandbox.
func (b *base) insideSandbox() bool { return b.env.getenv(luaapi.LimitsEnv) != "" }

// sandboxed runs the subcommand cmd with --sandbox and its positional
// arguments again in a child process under limits, on this terminal,
// connected where this process connects, and waits for it. Its temp
// folder is removed afterwards, whatever became of it.
func (b *base) sandboxed(ctx context.Context, cmd string, positional []string, limits luaapi.Limits, wall time.Duration, q quota.Limits, life redisconn.Lifetime) error {
	backend, store, err := b.connect(ctx, io.Discard, life) // the child says where it is connected
	if err != nil {
		return err
	}
	defer backend.Close()
	launcher := b.launcher(backend)
	if launcher == nil {
		return errors.New("--sandbox starts claimsctl again, and cannot find its executable")
	}
	tmp, err := os.MkdirTemp("", "claimsctl-sandbox-")
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	defer os.RemoveAll(tmp)
	// The terminal's Ctrl-C reaches the child too, which decides what it
	// means; this process waits for it.
	ctrlC := make(chan os.Signal, 1)
	signal.Notify(ctrlC, os.Interrupt)
	defer signal.Stop(ctrlC)
	// The server side of the quota: what the keyspace holds beyond what it
	// held at the start is measured here, and past the quota the child is
	// stopped.
	guard := quota.New(store.Client(), store.Keys().Prefix, q, nil)
	if err := guard.Start(ctx); err != nil {
		return err
	}
	child, err := launcher.Start(luaapi.ChildOptions{
		Args: append([]string{cmd, "--sandbox", "--memory", strconv.FormatInt(limits.Memory>>20, 10), "--prefix", b.conn.prefix,
			"--redis-quota", strconv.FormatInt(q.Bytes, 10), "--redis-keys", strconv.FormatInt(q.Keys, 10), "--"}, positional...),
		Limits: limits, Wall: wall, Env: []string{"TMPDIR=" + tmp},
		Stdin: b.env.stdin, Stdout: b.env.stdout, Stderr: b.env.stderr,
	})
	if err != nil {
		return err
	}
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go func() {
		guard.Watch(watchCtx)
		if guard.Err() != nil {
			child.Stop()
		}
	}()
	select {
	case <-child.Done():
	case <-ctx.Done():
		child.Stop()
	}
	stopWatch()
	if ctx.Err() == nil {
		_ = guard.Check(ctx)
	}
	if err := guard.Err(); err != nil {
		return err
	}
	var ce *luaapi.ChildError
	if err := child.Err(); errors.As(err, &ce) && ce.Limit == "" && ce.ExitCode > 0 {
		return childExit(ce.ExitCode)
	} else if err != nil {
		return err
	}
	return nil
}

// quotaFlags are --redis-quota and --redis-keys: what a sandboxed file
// may store in Redis.
type quotaFlags struct {
	bytes sizeFlag
	keys  int64
}

func (q *quotaFlags) register(fs *flag.FlagSet, what string) {
	q.bytes = quota.DefaultBytes
	fs.Var(&q.bytes, "redis-quota", "stop "+what+" whose keys in Redis\nhold more than `SIZE` (0: no limit)")
	fs.Int64Var(&q.keys, "redis-keys", quota.DefaultKeys, "stop "+what+" that has more\nthan `N` keys in Redis (0: no limit)")
}

func (q *quotaFlags) limits() quota.Limits { return quota.Limits{Bytes: int64(q.bytes), Keys: q.keys} }

func (q *quotaFlags) check(hint string) error {
	if q.keys < 0 {
		return &usageError{msg: fmt.Sprintf("--redis-keys must be 0 or above, got %d", q.keys), hint: hint}
	}
	return nil
}

// sizeFlag is a flag of a size in bytes: 64MiB, 64MB, 1048576, 0.
type sizeFlag int64

func (s *sizeFlag) String() string {
	if *s == 0 {
		return "0"
	}
	return strings.ReplaceAll(quota.Size(int64(*s)), " ", "")
}

func (s *sizeFlag) Set(v string) error {
	if strings.TrimSpace(v) == "0" {
		*s = 0
		return nil
	}
	n, err := quota.ParseSize(v)
	if err != nil {
		return err
	}
	*s = sizeFlag(n)
	return nil
}
