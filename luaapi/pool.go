package luaapi

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"claimsctl/streams/claims"
	"claimsctl/streams/redisconn"
	"claimsctl/streams/streamview"
	"claimsctl/streams/workers"

	lua "github.com/yuin/gopher-lua"
)

// claims.workers' background workers: start() in this process, spawn()
// of a Lua consumer (here or in a child process), stop(), workers() and
// wait_idle().

var workerOptionKeys = []string{"consumer", "count", "min_idle", "recover_every", "max_deliveries", "log"}

// workerOptions reads start()'s and spawn()'s options; what is left out
// (0) takes streams' defaults, so a given 0 is refused rather than read as
// "the default". The consumer name is checked before the worker starts.
func workerOptions(o options) (workers.Options, bool) {
	opts := workers.Options{
		Consumer:      o.text("consumer", ""),
		Count:         o.whole("count", 0, 1, math.MaxInt64),
		MinIdle:       o.millis("min_idle", 0, 1),
		RecoverEvery:  o.millis("recover_every", 0, 1),
		MaxDeliveries: o.whole("max_deliveries", 0, 1, math.MaxInt64),
	}
	if o.has("consumer") {
		if err := claims.ValidName("consumer", opts.Consumer); err != nil {
			argError(o.L, o.arg, o.fn, "option "+err.Error())
		}
	}
	return opts, o.boolean("log", true)
}

