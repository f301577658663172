package luaapi

import (
	"context"
	"fmt"
	"io"
	"math"
	"time"

	"claimsctl/streams"

	lua "github.com/yuin/gopher-lua"
)

// consumeModule is claims.consume: reading claims:events as one consumer
// of a group, and acknowledging.
type consumeModule struct {
	store *streams.Store
	out   io.Writer // a failed handler is reported here
	echo  *echo
}

func (m *consumeModule) Loader(L *lua.LState) int {
	L.Push(L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
		"consume": m.consume,
		"ack":     m.ack,
	}))
	return 1
}

// consume reads with XREADGROUP. With a handler it acks only the events
// the handler finished, so a failed one stays pending for redelivery.
func (m *consumeModule) consume(L *lua.LState) int {
	group := L.CheckString(1)
	consumer := consumerArg(L, "consume")
	optArg, handler := 3, (*lua.LFunction)(nil)
	if fn, ok := L.Get(3).(*lua.LFunction); ok {
		handler, optArg = fn, 4
	} else if fn, ok := L.Get(4).(*lua.LFunction); ok {
		handler = fn
	}
	o := optionsAt(L, optArg, "consume", "count", "block", "pending")
	opts := streams.ConsumeOptions{
		Count:   o.whole("count", 10, 1, math.MaxInt64),
		Pending: o.boolean("pending", false),
	}
	if o.has("block") {
		opts.Block = blockFor(L, optArg, o.num("block", 0))
	}
	ds, err := m.store.Consume(ctxOf(L), group, consumer, opts)
	if err != nil {
		return raise(L, err)
	}
	if handler == nil {
		t := L.NewTable()
		for _, d := range ds {
			t.Append(deliveryTable(L, d))
		}
		m.echo.summary(t, "%s", formatValue(t))
		L.Push(t)
		return 1
	}
	handled, failed := 0, 0
	var done []streams.EntryRef
	for _, d := range ds {
		err := L.CallByParam(lua.P{Fn: handler, NRet: 0, Protect: true}, deliveryTable(L, d))
		if err != nil {
			if ctxOf(L).Err() != nil {
				// What was handled is acked, so it does not run again.
				_, _ = m.store.AckEntries(context.WithoutCancel(ctxOf(L)), group, done)
				return raise(L, fmt.Errorf("consume: interrupted (%d handled events acked)", len(done)))
			}
			failed++
			fmt.Fprintf(m.out, "handler failed on %s (left pending): %s\n", d.ID, runtimeMessage(err))
			continue
		}
		handled++
		done = append(done, d.Ref())
	}
	if _, err := m.store.AckEntries(ctxOf(L), group, done); err != nil {
		return raise(L, err)
	}
	m.echo.summary(lua.LNumber(handled), "%d handled and acked, %d left pending", handled, failed)
	L.Push(lua.LNumber(handled))
	L.Push(lua.LNumber(failed))
	return 2
}

// blockForever stands for Redis's BLOCK 0 in streams.ConsumeOptions, where
// a Block of 0 means "return at once". A century is forever for a student
// at a prompt, and leaves room for the store's own arithmetic on it; the
// store waits in short slices, so Ctrl-C still ends it.
const blockForever = 100 * 365 * 24 * time.Hour

// blockFor reads block= in milliseconds: 0 waits until an entry arrives,
// as BLOCK 0 does in redis-cli.
func blockFor(L *lua.LState, optArg int, ms float64) time.Duration {
	switch {
	case math.IsNaN(ms) || ms < 0:
		argError(L, optArg, "consume", fmt.Sprintf("block must be 0 (wait until an event arrives) or a number of milliseconds above 0, got %v", ms))
	case ms == 0 || ms >= float64(blockForever/time.Millisecond):
		return blockForever
	}
	return time.Duration(ms * float64(time.Millisecond))
}

func (m *consumeModule) ack(L *lua.LState) int {
	group := L.CheckString(1)
	n, err := m.store.AckEntries(ctxOf(L), group, refsOf(L, 2, "ack"))
	if err != nil {
		return raise(L, err)
	}
	m.echo.summary(lua.LNumber(n), "%d acked", n)
	L.Push(lua.LNumber(n))
	return 1
}
