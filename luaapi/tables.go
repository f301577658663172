package luaapi

import (
	"fmt"
	"time"

	"claimsctl/streams"
	"claimsctl/streams/claims"

	lua "github.com/yuin/gopher-lua"
)

// timeOut is how times appear in tables: RFC 3339, UTC, milliseconds.
const timeOut = "2006-01-02T15:04:05.000Z"

// claimTable is a claim as Lua sees it: the snake_case fields of
// claims.Claim (its JSON names, with the same omissions), times as RFC
// 3339 strings. Built field by field: through encoding/json it cost a
// script more CPU than the command's round trip.
func claimTable(L *lua.LState, c *claims.Claim) *lua.LTable {
	t := L.CreateTable(0, 26)
	t.RawSetString("id", lua.LString(c.ID))
	t.RawSetString("status", lua.LString(c.Status))
	t.RawSetString("version", lua.LNumber(c.Version))
	t.RawSetString("customer_id", lua.LString(c.CustomerID))
	t.RawSetString("policy_id", lua.LString(c.PolicyID))
	t.RawSetString("claim_type", lua.LString(c.ClaimType))
	t.RawSetString("incident_date", lua.LString(c.IncidentDate))
	t.RawSetString("description", lua.LString(c.Description))
	t.RawSetString("amount", lua.LNumber(c.Amount))
	setNonZero(t, "approved_amount", c.ApprovedAmount)
	setNonZero(t, "paid_amount", c.PaidAmount)
	setNonEmpty(t, "adjuster", c.Adjuster)
	t.RawSetString("documents", lua.LNumber(c.Documents))
	setNonEmpty(t, "findings", c.Findings)
	setNonEmpty(t, "fraud_risk", c.FraudRisk)
	setNonEmpty(t, "rejection_reason", c.RejectionReason)
	setNonEmpty(t, "rejection_code", c.RejectionCode)
	setNonEmpty(t, "payment_id", c.PaymentID)
	t.RawSetString("submitted_at", lua.LString(c.SubmittedAt.Format(time.RFC3339Nano)))
	t.RawSetString("updated_at", lua.LString(c.UpdatedAt.Format(time.RFC3339Nano)))
	if !c.DecidedAt.IsZero() {
		t.RawSetString("decided_at", lua.LString(c.DecidedAt.Format(time.RFC3339Nano)))
	}
	if !c.PaidAt.IsZero() {
		t.RawSetString("paid_at", lua.LString(c.PaidAt.Format(time.RFC3339Nano)))
	}
	if c.Entries != nil {
		entries := L.CreateTable(len(c.Entries), 0)
		for _, id := range c.Entries {
			entries.Append(lua.LString(id))
		}
		t.RawSetString("entries", entries)
	}
	if c.Trimmed {
		t.RawSetString("trimmed", lua.LTrue)
	}
	L.SetMetatable(t, claimMetatable(L))
	return t
}

// claimMetatableKey is where a state keeps the one metatable of its claim
// tables, in the registry.
const claimMetatableKey = "claimsctl.claim"

// claimMetatable lets a claim be read under submit{}'s short names too:
// c.policy, c.customer and c.type are c.policy_id, c.customer_id and
// c.claim_type, since a student who wrote submit{policy=} reads c.policy.
// They are not fields of the table (pairs and the REPL show each field
// once), and the metatable is protected: getmetatable returns a string,
// setmetatable refuses, so a script cannot change how another's claims
// read.
func claimMetatable(L *lua.LState) *lua.LTable {
	reg := L.Get(lua.RegistryIndex).(*lua.LTable)
	if mt, ok := reg.RawGetString(claimMetatableKey).(*lua.LTable); ok {
		return mt
	}
	mt := L.NewTable()
	mt.RawSetString("__index", L.NewFunction(func(L *lua.LState) int {
		t := L.CheckTable(1)
		if k, ok := L.Get(2).(lua.LString); ok {
			if wire, ok := submitAliases[string(k)]; ok {
				L.Push(t.RawGetString(wire))
				return 1
			}
		}
		L.Push(lua.LNil)
		return 1
	}))
	mt.RawSetString("__metatable", lua.LString("claim"))
	reg.RawSetString(claimMetatableKey, mt)
	return mt
}

func setNonEmpty(t *lua.LTable, key, v string) {
	if v != "" {
		t.RawSetString(key, lua.LString(v))
	}
}

func setNonZero(t *lua.LTable, key string, v float64) {
	if v != 0 {
		t.RawSetString(key, lua.LNumber(v))
	}
}

// eventTable: {id, type, claim_id, version, event_id, occurred_at, actor, data}:
// id is the stream entry id, event_id the uuid as on the wire.
func eventTable(L *lua.LState, e claims.Event) *lua.LTable {
	t := L.CreateTable(0, 8)
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