// DefaultConsumer is the consumer name a worker gets unless told otherwise:
// worker@host, the same every time it runs on this machine, so a
// restarted worker resumes its own pending entries at once instead of
// leaving them to recovery, and restarts leave no trail of dead consumers.
func DefaultConsumer(worker, host string) string {
	// A host name may hold what a consumer name may not (or be long):
	// keep what is allowed, so the name always passes claims.ValidName.
	var b strings.Builder
	for _, r := range host {
		switch {
		case r < utf8.RuneSelf && (r == '-' || r == '_' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'):
			b.WriteRune(r)
		case b.Len() > 0:
			b.WriteByte('-')
		}
	}
	host = strings.Trim(b.String(), "-")
	if room := claims.MaxNameLength - len(worker) - 1; len(host) > room {
		host = host[:max(room, 0)]
	}
	if host == "" {
		return worker
	}
	return worker + "@" + host
}

// defaultConsumer is DefaultConsumer, or worker-2@host (-3 ...) when
// this session already runs a worker under that name.
func (m *workersModule) defaultConsumer(worker string) string {
	name := DefaultConsumer(worker, m.host)
	for n := 2; m.pool.running(name); n++ {
		name = DefaultConsumer(fmt.Sprintf("%s-%d", worker, n), m.host)
	}
	return name
}

func (m *workersModule) start(L *lua.LState) int {
	name := L.CheckString(1)
	o := optionsAt(L, 2, "start", workerOptionKeys...)
	h, err := workers.New(m.store, name)
	if err != nil {
		if hint := didYouMean(name, workers.Names, ""); hint != "" {
			return raise(L, fmt.Errorf("start: no worker %q.%s (Lua consumers start with spawn(file))", name, hint))
		}
		return raise(L, fmt.Errorf("start: %w", err))
	}
	opts, logging := workerOptions(o)
	if opts.Consumer == "" {
		opts.Consumer = m.defaultConsumer(name)
	}
	if opts.Consumer, err = m.pool.consumerFor(name, opts.Consumer); err != nil {
		return raise(L, err)
	}
	if logging {
		opts.Log = m.pool.logger()
	}
	if m.store.Seeded() != nil {
		st, err := workers.NewStepper(m.store, h, opts)
		if err != nil {
			return raise(L, fmt.Errorf("start: %w", err))
		}
		return m.started(L, m.pool.stepped(name, "built-in", h.Group(), st, nil))
	}
	b := m.pool.launch(name, "built-in", h.Group(), opts.Consumer, func(ctx context.Context) error { return workers.Run(ctx, m.store, h, opts) })
	return m.started(L, b)
}

// spawn runs a Lua consumer in the background. With a Launcher it runs in
// a child claimsctl (claimsctl worker FILE) under a memory ceiling, so a
// consumer that allocates without bound stops alone. In a sandbox, or
// without a Launcher, it runs in this process on a Runtime of its own (an
// LState is not goroutine-safe): the sandboxed process is the limited one.
func (m *workersModule) spawn(L *lua.LState) int {
	file := L.CheckString(1)
	o := optionsAt(L, 2, "spawn", workerOptionKeys...)
	opts, logging := workerOptions(o)
	path, err := m.jail.code(L, "spawn", file)
	if err != nil {
		return raise(L, err)
	}
	name := strings.TrimSuffix(filepath.Base(file), ".lua")
	if opts.Consumer == "" {
		opts.Consumer = m.defaultConsumer(name)
	}
	if opts.Consumer, err = m.pool.consumerFor(name, opts.Consumer); err != nil {
		return raise(L, err)
	}
	var b *background
	if m.launcher != nil && m.jail == nil && m.store.Seeded() == nil {
		b, err = m.spawnChild(ctxOf(L), name, file, opts, logging)
	} else {
		b, err = m.spawnHere(ctxOf(L), name, file, path, opts, logging)
	}
	if err != nil {
		return raise(L, fmt.Errorf("spawn %s: %w", file, err))
	}
	return m.started(L, b)
}

func (m *workersModule) spawnHere(ctx context.Context, name, file, path string, opts workers.Options, logging bool) (*background, error) {
	child := m.newConsumerRuntime()
	h, err := LoadConsumer(context.WithoutCancel(ctx), child, path)
	if err == nil {
		err = claims.ValidName("group", h.Group())
	}
	if err != nil {
		child.Close()
		return nil, err
	}
	if logging {
		opts.Log = m.pool.logger()
	}
	if m.store.Seeded() != nil {
		// Stepped in the session's goroutine: the consumer's LState is
		// still only ever used by one goroutine at a time.
		st, err := workers.NewStepper(m.store, h, opts)
		if err != nil {
			child.Close()
			return nil, err
		}
		return m.pool.stepped(name, file, h.Group(), st, child.Close), nil
	}
	b := m.pool.launch(name, file, h.Group(), opts.Consumer, func(ctx context.Context) error { return h.Run(ctx, opts) })
	b.release = child.Close
	return b, nil
}

// ReadyEnv tells a spawned `claimsctl worker` that descriptor 3 is where
// it writes its group once its file is loaded (and that its stdin closing
// means its parent is gone).
const ReadyEnv = "CLAIMSCTL_READY_FD"

// spawnChild starts `claimsctl worker FILE` under the memory ceiling and
// waits until it has loaded the file and said its group, or has failed
// to (its error is spawn's). Its log lines join the workers' output.
func (m *workersModule) spawnChild(ctx context.Context, name, file string, opts workers.Options, logging bool) (*background, error) {
	args := []string{"worker", file, "--consumer", opts.Consumer, "--prefix", m.store.Keys().Prefix}
	if opts.Count > 0 {
		args = append(args, "--count", strconv.FormatInt(opts.Count, 10))
	}
	if opts.MinIdle > 0 {
		args = append(args, "--min-idle", opts.MinIdle.String())
	}
	if opts.RecoverEvery > 0 {
		args = append(args, "--recover-every", opts.RecoverEvery.String())
	}
	if opts.MaxDeliveries > 0 {
		args = append(args, "--max-deliveries", strconv.FormatInt(opts.MaxDeliveries, 10))
	}
	logs := io.Discard
	if logging {
		logs = &lineWriter{line: m.pool.logger()}
	}
	ready, readyW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer ready.Close()
	child, err := m.launcher.Start(ChildOptions{
		Args: args, Limits: Limits{Memory: m.memory}, Env: []string{ReadyEnv + "=3"},
		Stdout: logs, ExtraFiles: []*os.File{readyW},
	})
	readyW.Close() // the child holds it now: it closes when the child ends
	if err != nil {
		return nil, err
	}
	said := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(ready).ReadString('\n')
		said <- strings.TrimSpace(line)
	}()
	var group string
	select {
	case group = <-said:
	case <-ctx.Done():
	}
	if group == "" {
		child.Stop()
		if err := child.Err(); err != nil {
			return nil, err
		}
		return nil, errors.New("interrupted before it started")
	}
	return m.pool.launch(name, file, group, opts.Consumer, func(ctx context.Context) error {
		select {
		case <-ctx.Done():
			child.Stop()
		case <-child.Done():
		}
		return child.Err()
	}), nil
}

// lineWriter calls line for each line written to it.
type lineWriter struct {
	line    func(string)
	partial []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		w.line(string(w.partial[:i]))
		w.partial = w.partial[i+1:]
	}
}

func (m *workersModule) started(L *lua.LState, b *background) int {
	m.echo.summary(lua.LString(b.consumer), "started %s as %s in group %s", b.name, b.consumer, b.group)
	L.Push(lua.LString(b.consumer))
	return 1
}

