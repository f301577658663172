package luaapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"claimsctl/streams"
	"claimsctl/streams/faults"

	lua "github.com/yuin/gopher-lua"
)

// chaosModule is claims.chaos: faults on purpose, each real (a Redis
// command, a signal to a process) and each undone by itself (a pause
// ends, clients reconnect, a supervisor restarts what was killed), each
// told in Redis's terms with what to watch.
type chaosModule struct {
	store   *streams.Store
	workers *workersModule
	out     io.Writer
}

func (m *chaosModule) Loader(L *lua.LState) int {
	L.Push(L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
		"kill":           m.kill,
		"pause":          m.pause,
		"drop_clients":   m.dropClients,
		"slow":           m.slow,
		"crash_on":       m.crashOn,
		"restart_server": m.restartServer,
		"failover":       m.failover,
		"can":            m.can,
	}))
	return 1
}

// say prints a fault's lines: what it did, then what to watch.
func (m *chaosModule) say(did string, watch ...string) {
	fmt.Fprintln(m.out, "chaos: "+did)
	for _, w := range watch {
		fmt.Fprintln(m.out, "  watch: "+w)
	}
}

// killWait bounds how long kill waits for a killed process to be gone.
const killWait = 5 * time.Second

func (m *chaosModule) kill(L *lua.LState) int {
	which := L.CheckString(1)
	ctx := ctxOf(L)
	pool := m.workers.pool
	// In this session: a goroutine cannot be killed -9, so it is abandoned
	// as a killed process is: no more writes, no XACK, no last word.
	for _, b := range pool.byName() {
		if b.stopped() || (b.name != which && b.consumer != which) {
			continue
		}
		if strings.HasSuffix(b.kind, ".lua") && m.workers.launcher != nil && m.workers.jail == nil {
			break // a spawned child process: killed by its pid below
		}
		b.kill()
		<-b.done
		n := m.pendingOf(ctx, b.group, b.consumer)
		m.say(fmt.Sprintf("killed %s (consumer %s of group %s, a goroutine of this session): abandoned mid-batch, nothing acknowledged (no XACK); %d entries stay in its PEL",
			b.name, b.consumer, b.group, n),
			fmt.Sprintf("pending(%q).consumers[%q] holds them; a worker started again as %s re-reads them at once, another consumer takes them over (XAUTOCLAIM) once idle for min_idle", b.group, b.consumer, b.consumer),
			fmt.Sprintf("groups() stops listing it as running within %s, when its mark in claims:alive:%s expires", "3s", b.group))
		return m.killed(L, b.name, b.consumer, b.group, "goroutine", 0, n)
	}
	groups := m.groupsFor(which)
	for _, group := range groups {
		procs, err := m.store.Processes(ctx, group)
		if err != nil {
			return raise(L, fmt.Errorf("kill %s: %w", which, err))
		}
		names := slices.Sorted(func(yield func(string) bool) {
			for c := range procs {
				if !yield(c) {
					return
				}
			}
		})
		for _, consumer := range names {
			if which != consumer && !slices.Contains(streams.WorkerNames, which) && !strings.HasPrefix(consumer, which+"@") {
				continue
			}
			pid := procs[consumer]
			if pid == os.Getpid() {
				continue
			}
			if err := killWorkerProcess(pid); err != nil {
				return raise(L, fmt.Errorf("kill %s: consumer %s: %w", which, consumer, err))
			}
			n := m.pendingOf(ctx, group, consumer)
			m.say(fmt.Sprintf("kill -9 %d: the process running consumer %s of group %s is gone; nothing it held was acknowledged: %d entries stay in its PEL", pid, consumer, group, n),
				fmt.Sprintf("its terminal shows it killed; pending(%q) still lists %s: `claimsctl worker ... --consumer %s` re-reads them, another consumer takes them over once idle for min_idle", group, consumer, consumer))
			return m.killed(L, which, consumer, group, "process", pid, n)
		}
	}
	return raise(L, fmt.Errorf("kill: no running worker %q in this session or another terminal (workers() lists this session's, groups() every running consumer)", which))
}

