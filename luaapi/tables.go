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
	return claimFields(L, c, 0).t
}

// The keys of claim and event tables, boxed once (fieldtable.go).
var (
	kID, kStatus, kVersion                 = fkey("id"), fkey("status"), fkey("version")
	kCustomerID, kPolicyID, kClaimType     = fkey("customer_id"), fkey("policy_id"), fkey("claim_type")
	kIncidentDate, kDescription, kAmount   = fkey("incident_date"), fkey("description"), fkey("amount")
	kApprovedAmount, kPaidAmount           = fkey("approved_amount"), fkey("paid_amount")
	kAdjuster, kDocuments, kFindings       = fkey("adjuster"), fkey("documents"), fkey("findings")
	kFraudRisk, kRejectionReason           = fkey("fraud_risk"), fkey("rejection_reason")
	kRejectionCode, kPaymentID             = fkey("rejection_code"), fkey("payment_id")
	kSubmittedAt, kUpdatedAt               = fkey("submitted_at"), fkey("updated_at")
	kDecidedAt, kPaidAt                    = fkey("decided_at"), fkey("paid_at")
	kEntries, kTrimmed                     = fkey("entries"), fkey("trimmed")
	kType, kClaimID, kEventID, kOccurredAt = fkey("type"), fkey("claim_id"), fkey("event_id"), fkey("occurred_at")
	kActor, kData, kEntryID, kEvent        = fkey("actor"), fkey("data"), fkey("entry_id"), fkey("event")
)

// claimKeys is how many keys claimFields sets for c: a map sized for
// every field a claim may have is twice the size, and costs as much
// again to allocate and clear, for a claim just submitted.
func claimKeys(c *claims.Claim) int {
	n := 12 // id, status, version, customer_id … submitted_at, updated_at
	for _, set := range [...]bool{
		c.ApprovedAmount != 0, c.PaidAmount != 0, c.Adjuster != "", c.Findings != "",
		c.FraudRisk != "", c.RejectionReason != "", c.RejectionCode != "", c.PaymentID != "",
		!c.DecidedAt.IsZero(), !c.PaidAt.IsZero(), c.Entries != nil, c.Trimmed,
	} {
		if set {
			n++
		}
	}
	return n
}

