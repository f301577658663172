package luaapi

import (
	"fmt"
	"strings"
	"time"

	"claimsctl/streams"

	lua "github.com/yuin/gopher-lua"
)

func (r *Runtime) labFuncs() map[string]lua.LGFunction {
	return map[string]lua.LGFunction{
		"server":  r.server,
		"schema":  r.schema,
		"monitor": r.monitor,
	}
}

// server() -> {backend=, version=, mode=, aof=, persistence=}
func (r *Runtime) server(L *lua.LState) int {
	info, err := r.store.Server(ctxOf(L))
	if err != nil {
		return raise(L, err)
	}
	t := L.NewTable()
	t.RawSetString("backend", lua.LString(r.cfg.Backend))
	t.RawSetString("version", lua.LString(info.Version))
	t.RawSetString("mode", lua.LString(info.Mode))
	t.RawSetString("aof", lua.LBool(info.AOF))
	t.RawSetString("persistence", lua.LString(info.Persistence))
	L.Push(t)
	return 1
}

// schema([type]) -> {{type=, required={...}, optional={...}, follows={statuses}}, ...} or one entry
func (r *Runtime) schema(L *lua.LState) int {
	one := L.OptString(1, "")
	if one != "" && !streams.EventType(one).Known() {
		argError(L, 1, "schema", fmt.Sprintf("%q is not an event type (want one of %s)", one, typeList()))
	}
	all := L.NewTable()
	for _, t := range streams.EventTypes {
		if one != "" && string(t) != one {
			continue
		}
		req, opt := streams.SchemaFields(t)
		e := L.NewTable()
		e.RawSetString("type", lua.LString(t))
		e.RawSetString("required", toLua(L, req))
		e.RawSetString("optional", toLua(L, opt))
		var from []string
		for _, s := range streams.AllowedFrom(t) {
			from = append(from, s.String())
		}
		e.RawSetString("follows", toLua(L, from))
		if one != "" {
			L.Push(e)
			return 1
		}
		all.Append(e)
	}
	L.Push(all)
	return 1
}

func typeList() string {
	names := make([]string, len(streams.EventTypes))
	for i, t := range streams.EventTypes {
		names[i] = string(t)
	}
	return strings.Join(names, ", ")
}

// monitor([{seconds=, events=}]) -> number of events seen
//
// A live tail of claims:events (XREAD BLOCK, no group) with each group's
// progress, until Ctrl-C, `seconds` have passed or `events` were seen.
func (r *Runtime) monitor(L *lua.LState) int {
	o := optionsAt(L, 1, "monitor", "seconds", "events")
	seconds, limit := o.num("seconds", 0), int(o.num("events", 0))
	ctx := ctxOf(L)
	var deadline time.Time
	if seconds > 0 {
		deadline = time.Now().Add(time.Duration(seconds * float64(time.Second)))
	}
	fmt.Fprintln(r.out, "monitoring claims:events (XREAD BLOCK); Ctrl-C stops")
	after, seen, lastProgress := "$", 0, ""
	for {
		block := time.Second
		if !deadline.IsZero() {
			block = min(block, time.Until(deadline))
		}
		var ds []streams.Delivery
		var err error
		if block > 0 {
			ds, after, err = r.store.Tail(ctx, after, 100, block)
		}
		if ctx.Err() != nil {
			break // Ctrl-C ends the monitor, not the session
		}
		if err != nil {
			return raise(L, err)
		}
		for _, d := range ds {
			fmt.Fprintln(r.out, "  "+eventLine(deliveryTable(L, d))+actorSuffix(d))
			seen++
		}
		if progress := r.groupProgress(L); progress != lastProgress {
			fmt.Fprintln(r.out, progress)
			lastProgress = progress
		}
		if (limit > 0 && seen >= limit) || (!deadline.IsZero() && !time.Now().Before(deadline)) {
			break
		}
	}
	L.Push(lua.LNumber(seen))
	return 1
}

func actorSuffix(d streams.Delivery) string {
	if d.Err != nil || d.Event.Actor == "" {
		return ""
	}
	return "  by " + d.Event.Actor
}

func (r *Runtime) groupProgress(L *lua.LState) string {
	st, err := r.store.State(streams.Untraced(ctxOf(L)))
	if err != nil {
		return "  (group progress unavailable: " + err.Error() + ")"
	}
	events := st.Stream(r.store.Keys().Events())
	if events == nil || len(events.Groups) == 0 {
		return "  (no consumer groups yet)"
	}
	parts := make([]string, 0, len(events.Groups))
	for _, g := range events.Groups {
		parts = append(parts, fmt.Sprintf("%s pending %d lag %d", g.Name, g.Pending, g.Lag))
	}
	return "  groups: " + strings.Join(parts, " | ")
}
