package luaapi

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"claimsctl/streams"
	"claimsctl/streams/claims"
	"claimsctl/streams/upkeep"

	lua "github.com/yuin/gopher-lua"
)

// replayModule is claims.replay: reading the events back, claims at a
// point in time, and rebuilding the aggregates from the events.
type replayModule struct {
	store *streams.Store
	out   io.Writer // rebuild() warns here about claims it leaves alone
	echo  *echo
}

func (m *replayModule) Loader(L *lua.LState) int {
	L.Push(L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
		"replay":  m.replay,
		"claim":   m.claim,
		"history": m.history,
		"rebuild": m.rebuild,
	}))
	return 1
}

// replay reads the whole range before it runs any Lua, so a handler or
// loop body that appends events does not see them.
func (m *replayModule) replay(L *lua.LState) int {
	o := optionsAt(L, 1, "replay", "from", "to", "type", "claim", "all")
	opts := streams.ReplayOptions{Type: claims.EventType(o.str("type", "")), ClaimID: o.str("claim", "")}
	all := o.boolean("all", false)
	if o.has("from") {
		opts.FromID, opts.FromTime = o.bound("from", false)
	}
	if o.has("to") {
		opts.ToID, opts.ToTime = o.bound("to", true)
	}
	var ds []streams.Delivery
	var skipped []streams.Delivery
	err := m.store.Replay(ctxOf(L), opts, func(d streams.Delivery) error {
		if d.Err != nil && !all {
			// Not an event of this store (another tool's entry, a forgery): a
			// fold over the events must not see it.
			skipped = append(skipped, d)
			return nil
		}
		ds = append(ds, d)
		return nil
	})
	if err != nil {
		return raise(L, err)
	}
	if n := len(skipped); n > 0 {
		fmt.Fprintf(m.out, "replay: skipped %s that %s no event of this store (the first: %s); replay{all=true} yields %s too, with .error\n",
			claims.Plural(int64(n), "entry", "entries"), map[bool]string{true: "is", false: "are"}[n == 1],
			claims.Printable(skipped[0].Err.Error()), map[bool]string{true: "it", false: "them"}[n == 1])
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

func (m *replayModule) claim(L *lua.LState) int {
	id := L.CheckString(1)
	o := optionsAt(L, 2, "claim", "at", "version")
	var (
		c   *claims.Claim
		err error
	)
	if o.has("at") {
		_, at := o.bound("at", true)
		if at.IsZero() {
			argError(L, 2, "claim", "at must be a time like 2026-11-25T10:00:00Z or os.time(), not an entry id")
		}
		c, err = m.store.ClaimAt(ctxOf(L), id, at)
	} else if o.has("version") {
		c, err = m.store.ClaimAtVersion(ctxOf(L), id, int64(o.num("version", 0)))
	} else {
		c, err = m.store.Claim(ctxOf(L), id)
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

func (m *replayModule) history(L *lua.LState) int {
	events, err := m.store.History(ctxOf(L), L.CheckString(1))
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

// rebuild always prints the claims it left alone, echo or not: each is
// something to look at.
func (m *replayModule) rebuild(L *lua.LState) int {
	res, err := upkeep.Rebuild(ctxOf(L), m.store)
	if err != nil {
		return raise(L, err)
	}
	t := L.NewTable()
	t.RawSetString("claims", lua.LNumber(res.Claims))
	t.RawSetString("events", lua.LNumber(res.Events))
	t.RawSetString("malformed", lua.LNumber(res.Malformed))
	t.RawSetString("broken", lua.LNumber(res.Broken))
	t.RawSetString("skipped", lua.LNumber(res.Skipped))
	t.RawSetString("newer", lua.LNumber(res.Newer))
	t.RawSetString("payments", lua.LNumber(res.Payments))
	t.RawSetString("shared_payments", lua.LNumber(res.SharedPayments))
	problems := L.NewTable()
	for _, p := range res.Problems {
		problems.Append(lua.LString(p))
		// Always shown: a claim left unrebuilt is something to look at.
		fmt.Fprintf(m.out, "warning: %s\n", p)
	}
	t.RawSetString("problems", problems)
	var notes []string
	if res.Malformed > 0 {
		notes = append(notes, fmt.Sprintf("%d malformed entries skipped", res.Malformed))
	}
	if res.Broken > 0 {
		notes = append(notes, fmt.Sprintf("%d claims left as they were", res.Broken))
	}
	if res.Newer > 0 {
		notes = append(notes, fmt.Sprintf("%d changed meanwhile, left newer", res.Newer))
	}
	if res.SharedPayments > 0 {
		notes = append(notes, fmt.Sprintf("%d payment ids held by another claim", res.SharedPayments))
	}
	summary := fmt.Sprintf("rebuilt %s from %s", claims.Plural(int64(res.Claims), "claim", "claims"), claims.Plural(int64(res.Events), "event", "events"))
	if len(notes) > 0 {
		summary += " (" + strings.Join(notes, ", ") + ")"
	}
	m.echo.summary(t, "%s", summary)
	L.Push(t)
	return 1
}
