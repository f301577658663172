package luaapi

import (
	"strings"

	"claimsctl/streams"

	lua "github.com/yuin/gopher-lua"
)

func (r *Runtime) opsFuncs() map[string]lua.LGFunction {
	return map[string]lua.LGFunction{
		"info":   r.info,
		"groups": r.groups,
		"trim":   r.trim,
		"import": r.importArchive,
	}
}

// info() -> {backend=, events={length=, first_id=, last_id=, memory_bytes=, last_generated_id=, first_occurred_at=, last_occurred_at=, groups={processors={pending=, lag=, consumers={w1={pending=, idle_ms=}}}}}, analytics=..., notifications=..., dlq=...}
func (r *Runtime) info(L *lua.LState) int {
	details, err := r.store.StreamDetails(ctxOf(L))
	if err != nil {
		return raise(L, err)
	}
	L.Push(detailsTable(L, details, r.store.Keys(), r.cfg.Backend))
	return 1
}

func stateTable(L *lua.LState, st *streams.State, keys streams.Keys, backend string) *lua.LTable {
	t := L.NewTable()
	if backend != "" {
		t.RawSetString("backend", lua.LString(backend))
	}
	for _, ss := range st.Streams {
		s := L.NewTable()
		s.RawSetString("key", lua.LString(ss.Key))
		s.RawSetString("exists", lua.LBool(ss.Exists))
		s.RawSetString("length", lua.LNumber(ss.Length))
		s.RawSetString("first_id", lua.LString(ss.FirstID))
		s.RawSetString("last_id", lua.LString(ss.LastID))
		groups := L.NewTable()
		for _, g := range ss.Groups {
			gt := groupTable(L, g, true)
			groups.RawSetString(g.Name, gt)
		}
		s.RawSetString("groups", groups)
		t.RawSetString(shortStreamName(ss.Key, keys), s)
	}
	return t
}

// shortStreamName turns "claims:events" (with any prefix) into "events".
func shortStreamName(key string, keys streams.Keys) string {
	return strings.TrimPrefix(strings.TrimPrefix(key, keys.Prefix), "claims:")
}

// groupTable is one consumer group as Lua sees it. Its consumers are keyed
// by name for info() (info().events.groups.processors.consumers.w1) and a
// list for groups().
func groupTable(L *lua.LState, g streams.GroupState, consumersByName bool) *lua.LTable {
	gt := L.NewTable()
	gt.RawSetString("name", lua.LString(g.Name))
	gt.RawSetString("pending", lua.LNumber(g.Pending))
	gt.RawSetString("lag", lua.LNumber(g.Lag))
	gt.RawSetString("lag_counted", lua.LBool(g.LagCounted))
	gt.RawSetString("last_delivered_id", lua.LString(g.LastDeliveredID))
	cons := L.NewTable()
	for _, c := range g.Consumers {
		ct := L.NewTable()
		ct.RawSetString("name", lua.LString(c.Name))
		ct.RawSetString("pending", lua.LNumber(c.Pending))
		ct.RawSetString("idle_ms", lua.LNumber(max(c.Idle.Milliseconds(), 0)))
		if consumersByName {
			cons.RawSetString(c.Name, ct)
		} else {
			cons.Append(ct)
		}
	}
	gt.RawSetString("consumers", cons)
	return gt
}
