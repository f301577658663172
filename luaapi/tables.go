package luaapi

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"claimsctl/streams"
	"claimsctl/streams/claims"

	lua "github.com/yuin/gopher-lua"
)

// claimTable is a claim as Lua sees it: the snake_case fields of
// streams.Claim, times as RFC 3339 strings.
func claimTable(L *lua.LState, c *claims.Claim) *lua.LTable {
	t, _ := structToLua(L, c).(*lua.LTable)
	if t == nil {
		t = L.NewTable()
	}
	for _, k := range []string{"decided_at", "paid_at"} {
		if s, ok := t.RawGetString(k).(lua.LString); ok && strings.HasPrefix(string(s), "0001-") {
			t.RawSetString(k, lua.LNil)
		}
	}
	return t
}

// eventTable: {id, type, claim_id, version, uuid, occurred_at, actor, data}.
func eventTable(L *lua.LState, e claims.Event) *lua.LTable {
	t := L.NewTable()
	t.RawSetString("id", lua.LString(e.ID))
	t.RawSetString("type", lua.LString(e.Type))
	t.RawSetString("claim_id", lua.LString(e.ClaimID))
	t.RawSetString("version", lua.LNumber(e.Version))
	t.RawSetString("uuid", lua.LString(e.EventID))
	t.RawSetString("occurred_at", lua.LString(e.OccurredAt.UTC().Format("2006-01-02T15:04:05.000Z")))
	t.RawSetString("actor", lua.LString(e.Actor))
	t.RawSetString("data", toLua(L, e.Data))
	return t
}

// deliveryTable is an event, or for a malformed entry {id, error, fields}.
func deliveryTable(L *lua.LState, d streams.Delivery) *lua.LTable {
	var t *lua.LTable
	if d.Err != nil {
		t = L.NewTable()
		t.RawSetString("id", lua.LString(d.ID))
		t.RawSetString("error", lua.LString(d.Err.Error()))
		fields := L.NewTable()
		for k, v := range d.Fields {
			fields.RawSetString(k, lua.LString(fmt.Sprint(v)))
		}
		t.RawSetString("fields", fields)
	} else {
		t = eventTable(L, d.Event)
	}
	if d.Deliveries > 0 {
		t.RawSetString("deliveries", lua.LNumber(d.Deliveries))
	}
	return t
}

// formatValue renders a value for the REPL: an event as one line, a list
// of events as a count and one line each, other tables as sorted fields.
func formatValue(v lua.LValue) string {
	var b strings.Builder
	writeValue(&b, v, 0, map[*lua.LTable]bool{})
	return b.String()
}

func isEvent(t *lua.LTable) bool {
	_, id := t.RawGetString("id").(lua.LString)
	_, typ := t.RawGetString("type").(lua.LString)
	_, claim := t.RawGetString("claim_id").(lua.LString)
	_, bad := t.RawGetString("error").(lua.LString)
	return id && ((typ && claim) || bad)
}

func eventLine(t *lua.LTable) string {
	if e, ok := t.RawGetString("error").(lua.LString); ok {
		return fmt.Sprintf("%s  MALFORMED: %s", t.RawGetString("id").String(), string(e))
	}
	line := fmt.Sprintf("%s  %-24s %s  v%s", t.RawGetString("id").String(), t.RawGetString("type").String(),
		claims.Short(t.RawGetString("claim_id").String()), t.RawGetString("version").String())
	// Who did it and when: what history() is read for.
	if at, ok := t.RawGetString("occurred_at").(lua.LString); ok && len(at) >= 23 {
		line += "  " + strings.Replace(string(at[:23]), "T", " ", 1)
	}
	if actor, ok := t.RawGetString("actor").(lua.LString); ok && actor != "" {
		line += "  by " + string(actor)
	}
	if d, ok := t.RawGetString("deliveries").(lua.LNumber); ok {
		line += fmt.Sprintf("  (delivered %d times)", int(d))
	}
	return line
}

func writeValue(b *strings.Builder, v lua.LValue, depth int, seen map[*lua.LTable]bool) {
	t, ok := v.(*lua.LTable)
	if !ok {
		if s, isStr := v.(lua.LString); isStr && depth > 0 {
			b.WriteString(strconv.Quote(string(s)))
			return
		}
		b.WriteString(v.String())
		return
	}
	if seen[t] {
		b.WriteString("{...}")
		return
	}
	seen[t] = true
	defer delete(seen, t)
	if isEvent(t) {
		b.WriteString(eventLine(t))
		return
	}
	n := t.Len()
	if n > 0 && allEvents(t, n) {
		word := "events"
		if n == 1 {
			word = "event"
		}
		fmt.Fprintf(b, "%d %s", n, word)
		for i := 1; i <= n; i++ {
			b.WriteString("\n  " + eventLine(t.RawGetInt(i).(*lua.LTable)))
		}
		return
	}
	if depth > 3 {
		b.WriteString("{...}")
		return
	}
	var keys []lua.LValue
	t.ForEach(func(k, _ lua.LValue) { keys = append(keys, k) })
	if len(keys) == 0 {
		b.WriteString("{}")
		return
	}
	sort.Slice(keys, func(i, j int) bool {
		ni, iNum := keys[i].(lua.LNumber)
		nj, jNum := keys[j].(lua.LNumber)
		switch {
		case iNum && jNum:
			return ni < nj
		case iNum != jNum:
			return iNum
		}
		return keys[i].String() < keys[j].String()
	})
	indent := strings.Repeat("  ", depth+1)
	b.WriteString("{")
	for i, k := range keys {
		if depth == 0 {
			b.WriteString("\n" + indent)
		} else if i > 0 {
			b.WriteString(", ")
		}
		if _, isNum := k.(lua.LNumber); !isNum {
			b.WriteString(k.String() + " = ")
		}
		writeValue(b, t.RawGet(k), depth+1, seen)
	}
	if depth == 0 {
		b.WriteString("\n")
	}
	b.WriteString("}")
}

func allEvents(t *lua.LTable, n int) bool {
	for i := 1; i <= n; i++ {
		et, ok := t.RawGetInt(i).(*lua.LTable)
		if !ok || !isEvent(et) {
			return false
		}
	}
	return true
}

// idsOf accepts an event, a list of events, a stream id or a list of ids.
func idsOf(L *lua.LState, n int, fn string) []string {
	switch v := L.Get(n).(type) {
	case lua.LString:
		return []string{string(v)}
	case *lua.LTable:
		if id, ok := v.RawGetString("id").(lua.LString); ok {
			return []string{string(id)}
		}
		var ids []string
		for i := 1; i <= v.Len(); i++ {
			switch x := v.RawGetInt(i).(type) {
			case lua.LString:
				ids = append(ids, string(x))
			case *lua.LTable:
				id, ok := x.RawGetString("id").(lua.LString)
				if !ok {
					argError(L, n, fn, fmt.Sprintf("item %d has no id", i))
				}
				ids = append(ids, string(id))
			default:
				argError(L, n, fn, fmt.Sprintf("item %d is a %s, want an event or a stream id", i, x.Type()))
			}
		}
		return ids
	}
	argError(L, n, fn, fmt.Sprintf("want events (from consume) or stream ids, got %s", L.Get(n).Type()))
	return nil
}

// timeArg reads a bound that is a stream id or a time.
func timeArg(L *lua.LState, n int, fn, key, s string) (string, time.Time) {
	id, t, err := claims.ParseBound(s)
	if err != nil {
		argError(L, n, fn, fmt.Sprintf("%s: %v", key, err))
	}
	return id, t
}
