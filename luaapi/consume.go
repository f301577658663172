package luaapi

import (
	"context"
	"fmt"
	"time"

	"claimsctl/streams"

	lua "github.com/yuin/gopher-lua"
)

func (r *Runtime) consumeFuncs() map[string]lua.LGFunction {
	return map[string]lua.LGFunction{
		"consume": r.consume,
		"ack":     r.ack,
	}
}

// consume(group, consumer [, {count=10, block=0, pending=false}] [, handler]) -> events | handled, failed
//
// Without a handler it returns the events and leaves them pending until
// ack(). With a handler it calls handler(event) for each and acks those
// whose handler returned without error.
func (r *Runtime) consume(L *lua.LState) int {
	group := L.CheckString(1)
	consumer := L.CheckString(2)
	optArg, handler := 3, (*lua.LFunction)(nil)
	if fn, ok := L.Get(3).(*lua.LFunction); ok {
		handler, optArg = fn, 4
	} else if fn, ok := L.Get(4).(*lua.LFunction); ok {
		handler = fn
	}
	o := optionsAt(L, optArg, "consume", "count", "block", "pending")
	opts := streams.ConsumeOptions{
		Count:   int64(o.num("count", 10)),
		Block:   time.Duration(o.num("block", 0)) * time.Millisecond,
		Pending: o.boolean("pending", false),
	}
	if opts.Count < 1 {
		argError(L, optArg, "consume", "count must be at least 1")
	}
	ds, err := r.store.Consume(ctxOf(L), group, consumer, opts)
	if err != nil {
		return raise(L, err)
	}
	if handler == nil {
		t := L.NewTable()
		for _, d := range ds {
			t.Append(deliveryTable(L, d))
		}
		r.echo(t, "%s", formatValue(t))
		L.Push(t)
		return 1
	}
	handled, failed := 0, 0
	var done []string
	for _, d := range ds {
		err := L.CallByParam(lua.P{Fn: handler, NRet: 0, Protect: true}, deliveryTable(L, d))
		if err != nil {
			if ctxOf(L).Err() != nil {
				// What was handled is acked, so it does not run again.
				_, _ = r.store.Ack(context.WithoutCancel(ctxOf(L)), group, done...)
				return raise(L, fmt.Errorf("consume: interrupted (%d handled events acked)", len(done)))
			}
			failed++
			fmt.Fprintf(r.out, "handler failed on %s (left pending): %s\n", d.ID, runtimeMessage(err))
			continue
		}
		handled++
		done = append(done, d.ID)
	}
	if _, err := r.store.Ack(ctxOf(L), group, done...); err != nil {
		return raise(L, err)
	}
	r.echo(lua.LNumber(handled), "%d handled and acked, %d left pending", handled, failed)
	L.Push(lua.LNumber(handled))
	L.Push(lua.LNumber(failed))
	return 2
}

// ack(group, events | ids) -> number acked
func (r *Runtime) ack(L *lua.LState) int {
	group := L.CheckString(1)
	ids := idsOf(L, 2, "ack")
	n, err := r.store.Ack(ctxOf(L), group, ids...)
	if err != nil {
		return raise(L, err)
	}
	r.echo(lua.LNumber(n), "%d acked", n)
	L.Push(lua.LNumber(n))
	return 1
}