func (m *workersModule) stop(L *lua.LState) int {
	which := L.OptString(1, "all")
	n, err := m.pool.stop(ctxOf(L), which)
	if err != nil {
		return raise(L, err)
	}
	if n == 0 && which != "all" {
		return raise(L, fmt.Errorf("stop: no running worker %q (workers() lists them)", which))
	}
	m.echo.summary(lua.LNumber(n), "stopped %s", claims.Plural(int64(n), "worker", "workers"))
	L.Push(lua.LNumber(n))
	return 1
}

func (m *workersModule) workers(L *lua.LState) int {
	t := L.NewTable()
	for _, b := range m.pool.byName() {
		wt := L.NewTable()
		wt.RawSetString("name", lua.LString(b.name))
		wt.RawSetString("group", lua.LString(b.group))
		wt.RawSetString("consumer", lua.LString(b.consumer))
		wt.RawSetString("kind", lua.LString(b.kind))
		wt.RawSetString("running", lua.LBool(!b.stopped()))
		// b.err is written by the worker goroutine; done closing makes it visible.
		if b.stopped() && b.err != nil {
			wt.RawSetString("error", lua.LString(b.err.Error()))
		}
		t.Append(wt)
	}
	L.Push(t)
	return 1
}

// waitIdle polls untraced, so trace(true) shows only the caller's own
// commands.
func (m *workersModule) waitIdle(L *lua.LState) int {
	var groups []string
	switch v := L.Get(1).(type) {
	case lua.LString:
		groups = []string{string(v)}
	case *lua.LTable:
		for i := 1; i <= v.Len(); i++ {
			groups = append(groups, v.RawGetInt(i).String())
		}
	case *lua.LNilType:
	default:
		argError(L, 1, "wait_idle", "want a group name or a list of them")
	}
	o := optionsAt(L, 2, "wait_idle", "timeout")
	timeout := o.seconds("timeout", 30)
	ctx := redisconn.Untraced(ctxOf(L))
	if m.pool.stepping() {
		// A seeded run: the workers here take their turns until none has
		// work; only workers elsewhere are then waited for.
		if err := m.pool.drain(ctx); err != nil {
			return raise(L, fmt.Errorf("wait_idle: %w", err))
		}
	}
	deadline := time.Now().Add(timeout)
	for {
		busy, err := m.busyGroups(ctx, groups)
		if err != nil {
			return raise(L, err)
		}
		if len(busy) == 0 {
			L.Push(lua.LTrue)
			return 1
		}
		if time.Now().After(deadline) {
			return raise(L, fmt.Errorf("wait_idle: still busy after %s: %s", timeout, strings.Join(busy, "; ")))
		}
		select {
		case <-ctx.Done():
			return raise(L, fmt.Errorf("wait_idle: interrupted"))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (m *workersModule) busyGroups(ctx context.Context, names []string) ([]string, error) {
	st, err := m.store.State(ctx)
	if err != nil {
		return nil, err
	}
	events := st.Events()
	var busy []string
	check := func(g *streamview.GroupState, name string) {
		switch {
		case g == nil:
			busy = append(busy, name+" does not exist yet")
		case g.Pending > 0 || g.Lag > 0 || g.Retries > 0:
			busy = append(busy, fmt.Sprintf("%s pending %d lag %d%s", name, g.Pending, g.Lag, retriesText(g)))
		}
	}
	if len(names) == 0 {
		// Only groups a worker runs now can become idle: a group nobody
		// consumes (a demo group a lab step left) would be waited on
		// until the timeout.
		if events != nil {
			for i := range events.Groups {
				g := &events.Groups[i]
				running := m.pool.runningIn(g.Name) != nil
				if !running {
					consumers, err := workers.Running(ctx, m.store, g.Name)
					if err != nil {
						return nil, err
					}
					running = len(consumers) > 0
				}
				if running {
					check(g, g.Name)
				}
			}
		}
		// A worker started just now creates its group in its own
		// goroutine: until then its work is not in the state at all.
		for _, b := range m.pool.workers {
			if b.stopped() {
				continue
			}
			// On every partition: the combined view has the group as soon
			// as one partition does.
			for _, key := range st.EventStreams {
				if ss := st.Stream(key); ss == nil || ss.Group(b.group) == nil {
					busy = append(busy, fmt.Sprintf("%s (worker %s) does not exist yet on %s", b.group, b.name, key))
					break
				}
			}
		}
		return busy, nil
	}
	for _, n := range names {
		var g *streamview.GroupState
		if events != nil {
			g = events.Group(n)
		}
		check(g, n)
	}
	return busy, nil
}
