package luaapi

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"claimsctl/streams"
	"claimsctl/streams/workers"

	lua "github.com/yuin/gopher-lua"
)

// claims.chaos's worker faults: kill (a background worker abandoned
// unacked, or a worker process sent SIGKILL), slow and crash_on (an extra
// consumer that takes its time, or dies on a matching entry).

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
		procs, err := workers.Processes(ctx, m.store, group)
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
			if which != consumer && !slices.Contains(workers.Names, which) && !strings.HasPrefix(consumer, which+"@") {
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
	if h, err := workers.New(m.store, which); err == nil {
		return []string{h.Group()}
	}
	var groups []string
	for _, name := range workers.Names {
		h, _ := workers.New(m.store, name)
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

var faultWorkerKeys = []string{"consumer", "count", "min_idle", "recover_every", "max_deliveries", "log"}

// extraWorker starts a built-in worker's handler, wrapped, as one more
// consumer of its group, named <worker>-<role>@host unless told.
func (m *chaosModule) extraWorker(L *lua.LState, fn, role string, o options, wrap func(workers.Handler) workers.Handler, run func(ctx context.Context, h workers.Handler, opts workers.Options) error) (*background, workers.Options) {
	worker := L.CheckString(1)
	inner, err := workers.New(m.store, worker) // checked by checkWorker
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
	if _, err := workers.New(m.store, name); err != nil {
		argError(L, 1, fn, fmt.Sprintf("no built-in worker %q (one of %s)", name, strings.Join(workers.Names, ", ")))
	}
}

// slowHandler is a worker that takes per milliseconds over each entry.
type slowHandler struct {
	workers.Handler
	per time.Duration
}

func (h slowHandler) Decide(ctx context.Context, batch []streams.Delivery, got *streams.Snapshot) []workers.Decision {
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
	b, opts := m.extraWorker(L, "slow", "slow", o, func(h workers.Handler) workers.Handler { return slowHandler{Handler: h, per: per} },
		func(ctx context.Context, h workers.Handler, opts workers.Options) error {
			return workers.Run(ctx, m.store, h, opts)
		})
	m.say(fmt.Sprintf("started %s, consumer %s of group %s, that sleeps %s per entry before deciding it", b.name, b.consumer, b.group, per),
		fmt.Sprintf("XREADGROUP hands it a share of new entries, which wait in its PEL meanwhile: pending(%q).consumers[%q] and the group's lag grow while it works; stop(%q) ends it", b.group, b.consumer, b.consumer),
		fmt.Sprintf("entries it holds longer than min_idle (%s) are taken over by the other consumers' recovery", minIdleOf(opts)))
	L.Push(lua.LString(b.consumer))
	return 1
}

func minIdleOf(o workers.Options) time.Duration {
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
	workers.Handler
	mu      sync.Mutex
	L       *lua.LState
	pred    *lua.LFunction
	kill    func()
	crashed string // what it crashed on ("" if it did not)
}

func (h *crashHandler) Decide(ctx context.Context, batch []streams.Delivery, got *streams.Snapshot) []workers.Decision {
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
	out := make([]workers.Decision, len(batch))
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
	newHandler := func(inner workers.Handler) *crashHandler {
		ls := lua.NewState(lua.Options{SkipOpenLibs: true})
		for _, open := range []lua.LGFunction{lua.OpenBase, lua.OpenString, lua.OpenMath, lua.OpenTable} {
			ls.Push(ls.NewFunction(open))
			ls.Call(0, 0)
		}
		h := &crashHandler{Handler: inner, L: ls, pred: ls.NewFunctionFromProto(pred.Proto)}
		return h
	}
	var logf func(string)
	b, opts := m.extraWorker(L, "crash_on", "crash", o, func(h workers.Handler) workers.Handler { return newHandler(h) },
		func(ctx context.Context, h workers.Handler, opts workers.Options) error {
			ch := h.(*crashHandler)
			defer ch.L.Close()
			base := opts.Consumer
			for life := 1; ; life++ {
				kctx, kill := workers.Killable(ctx)
				ch.kill, ch.crashed = kill, ""
				if err := workers.Run(kctx, m.store, ch, opts); err != nil {
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