func (m *chaosModule) killed(L *lua.LState, name, consumer, group, what string, pid int, pending int64) int {
	t := L.NewTable()
	t.RawSetString("worker", lua.LString(name))
	t.RawSetString("consumer", lua.LString(consumer))
	t.RawSetString("group", lua.LString(group))
	t.RawSetString("killed", lua.LString(what))
	if pid > 0 {
		t.RawSetString("pid", lua.LNumber(pid))
	}
	t.RawSetString("pending", lua.LNumber(pending))
	L.Push(t)
	return 1
}

// groupsFor is where a worker or consumer named which may run: a built-in
// worker's group, or every group of the built-ins and of this session.
func (m *chaosModule) groupsFor(which string) []string {
	if h, err := m.store.NewWorker(which); err == nil {
		return []string{h.Group()}
	}
	var groups []string
	for _, name := range streams.WorkerNames {
		h, _ := m.store.NewWorker(name)
		groups = append(groups, h.Group())
	}
	for _, b := range m.workers.pool.byName() {
		if !slices.Contains(groups, b.group) {
			groups = append(groups, b.group)
		}
	}
	return groups
}

func (m *chaosModule) pendingOf(ctx context.Context, group, consumer string) int64 {
	sum, _, err := m.store.Pending(ctx, group)
	if err != nil {
		return 0
	}
	return sum.Consumers[consumer]
}

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

func (m *chaosModule) pause(L *lua.LState) int {
	ms := L.CheckNumber(1)
	if ms < 1 || ms > 60000 || ms != lua.LNumber(int64(ms)) {
		argError(L, 1, "pause", fmt.Sprintf("ms must be a whole number of milliseconds from 1 to 60000, got %v", ms))
	}
	d := time.Duration(ms) * time.Millisecond
	nodes, err := faults.PauseClients(ctxOf(L), m.store, d)
	if err != nil {
		return raise(L, fmt.Errorf("pause: %w", err))
	}
	m.say(fmt.Sprintf("CLIENT PAUSE %d ALL on %s: for %s the server answers no client (their commands wait, none fails); it ends by itself", int64(ms), strings.Join(nodes, ", "), d),
		"your next command and every worker's XREADGROUP wait the pause out; then the workers catch up (groups() shows the lag shrinking)")
	t := L.NewTable()
	t.RawSetString("ms", ms)
	t.RawSetString("nodes", toLua(L, nodes))
	L.Push(t)
	return 1
}

func (m *chaosModule) dropClients(L *lua.LState) int {
	n, nodes, err := faults.DropClients(ctxOf(L), m.store)
	if err != nil {
		return raise(L, fmt.Errorf("drop_clients: %w", err))
	}
	m.say(fmt.Sprintf("CLIENT KILL TYPE normal SKIPME yes on %s: closed %d client connections (workers, dashboards, other terminals, this session's other connections)", strings.Join(nodes, ", "), n),
		"each worker logs a failed read and reconnects (redis-cli CLIENT LIST shows them back); nothing is lost: what a worker had read but not acknowledged is still pending")
	t := L.NewTable()
	t.RawSetString("closed", lua.LNumber(n))
	t.RawSetString("nodes", toLua(L, nodes))
	L.Push(t)
	return 1
}

var faultWorkerKeys = []string{"consumer", "count", "min_idle", "recover_every", "max_deliveries", "log"}

