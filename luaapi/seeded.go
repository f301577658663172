package luaapi

import (
	"context"
	"fmt"
	"sync"
	"time"

	"claimsctl/streams"
	"claimsctl/streams/redisconn"
	"claimsctl/streams/workers"

	lua "github.com/yuin/gopher-lua"
)

// A seeded run (claimsctl --seed N, a store with streams.Options.Seeded)
// repeats itself: the store takes its ids and time from the seed, and the
// workers this session starts do not run on their own. They are stepped,
// one batch of one worker at a time, in the order they were started, in
// the session's own goroutine, whenever it waits for them: wait_idle(),
// sleep(), monitor(), and in the REPL (and -e) after every command. So
// what they read, decide and write, and when the session sees it, is the
// same on every run.

// maxDrainBatches bounds one drain: workers that feed each other without
// end (a consumer appending an event per event it reads) would otherwise
// hold the session forever.
const maxDrainBatches = 100_000

// stepped starts a worker that runs only when the pool steps it.
func (p *pool) stepped(name, kind, group string, st *workers.Stepper, release func()) *background {
	ctx, cancel := context.WithCancel(redisconn.Untraced(context.Background()))
	b := &background{name: name, group: group, consumer: st.Consumer(), kind: kind, stepper: st, release: release, done: make(chan struct{})}
	stopAlive := workers.KeepAlive(ctx, p.store, group, st.Consumer())
	var once sync.Once
	end := func(flush bool) {
		once.Do(func() {
			if flush {
				fctx, done := context.WithTimeout(ctx, 5*time.Second)
				st.Stop(fctx)
				done()
			}
			stopAlive()
			cancel()
			close(b.done)
		})
	}
	b.cancel = func() { end(true) }
	b.kill = func() { end(false) }
	p.workers = append(p.workers, b)
	return b
}

// stepping reports whether the pool has stepped workers running.
func (p *pool) stepping() bool {
	for _, b := range p.workers {
		if b.stepper != nil && !b.stopped() {
			return true
		}
	}
	return false
}

// step runs one batch of the next stepped worker in turn that has work
// (the order they were started in) and returns its size: 0 when none has
// any.
func (p *pool) step(ctx context.Context) (int, error) {
	n := len(p.workers)
	for k := range n {
		i := (p.turn + k) % n
		b := p.workers[i]
		if b.stepper == nil || b.stopped() {
			continue
		}
		got, err := b.stepper.Step(redisconn.Untraced(ctx))
		if err != nil {
			return 0, fmt.Errorf("%s %s: %w", b.name, b.consumer, err)
		}
		if got > 0 {
			p.turn = (i + 1) % n
			return got, nil
		}
	}
	return 0, nil
}

// drain steps the workers until none has work left.
func (p *pool) drain(ctx context.Context) error {
	for range maxDrainBatches {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		n, err := p.step(ctx)
		if err != nil || n == 0 {
			return err
		}
	}
	return fmt.Errorf("the workers are still busy after %d batches: do they feed each other?", maxDrainBatches)
}

// defaultSeed is sample_data's and sample_claims' seed when none is
// given: 1, or a seeded run's own.
func defaultSeed(s *streams.Store) int64 {
	if seeded := s.Seeded(); seeded != nil {
		return seeded.Seed()
	}
	return 1
}

// seededOS makes os.time() and os.date() read the store's clock in a
// seeded run, so a script's dates (lab.days_ago) are the run's: os.time()
// is the clock's second, os.date(format) formats it. Given a time, they
// are Lua's own.
func seededOS(L *lua.LState, s *streams.Store) {
	if s.Seeded() == nil {
		return
	}
	osLib, ok := L.GetGlobal("os").(*lua.LTable)
	if !ok {
		return
	}
	origTime, _ := osLib.RawGetString("time").(*lua.LFunction)
	origDate, _ := osLib.RawGetString("date").(*lua.LFunction)
	if origTime == nil || origDate == nil {
		return
	}
	osLib.RawSetString("time", L.NewFunction(func(L *lua.LState) int {
		if L.GetTop() > 0 && L.Get(1) != lua.LNil {
			L.Push(origTime)
			L.Push(L.Get(1))
			L.Call(1, 1)
			return 1
		}
		L.Push(lua.LNumber(s.Now().Unix()))
		return 1
	}))
	osLib.RawSetString("date", L.NewFunction(func(L *lua.LState) int {
		format := L.Get(1)
		if format == lua.LNil {
			format = lua.LString("%c")
		}
		at := L.Get(2)
		if at == lua.LNil {
			at = lua.LNumber(s.Now().Unix())
		}
		L.Push(origDate)
		L.Push(format)
		L.Push(at)
		L.Call(2, 1)
		return 1
	}))
}