// claimFields is claimTable with room for extra more keys.
func claimFields(L *lua.LState, c *claims.Claim, extra int) fieldTable {
	t := newFieldTable(L, claimKeys(c)+extra)
	t.setString(kID, c.ID)
	t.setString(kStatus, string(c.Status))
	t.setNumber(kVersion, float64(c.Version))
	t.setString(kCustomerID, c.CustomerID)
	t.setString(kPolicyID, c.PolicyID)
	t.setString(kClaimType, c.ClaimType)
	t.setString(kIncidentDate, c.IncidentDate)
	t.setString(kDescription, c.Description)
	t.setNumber(kAmount, c.Amount)
	t.setNonZero(kApprovedAmount, c.ApprovedAmount)
	t.setNonZero(kPaidAmount, c.PaidAmount)
	t.setNonEmpty(kAdjuster, c.Adjuster)
	t.setNumber(kDocuments, float64(c.Documents))
	t.setNonEmpty(kFindings, c.Findings)
	t.setNonEmpty(kFraudRisk, c.FraudRisk)
	t.setNonEmpty(kRejectionReason, c.RejectionReason)
	t.setNonEmpty(kRejectionCode, c.RejectionCode)
	t.setNonEmpty(kPaymentID, c.PaymentID)
	submitted := lua.LString(formatTime(c.SubmittedAt, time.RFC3339Nano))
	t.set(kSubmittedAt, submitted)
	if c.UpdatedAt.Equal(c.SubmittedAt) && c.UpdatedAt.Location() == c.SubmittedAt.Location() {
		// A claim just submitted: one string for both (the same text).
		t.set(kUpdatedAt, submitted)
	} else {
		t.setString(kUpdatedAt, formatTime(c.UpdatedAt, time.RFC3339Nano))
	}
	if !c.DecidedAt.IsZero() {
		t.setString(kDecidedAt, formatTime(c.DecidedAt, time.RFC3339Nano))
	}
	if !c.PaidAt.IsZero() {
		t.setString(kPaidAt, formatTime(c.PaidAt, time.RFC3339Nano))
	}
	if c.Entries != nil {
		entries := L.CreateTable(len(c.Entries), 0)
		for _, id := range c.Entries {
			entries.Append(lua.LString(id))
		}
		t.set(kEntries, entries)
	}
	if c.Trimmed {
		t.set(kTrimmed, lua.LTrue)
	}
	L.SetMetatable(t.t, claimMetatable(L))
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

// eventTable: {id, type, claim_id, version, event_id, occurred_at, actor, data}:
// id is the stream entry id, event_id the uuid as on the wire.
func eventTable(L *lua.LState, e claims.Event) *lua.LTable {
	t := newFieldTable(L, 8)
	t.setString(kID, e.ID)
	t.setString(kType, string(e.Type))
	t.setString(kClaimID, e.ClaimID)
	t.setNumber(kVersion, float64(e.Version))
	t.setString(kEventID, e.EventID)
	t.setString(kOccurredAt, formatTime(e.OccurredAt.UTC(), timeOut))
	t.setString(kActor, e.Actor)
	t.set(kData, dataTable(L, e.Data))
	return t.t
}

// dataTable is toLua of an event's payload (a table, empty for nil), its usual keys boxed once.
func dataTable(L *lua.LState, data map[string]any) lua.LValue {
	t := newFieldTable(L, len(data))
	for k, v := range data {
		fk, ok := dataKeys[k]
		if !ok {
			fk = fieldKey{name: k, v: lua.LString(k)}
		}
		if v := toLua(L, v); v != lua.LNil {
			t.set(fk, v)
		}
	}
	return t.t
}

// dataKeys are the payload fields of the schemas, boxed once.
var dataKeys = func() map[string]fieldKey {
	out := map[string]fieldKey{}
	for _, t := range claims.EventTypes {
		for _, r := range claims.FieldRules(t) {
			out[r.Name] = fkey(r.Name)
		}
	}
	return out
}()

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

// formatTime is t.Format(layout) for layout time.RFC3339Nano or timeOut,
// written directly for a time at offset 0 in years 0-9999 (every claim's
// and event's time): Format reads its layout anew each call, three times
// a command.
func formatTime(t time.Time, layout string) string {
	y, mo, d := t.Date()
	if _, off := t.Zone(); off != 0 || y < 0 || y > 9999 || (layout != time.RFC3339Nano && layout != timeOut) {
		return t.Format(layout)
	}
	var b [len("2006-01-02T15:04:05.000000000Z")]byte
	h, mi, s := t.Clock()
	digits := func(at, v, width int) {
		for i := at + width - 1; i >= at; i-- {
			b[i] = byte('0' + v%10)
			v /= 10
		}
	}
	digits(0, y, 4)
	b[4] = '-'
	digits(5, int(mo), 2)
	b[7] = '-'
	digits(8, d, 2)
	b[10] = 'T'
	digits(11, h, 2)
	b[13] = ':'
	digits(14, mi, 2)
	b[16] = ':'
	digits(17, s, 2)
	n := 19
	ns := t.Nanosecond()
	if layout == timeOut {
		b[n] = '.'
		digits(n+1, ns/1e6, 3)
		n += 4
	} else if ns != 0 {
		// RFC3339Nano: the fraction without its trailing zeros.
		b[n] = '.'
		digits(n+1, ns, 9)
		n += 10
		for b[n-1] == '0' {
			n--
		}
	}
	b[n] = 'Z'
	return string(b[:n+1])
}