// extraWorker starts a built-in worker's handler, wrapped, as one more
// consumer of its group, named <worker>-<role>@host unless told.
func (m *chaosModule) extraWorker(L *lua.LState, fn, role string, o options, wrap func(streams.Handler) streams.Handler, run func(ctx context.Context, h streams.Handler, opts streams.WorkerOptions) error) (*background, streams.WorkerOptions) {
	worker := L.CheckString(1)
	inner, err := m.store.NewWorker(worker) // checked by checkWorker
	if err != nil {
		raise(L, fmt.Errorf("%s: %w", fn, err))
	}
	opts, logging := workerOptions(o)
	if role == "crash" && opts.Count == 0 {
		// One entry at a time: a crash abandons the entry that caused it
		// only, not a batch of innocent ones that would share its fate.
		opts.Count = 1
	}
	name := worker + "-" + role
	if opts.Consumer == "" {
		opts.Consumer = m.workers.defaultConsumer(name)
	}
	if opts.Consumer, err = m.workers.pool.consumerFor(name, opts.Consumer); err != nil {
		raise(L, fmt.Errorf("%s: %w", fn, err))
	}
	if logging {
		opts.Log = m.workers.pool.logger()
	}
	h := wrap(inner)
	b := m.workers.pool.launch(name, "chaos "+role, h.Group(), opts.Consumer, func(ctx context.Context) error { return run(ctx, h, opts) })
	return b, opts
}

func (m *chaosModule) checkWorker(L *lua.LState, fn string) {
	name := L.CheckString(1)
	if _, err := m.store.NewWorker(name); err != nil {
		argError(L, 1, fn, fmt.Sprintf("no built-in worker %q (one of %s)", name, strings.Join(streams.WorkerNames, ", ")))
	}
}

// slowHandler is a worker that takes per milliseconds over each entry.
type slowHandler struct {
	streams.Handler
	per time.Duration
}

func (h slowHandler) Decide(ctx context.Context, batch []streams.Delivery, got *streams.Snapshot) []streams.Decision {
	t := time.NewTimer(h.per * time.Duration(len(batch)))
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done(): // killed
	}
	return h.Handler.Decide(ctx, batch, got)
}

func (m *chaosModule) slow(L *lua.LState) int {
	m.checkWorker(L, "slow")
	ms := L.CheckNumber(2)
	if ms < 1 || ms > 60000 {
		argError(L, 2, "slow", fmt.Sprintf("ms must be milliseconds per entry from 1 to 60000, got %v", ms))
	}
	per := time.Duration(float64(ms) * float64(time.Millisecond))
	o := optionsAt(L, 3, "slow", faultWorkerKeys...)
	b, opts := m.extraWorker(L, "slow", "slow", o, func(h streams.Handler) streams.Handler { return slowHandler{Handler: h, per: per} },
		func(ctx context.Context, h streams.Handler, opts streams.WorkerOptions) error {
			return m.store.RunWorker(ctx, h, opts)
		})
	m.say(fmt.Sprintf("started %s, consumer %s of group %s, that sleeps %s per entry before deciding it", b.name, b.consumer, b.group, per),
		fmt.Sprintf("XREADGROUP hands it a share of new entries, which wait in its PEL meanwhile: pending(%q).consumers[%q] and the group's lag grow while it works; stop(%q) ends it", b.group, b.consumer, b.consumer),
		fmt.Sprintf("entries it holds longer than min_idle (%s) are taken over by the other consumers' recovery", minIdleOf(opts)))
	L.Push(lua.LString(b.consumer))
	return 1
}

func minIdleOf(o streams.WorkerOptions) time.Duration {
	if o.MinIdle > 0 {
		return o.MinIdle
	}
	return streams.DefaultMinIdle
}

// errCrashed is what a crashing consumer's abandoned deliveries report.
var errCrashed = errors.New("crashed (chaos.crash_on)")

// crashHandler is a worker that dies, as a killed process does, when an
// entry it is handed matches a Lua predicate, which runs on a Lua state of
// its own (an LState is not goroutine-safe; a worker's partitions decide
// at once).
type crashHandler struct {
	streams.Handler
	mu      sync.Mutex
	L       *lua.LState
	pred    *lua.LFunction
	kill    func()
	crashed string // what it crashed on ("" if it did not)
}

