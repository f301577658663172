package luaapi

import (
	"fmt"
	"strings"

	"claimsctl/streams"
	"claimsctl/streams/claims"

	lua "github.com/yuin/gopher-lua"
)

// timeOut is how times appear in tables: RFC 3339, UTC, milliseconds.
const timeOut = "2006-01-02T15:04:05.000Z"

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

// eventTable: {id, type, claim_id, version, event_id, occurred_at, actor, data}:
// id is the stream entry id, event_id the uuid as on the wire.
func eventTable(L *lua.LState, e claims.Event) *lua.LTable {
	t := L.NewTable()
	t.RawSetString("id", lua.LString(e.ID))
	t.RawSetString("type", lua.LString(e.Type))
	t.RawSetString("claim_id", lua.LString(e.ClaimID))
	t.RawSetString("version", lua.LNumber(e.Version))
	t.RawSetString("event_id", lua.LString(e.EventID))
	t.RawSetString("occurred_at", lua.LString(e.OccurredAt.UTC().Format(timeOut)))
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
	if d.Stream != "" {
		t.RawSetString("stream", lua.LString(d.Stream))
	}
	return t
}
