package luaapi

import (
	"context"
	"fmt"
	"sort"
	"time"

	"claimsctl/streams"
)

// pool is the background workers of one Runtime, started by start() and
// spawn(). Only the Runtime's goroutine touches the pool; each worker runs
// in a goroutine of its own.
type pool struct {
	store   *streams.Store
	out     *syncWriter // where workers log
	workers []*background
}

// background is one worker running in its own goroutine: a built-in Go
// worker or a Lua consumer on its own LState (an LState is not
// goroutine-safe, so a Lua consumer never shares the caller's).
type background struct {
	name, group, consumer, kind string
	cancel                      context.CancelFunc // stop after the current batch
	abort                       context.CancelFunc // interrupt a Lua handler that does not return
	release                     func()             // closes a Lua consumer's own state
	done                        chan struct{}
	err                         error
}

// stopGrace is how long a worker may take to finish its batch before a Lua
// handler that loops is interrupted.
const stopGrace = 5 * time.Second

// launch runs h as consumer opts.Consumer of its group until it is
// stopped.
func (p *pool) launch(name, kind string, h streams.Handler, opts streams.WorkerOptions, logging bool) (*background, error) {
	for _, b := range p.workers {
		if b.name == name && b.consumer == opts.Consumer && !b.stopped() {
			return nil, fmt.Errorf("start %s: consumer %s is already running (stop(%q) first, or give another consumer=)", name, opts.Consumer, name)
		}
	}
	if logging {
		out := p.out
		opts.Log = func(line string) { fmt.Fprintln(out, "  ["+line+"]") }
	}
	// The worker outlives the chunk that started it: its context is not the
	// chunk's (Ctrl-C at the REPL stops the chunk, not the workers).
	// Untraced: trace(true) is about the commands the student's own calls
	// send; a worker's XREADGROUP every second would drown them.
	ctx, cancel := context.WithCancel(streams.Untraced(context.Background()))
	b := &background{name: name, group: h.Group(), consumer: opts.Consumer, kind: kind, cancel: cancel, abort: func() {}, done: make(chan struct{})}
	p.workers = append(p.workers, b)
	// Marked running (streams.Store.KeepAlive) until it returns, so other
	// sessions and terminals can tell it from a dead consumer.
	stopAlive := p.store.KeepAlive(ctx, b.group, b.consumer)
	go func() {
		defer close(b.done)
		defer stopAlive()
		b.err = p.store.RunWorker(ctx, h, opts)
	}()
	return b, nil
}

// stop stops the workers that which names (a worker, a consumer or "all")
// and returns how many of them were running. All of them are told first,
// so they finish their batches together.
func (p *pool) stop(ctx context.Context, which string) (int, error) {
	matches := func(b *background) bool { return which == "all" || which == b.name || which == b.consumer }
	for _, b := range p.workers {
		if matches(b) {
			b.cancel()
		}
	}
	n := 0
	for _, b := range p.workers {
		if !matches(b) {
			continue
		}
		if !b.stopped() {
			n++
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
	ctx, cancel := context.WithTimeout(context.Background(), 2*stopGrace)
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

// halt stops the worker: it finishes its batch; a Lua handler still
// running after stopGrace is interrupted. It gives up waiting when ctx
// ends, and then leaves the worker (and its Lua state) alone.
func (b *background) halt(ctx context.Context) error {
	b.cancel()
	grace := time.NewTimer(stopGrace)
	defer grace.Stop()
	select {
	case <-b.done:
	case <-grace.C:
		b.abort()
		select {
		case <-b.done:
		case <-ctx.Done():
			return fmt.Errorf("stop %s: still finishing its batch", b.name)
		}
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