func (h *crashHandler) Decide(ctx context.Context, batch []streams.Delivery, got *streams.Snapshot) []streams.Decision {
	h.mu.Lock()
	for _, d := range batch {
		if h.crashed != "" || d.Err != nil || len(d.Fields) == 0 {
			continue
		}
		if h.matches(d) {
			h.crashed = fmt.Sprintf("entry %s (%s of claim %s, delivery %d)", d.ID, d.Event.Type, d.Event.ClaimID, d.Deliveries)
			h.kill()
		}
	}
	crashed := h.crashed != ""
	h.mu.Unlock()
	if !crashed {
		return h.Handler.Decide(ctx, batch, got)
	}
	out := make([]streams.Decision, len(batch))
	for i := range out {
		out[i].Err = errCrashed
	}
	return out
}

// matches runs the predicate on d's event; a predicate that fails counts
// as false (the consumer is not the one to crash on a bug of the lab's).
func (h *crashHandler) matches(d streams.Delivery) bool {
	err := h.L.CallByParam(lua.P{Fn: h.pred, NRet: 1, Protect: true}, eventTable(h.L, d.Event))
	if err != nil {
		return false
	}
	v := h.L.Get(-1)
	h.L.Pop(1)
	return lua.LVAsBool(v)
}

func (m *chaosModule) crashOn(L *lua.LState) int {
	m.checkWorker(L, "crash_on")
	pred := L.CheckFunction(2)
	if pred.Proto == nil {
		argError(L, 2, "crash_on", "the predicate must be a Lua function like function(e) return e.data.amount > 5000 end")
	}
	if len(pred.Upvalues) > 0 {
		argError(L, 2, "crash_on", "the predicate runs in the worker, on a Lua state of its own: it may use only its event argument and the standard libraries, not local variables of your script")
	}
	o := optionsAt(L, 3, "crash_on", append(faultWorkerKeys, "restarts")...)
	restarts := int(o.whole("restarts", 0, 0, 100))
	newHandler := func(inner streams.Handler) *crashHandler {
		ls := lua.NewState(lua.Options{SkipOpenLibs: true})
		for _, open := range []lua.LGFunction{lua.OpenBase, lua.OpenString, lua.OpenMath, lua.OpenTable} {
			ls.Push(ls.NewFunction(open))
			ls.Call(0, 0)
		}
		h := &crashHandler{Handler: inner, L: ls, pred: ls.NewFunctionFromProto(pred.Proto)}
		return h
	}
	var logf func(string)
	b, opts := m.extraWorker(L, "crash_on", "crash", o, func(h streams.Handler) streams.Handler { return newHandler(h) },
		func(ctx context.Context, h streams.Handler, opts streams.WorkerOptions) error {
			ch := h.(*crashHandler)
			defer ch.L.Close()
			base := opts.Consumer
			for life := 1; ; life++ {
				kctx, kill := streams.Killable(ctx)
				ch.kill, ch.crashed = kill, ""
				if err := m.store.RunWorker(kctx, ch, opts); err != nil {
					return err
				}
				if ch.crashed == "" || ctx.Err() != nil {
					return nil
				}
				logf(fmt.Sprintf("%s crashed on %s: its batch stays pending, unacknowledged", opts.Consumer, ch.crashed))
				if life > restarts {
					return nil
				}
				// A new consumer, as a restarted process with a new name
				// would be: it takes the dead one's entries over only once
				// they are idle for MinIdle.
				opts.Consumer = fmt.Sprintf("%s-%d", base, life+1)
				logf("restarted as " + opts.Consumer)
			}
		})
	logf = opts.Log
	if logf == nil {
		logf = func(string) {}
	}
	m.say(fmt.Sprintf("started %s, consumer %s of group %s, that dies as kill -9 would (no XACK) when an entry it is handed matches the predicate; %s", b.name, b.consumer, b.group, restartsNote(restarts)),
		fmt.Sprintf("pending(%q): the dead consumer's entries wait, their delivery count rising with each takeover (XAUTOCLAIM once idle for min_idle=%s)", b.group, minIdleOf(opts)),
		"an entry that crashed it max_deliveries times goes to the DLQ (dlq()) instead of being handed out again")
	L.Push(lua.LString(b.consumer))
	return 1
}

