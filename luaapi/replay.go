package luaapi

import (
	"errors"
	"fmt"

	"claimsctl/streams"
	"claimsctl/streams/claims"

	lua "github.com/yuin/gopher-lua"
)

func (r *Runtime) replayFuncs() map[string]lua.LGFunction {
	return map[string]lua.LGFunction{
		"replay":  r.replay,
		"claim":   r.claim,
		"history": r.history,
		"rebuild": r.rebuild,
	}
}

// replay{from=, to=, type=, claim=} -> iterator
// replay({...}, handler) -> count
//
// from/to are stream ids or times ("2026-11-25T10:00:00Z"); times match
// the events' occurred_at.
func (r *Runtime) replay(L *lua.LState) int {
	o := optionsAt(L, 1, "replay", "from", "to", "type", "claim")
	opts := streams.ReplayOptions{Type: claims.EventType(o.str("type", "")), ClaimID: o.str("claim", "")}
	if o.has("from") {
		opts.FromID, opts.FromTime = timeArg(L, 1, "replay", "from", o.str("from", ""))
	}
	if o.has("to") {
		opts.ToID, opts.ToTime = timeArg(L, 1, "replay", "to", o.str("to", ""))
	}
	var ds []streams.Delivery
	err := r.store.Replay(ctxOf(L), opts, func(d streams.Delivery) error {
		ds = append(ds, d)
		return nil
	})
	if err != nil {
		return raise(L, err)
	}
	if fn, ok := L.Get(2).(*lua.LFunction); ok {
		for _, d := range ds {
			if err := L.CallByParam(lua.P{Fn: fn, NRet: 0, Protect: true}, deliveryTable(L, d)); err != nil {
				return raise(L, fmt.Errorf("replay handler on %s: %s", d.ID, runtimeMessage(err)))
			}
		}
		L.Push(lua.LNumber(len(ds)))
		return 1
	}
	i := 0
	L.Push(L.NewFunction(func(L *lua.LState) int {
		if i >= len(ds) {
			L.Push(lua.LNil)
			return 1
		}
		L.Push(deliveryTable(L, ds[i]))
		i++
		return 1
	}))
	return 1
}

// claim(id [, {at=time} | {version=n}]) -> claim | nil, reason
func (r *Runtime) claim(L *lua.LState) int {
	id := L.CheckString(1)
	o := optionsAt(L, 2, "claim", "at", "version")
	var (
		c   *claims.Claim
		err error
	)
	if o.has("at") {
		_, at := timeArg(L, 2, "claim", "at", o.str("at", ""))
		if at.IsZero() {
			argError(L, 2, "claim", "at must be a time like 2026-11-25T10:00:00Z")
		}
		c, err = r.store.ClaimAt(ctxOf(L), id, at)
	} else if o.has("version") {
		c, err = r.store.ClaimAtVersion(ctxOf(L), id, int64(o.num("version", 0)))
	} else {
		c, err = r.store.Claim(ctxOf(L), id)
	}
	if errors.Is(err, claims.ErrNotFound) {
		L.Push(lua.LNil)
		L.Push(lua.LString(err.Error()))
		return 2
	}
	if err != nil {
		return raise(L, err)
	}
	L.Push(claimTable(L, c))
	return 1
}

// history(id) -> events, in order
func (r *Runtime) history(L *lua.LState) int {
	events, err := r.store.History(ctxOf(L), L.CheckString(1))
	if err != nil {
		return raise(L, err)
	}
	t := L.NewTable()
	for _, e := range events {
		t.Append(eventTable(L, e))
	}
	L.Push(t)
	return 1
}
