package luaapi

import (
	"context"
	"fmt"
	"sort"

	"claimsctl/streams"
	"claimsctl/streams/claims"
	"claimsctl/streams/redisconn"
	"claimsctl/streams/workers"
)

// pool is the background workers of one Runtime, started by start() and
// spawn(). Only the Runtime's goroutine touches the pool; each worker runs
// in a goroutine of its own (a spawned consumer's in a child process).
type pool struct {
	store   *streams.Store
	out     *syncWriter // where workers log
	workers []*background
	turn    int // the worker a seeded run steps next (seeded.go)
}

// background is one worker running in its own goroutine: a built-in Go
// worker, a Lua consumer on its own LState (an LState is not
// goroutine-safe, so a Lua consumer never shares the caller's), or the
// goroutine that watches a spawned consumer's child process.
type background struct {
	name, group, consumer, kind string
	cancel                      context.CancelFunc // stop after the current batch
	kill                        func()             // stop now, acknowledging nothing (workers.Killable)
	release                     func()             // closes a Lua consumer's own state
	stepper                     *workers.Stepper   // a seeded run's: runs when the pool steps it
	done                        chan struct{}
	err                         error
}

// stopGrace bounds how long Close waits for a worker to finish its batch
// (a Lua handler that loops is interrupted after ConsumerGrace, a child
// process killed after KillGrace).
const stopGrace = 2 * KillGrace

// consumerFor checks a new worker's consumer name: a consumer of that
// worker already running is refused.
func (p *pool) consumerFor(name, consumer string) (string, error) {
	// RunWorker checks the names too, but in the worker's goroutine: a
	// worker that ends at once would look started.
	if err := claims.ValidName("consumer", consumer); err != nil {
		return "", fmt.Errorf("start %s: %w", name, err)
	}
	for _, b := range p.workers {
		if b.name == name && b.consumer == consumer && !b.stopped() {
			return "", fmt.Errorf("start %s: consumer %s is already running (stop(%q) first, or give another consumer=)", name, consumer, name)
		}
	}
	return consumer, nil
}

// logger is a worker's Log: its lines among the script's output, marked.
func (p *pool) logger() func(string) {
	out := p.out
	return func(line string) { fmt.Fprintln(out, "  ["+line+"]") }
}

// launch runs a worker until it is stopped (run returns when its context
// is cancelled). A worker that ends on its own with an error says so.
func (p *pool) launch(name, kind, group, consumer string, run func(context.Context) error) *background {
	// The worker outlives the chunk that started it: its context is not the
	// chunk's (Ctrl-C at the REPL stops the chunk, not the workers).
	// Untraced: trace(true) is about the commands the student's own calls
	// send; a worker's XREADGROUP every second would drown them.
	ctx, cancel := context.WithCancel(redisconn.Untraced(context.Background()))
	ctx, kill := workers.Killable(ctx)
	b := &background{name: name, group: group, consumer: consumer, kind: kind, cancel: cancel, kill: kill, done: make(chan struct{})}
	p.workers = append(p.workers, b)
	out := p.out
	// Marked running (streams.Store.KeepAlive) until it returns, so other
	// sessions and terminals can tell it from a dead consumer.
	stopAlive := workers.KeepAlive(ctx, p.store, group, consumer)
	go func() {
		defer close(b.done)
		defer stopAlive()
		b.err = run(ctx)
		if b.err != nil && ctx.Err() == nil {
			fmt.Fprintf(out, "  [%s %s: %v]\n", name, consumer, b.err)
		}
	}()
	return b
}

// stop stops the workers that which names (a worker, a consumer or "all")
// and returns how many of them were running. All of them are told first,
// so they finish their batches together.
func (p *pool) stop(ctx context.Context, which string) (int, error) {
	matches := func(b *background) bool { return which == "all" || which == b.name || which == b.consumer }
	// Counted before they are told: a worker told to stop may have ended
	// by the time the next one is looked at.
	n := 0
	for _, b := range p.workers {
		if matches(b) {
			if !b.stopped() {
				n++
			}
			b.cancel()
		}
	}
	for _, b := range p.workers {
		if !matches(b) {
			continue
		}
		if err := b.halt(ctx); err != nil {
			return n, err
		}
	}
	return n, nil
}

// stopAll stops every worker when the Runtime closes, leaving one that
// does not finish in time running rather than waiting forever.
func (p *pool) stopAll() {
	for _, b := range p.workers {
		b.cancel()
	}
	ctx, cancel := context.WithTimeout(context.Background(), stopGrace)
	defer cancel()
	for _, b := range p.workers {
		if err := b.halt(ctx); err != nil {
			fmt.Fprintf(p.out, "warning: %v; left running\n", err)
		}
	}
}

// byName lists the workers, running or stopped, by name.
func (p *pool) byName() []*background {
	list := append([]*background(nil), p.workers...)
	sort.SliceStable(list, func(i, j int) bool { return list[i].name < list[j].name })
	return list
}

// running reports whether a worker of the pool runs as that consumer.
func (p *pool) running(consumer string) bool {
	for _, b := range p.workers {
		if b.consumer == consumer && !b.stopped() {
			return true
		}
	}
	return false
}

// runningIn returns a running worker of the group, or nil.
func (p *pool) runningIn(group string) *background {
	for _, b := range p.workers {
		if b.group == group && !b.stopped() {
			return b
		}
	}
	return nil
}

// halt stops the worker: it finishes its batch (a Lua handler still
// running after ConsumerGrace is interrupted). It gives up waiting when ctx
// ends, and then leaves the worker (and its Lua state) alone.
func (b *background) halt(ctx context.Context) error {
	b.cancel()
	select {
	case <-b.done:
	case <-ctx.Done():
		return fmt.Errorf("stop %s: still finishing its batch", b.name)
	}
	if b.release != nil {
		b.release()
		b.release = nil
	}
	return nil
}

func (b *background) stopped() bool {
	select {
	case <-b.done:
		return true
	default:
		return false
	}
}