func restartsNote(n int) string {
	if n == 0 {
		return "it stays dead (restarts=0), leaving its entries to the group's other consumers"
	}
	return fmt.Sprintf("it is started again up to %d times, each time under a new consumer name", n)
}

func (m *chaosModule) restartServer(L *lua.LState) int {
	ctx := ctxOf(L)
	was, err := faults.ServerOf(ctx, m.store)
	if err != nil {
		return raise(L, fmt.Errorf("restart_server: %w", restartRefusal(err)))
	}
	if err := servedByClaimsctl(was.Addr, was.PID, "--aof"); err != nil {
		return raise(L, fmt.Errorf("restart_server: %w (run `claimsctl serve --aof` and point --redis at it)", err))
	}
	if !was.AOF {
		return raise(L, fmt.Errorf("restart_server: %s runs without AOF (appendonly no): a restart would lose the events", was.Addr))
	}
	before, err := m.store.State(ctx)
	if err != nil {
		return raise(L, fmt.Errorf("restart_server: %w", err))
	}
	start := time.Now()
	if err := killAndWait(was.PID); err != nil {
		return raise(L, fmt.Errorf("restart_server: %w", err))
	}
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	now, err := faults.WaitRestarted(wctx, m.store, was)
	if err != nil {
		return raise(L, fmt.Errorf("restart_server: killed pid %d, but %w", was.PID, err))
	}
	down := time.Since(start)
	after, err := m.store.State(ctx)
	if err != nil {
		return raise(L, fmt.Errorf("restart_server: %w", err))
	}
	m.say(fmt.Sprintf("kill -9 %d (redis-server on %s); `claimsctl serve --aof` started it again as pid %d, which replayed its AOF: %d events before, %d after, back in %s",
		was.PID, was.Addr, now.PID, before.Events().Length, after.Events().Length, down.Round(time.Millisecond)),
		"every client saw its connection refused, then reconnected; workers log the outage and resume where their group's last_delivered_id stands (the groups are in the AOF too)")
	t := L.NewTable()
	t.RawSetString("pid_before", lua.LNumber(was.PID))
	t.RawSetString("pid_after", lua.LNumber(now.PID))
	t.RawSetString("events_before", lua.LNumber(before.Events().Length))
	t.RawSetString("events_after", lua.LNumber(after.Events().Length))
	t.RawSetString("down_ms", lua.LNumber(down.Milliseconds()))
	L.Push(t)
	return 1
}

// restartRefusal says why a server without one process cannot restart.
func restartRefusal(err error) error {
	if errors.Is(err, faults.ErrNoFault) && strings.Contains(err.Error(), "embedded") {
		return errors.New("the embedded server lives in a claimsctl process and keeps its data in memory only: it cannot restart and keep the events (run `claimsctl serve --aof` for a redis-server that can)")
	}
	return err
}

func (m *chaosModule) failover(L *lua.LState) int {
	ctx := ctxOf(L)
	partition := 0
	kill := false
	switch v := L.Get(1).(type) {
	case *lua.LNilType:
	case lua.LNumber:
		partition = int(v)
		if lua.LNumber(partition) != v {
			argError(L, 1, "failover", fmt.Sprintf("partition must be a whole number, got %v", v))
		}
	case lua.LString:
		if v != "master" {
			argError(L, 1, "failover", fmt.Sprintf("want a partition number or \"master\" (partition 0's), got %q", string(v)))
		}
	default:
		argError(L, 1, "failover", "want a partition number or \"master\", got "+v.Type().String())
	}
	o := optionsAt(L, 2, "failover", "kill")
	kill = o.boolean("kill", false)
	sh, err := faults.ShardOf(ctx, m.store, partition)
	if err != nil {
		return raise(L, fmt.Errorf("failover: %w", err))
	}
	start := time.Now()
	how := "CLUSTER FAILOVER on replica " + sh.Replicas[0]
	if kill {
		if err := servedByClaimsctl(sh.Master.Addr, sh.Master.PID, "--cluster"); err != nil {
			return raise(L, fmt.Errorf("failover{kill=true}: %w (failover() without kill asks the replica instead)", err))
		}
		if err := killAndWait(sh.Master.PID); err != nil {
			return raise(L, fmt.Errorf("failover: %w", err))
		}
		how = fmt.Sprintf("kill -9 %d (master %s)", sh.Master.PID, sh.Master.Addr)
	} else if err := faults.Failover(ctx, m.store, sh.Replicas[0]); err != nil {
		return raise(L, fmt.Errorf("failover: %w", err))
	}
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	promoted, err := faults.WaitPromoted(wctx, m.store, sh.Replicas)
	if err != nil {
		return raise(L, fmt.Errorf("failover: after %s: %w", how, err))
	}
	took := time.Since(start)
	watch := []string{
		fmt.Sprintf("redis-cli -p %s CLUSTER NODES: %s is now master of slot %d (%s); ", portOf(promoted), promoted, sh.Slot, sh.Stream),
		"workers log MOVED or refused connections for a moment, reload the slot map and go on; an append in flight is retried, once (its version check refuses a double)",
	}
	if kill {
		watch[0] += "the dead master is started again by `claimsctl serve --cluster` and rejoins as its replica"
	} else {
		watch[0] += sh.Master.Addr + " is its replica now"
	}
	m.say(fmt.Sprintf("%s: replica %s took over slot %d (%s) from %s in %s", how, promoted, sh.Slot, sh.Stream, sh.Master.Addr, took.Round(time.Millisecond)), watch...)
	t := L.NewTable()
	t.RawSetString("old_master", lua.LString(sh.Master.Addr))
	t.RawSetString("new_master", lua.LString(promoted))
	t.RawSetString("slot", lua.LNumber(sh.Slot))
	t.RawSetString("stream", lua.LString(sh.Stream))
	t.RawSetString("how", lua.LString(how))
	t.RawSetString("ms", lua.LNumber(took.Milliseconds()))
	L.Push(t)
	return 1
}

func portOf(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return port
}

// can reports whether a fault is possible here, and why not.
func (m *chaosModule) can(L *lua.LState) int {
	fault := L.CheckString(1)
	ctx := ctxOf(L)
	var why error
	switch fault {
	case "kill", "slow", "crash_on":
	case "pause", "drop_clients":
		// The server's own answer: CLIENT PAUSE 1 ms is harmless.
		if _, err := faults.PauseClients(ctx, m.store, time.Millisecond); err != nil {
			why = err
		}
	case "restart_server":
		p, err := faults.ServerOf(ctx, m.store)
		switch {
		case err != nil:
			why = restartRefusal(err)
		case !p.AOF:
			why = fmt.Errorf("%s runs without AOF: a restart would lose the events", p.Addr)
		default:
			why = servedByClaimsctl(p.Addr, p.PID, "--aof")
		}
	case "failover", "failover_kill":
		sh, err := faults.ShardOf(ctx, m.store, 0)
		if err == nil && fault == "failover_kill" {
			err = servedByClaimsctl(sh.Master.Addr, sh.Master.PID, "--cluster")
		}
		why = err
	default:
		argError(L, 1, "can", fmt.Sprintf("no fault %q (kill, pause, drop_clients, slow, crash_on, restart_server, failover, failover_kill)", fault))
	}
	L.Push(lua.LBool(why == nil))
	if why != nil {
		L.Push(lua.LString(strings.TrimSuffix(why.Error(), ": "+faults.ErrNoFault.Error())))
		return 2
	}
	return 1
}
