package luaapi

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"

	"claimsctl/streams"
	"claimsctl/streams/claims"

	"github.com/google/uuid"
	lua "github.com/yuin/gopher-lua"
)

// controlKeys are options of a command rather than payload fields.
var controlKeys = []string{"expected_version", "actor"}

// commandSpec describes one lifecycle command: its event type, the Lua
// names that differ from the payload's, and a scalar second argument.
type commandSpec struct {
	name    string
	event   claims.EventType
	aliases map[string]string // Lua key -> payload field
	scalar  string            // payload field a plain second argument fills
}

var commands = []commandSpec{
	{name: "assign", event: claims.ClaimAssigned, scalar: "adjuster"},
	{name: "upload", event: claims.DocumentUploaded, aliases: map[string]string{"type": "document_type", "file": "filename"}},
	{name: "investigate", event: claims.ClaimInvestigated, scalar: "findings"},
	{name: "approve", event: claims.ClaimApproved, aliases: map[string]string{"amount": "approved_amount"}, scalar: "approved_amount"},
	{name: "reject", event: claims.ClaimRejected, scalar: "reason"},
	{name: "pay", event: claims.PaymentInitiated},
	{name: "settle", event: claims.PaymentCompleted},
}

// submitAliases are submit{}'s Lua names for the claim.submitted payload.
var submitAliases = map[string]string{
	"customer": "customer_id", "policy": "policy_id", "type": "claim_type",
}

// submitFields are the keys of submit{}'s table.
var submitFields = []string{"customer", "policy", "amount", "type", "incident_date", "description", "id", "actor"}

// notAClaimFields is the error for the unknown fields of submit{}, every
// one of them at once: the seed's JavaScript writes customerId, policyId,
// claimType and incidentDate, and fixing them one per try is four tries.
// The lab's own code names the fields as the event does (policy_id): say
// which short name to write instead.
func notAClaimFields(unknown []string, allowed []string) string {
	slices.Sort(unknown)
	var fixes, others, wires []string
	for _, k := range unknown {
		if name, wire := claimFieldFor(k, allowed); name != "" {
			fixes = append(fixes, fmt.Sprintf("%s: write %s", claims.Quote(k), name))
			if wire != "" {
				wires = append(wires, wire)
			}
		} else {
			others = append(others, claims.Quote(k))
		}
	}
	note := ""
	switch len(wires) {
	case 0:
	case 1:
		note = fmt.Sprintf(" (submit takes the short names; %s is the name in the event)", wires[0])
	default:
		note = fmt.Sprintf(" (submit takes the short names; %s are the names in the event)", strings.Join(wires, ", "))
	}
	if len(unknown) == 1 {
		if len(fixes) == 1 {
			return claims.Quote(unknown[0]) + " is not a field of a claim: write " + strings.SplitN(fixes[0], ": write ", 2)[1] + note
		}
		return fmt.Sprintf("%s is not a field of a claim (fields: %s)", claims.Quote(unknown[0]), strings.Join(allowed, ", "))
	}
	var parts []string
	if len(fixes) > 0 {
		parts = append(parts, strings.Join(fixes, "; ")+note)
	}
	if len(others) > 0 {
		parts = append(parts, fmt.Sprintf("%s (fields: %s)", strings.Join(others, ", "), strings.Join(allowed, ", ")))
	}
	return fmt.Sprintf("%d names are not fields of a claim: %s", len(unknown), strings.Join(parts, "; "))
}

// claimFieldFor is the allowed name to write for the unknown field k, and
// the event's name for it when k is that name written another way
// (policy_id, policyId, PolicyID, incidentDate); "" when k is no known
// field written another way.
func claimFieldFor(k string, allowed []string) (name, wire string) {
	flat := func(s string) string { return strings.ToLower(strings.ReplaceAll(s, "_", "")) }
	for short, w := range submitAliases {
		if flat(k) == flat(w) {
			return short, w
		}
	}
	for _, name := range allowed {
		if flat(k) == flat(name) {
			return name, ""
		}
	}
	return "", ""
}

// produceModule is claims.produce: every command appends one event.
type produceModule struct {
	store    *streams.Store
	out      io.Writer // warnings, as print() writes
	echo     *echo
	progress progress
	loops    *loopSet // the session's submit loops, stopped when it closes
}

func (m *produceModule) Loader(L *lua.LState) int {
	funcs := map[string]lua.LGFunction{
		"submit":      m.submit,
		"emit":        m.emit,
		"submit_loop": m.submitLoop,
	}
	for _, c := range commands {
		funcs[c.name] = m.command(c)
	}
	maps.Copy(funcs, m.bulkFuncs())
	L.Push(L.SetFuncs(L.NewTable(), funcs))
	return 1
}

func (m *produceModule) submit(L *lua.LState) int {
	t := L.CheckTable(1)
	raw, err := fromLua(t, "submit{}")
	if err != nil {
		argError(L, 1, "submit", err.Error())
	}
	fields, ok := raw.(map[string]any)
	if !ok {
		argError(L, 1, "submit", "want a table like {customer=, policy=, amount=, type=, incident_date=, description=}")
	}
	var unknown []string
	for k := range fields {
		if !slices.Contains(submitFields, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		argError(L, 1, "submit", notAClaimFields(unknown, submitFields))
	}
	claimID := stringField(L, 1, "submit", fields, "id", "a claim id")
	if _, given := fields["id"]; given {
		if claimID == "" {
			argError(L, 1, "submit", "id must not be empty (leave id out and the claim gets a new uuid)")
		}
		checkClaimID(L, 1, "submit", "id", claimID)
	}
	opts := streams.EmitOptions{Actor: stringField(L, 1, "submit", fields, "actor", "who files the claim")}
	// fields becomes the payload in place (no second map per call): the
	// control keys out, the short names to the event's.
	delete(fields, "id")
	delete(fields, "actor")
	for short, wire := range submitAliases {
		if v, ok := fields[short]; ok {
			delete(fields, short)
			fields[wire] = v
		}
	}
	ev, claim, err := m.store.Emit(ctxOf(L), claimID, claims.ClaimSubmitted, fields, opts)
	if err != nil {
		return raise(L, renameFields(err, invert(submitAliases)))
	}
	return m.pushResult(L, ev, claim)
}

// command builds one lifecycle command from its spec.
func (m *produceModule) command(c commandSpec) lua.LGFunction {
	return func(L *lua.LState) int {
		claimID := claimIDArg(L, 1, c.name)
		data := map[string]any{}
		opts := streams.EmitOptions{}
		switch v := L.Get(2).(type) {
		case *lua.LNilType:
		case *lua.LTable:
			raw, err := fromLua(v, c.name+"{}")
			if err != nil {
				argError(L, 2, c.name, err.Error())
			}
			fields, _ := raw.(map[string]any)
			if bad, allowed := unknownOption(fields, c); bad != "" {
				argError(L, 2, c.name, fmt.Sprintf("%q is not an option of %s (options: %s)", bad, c.name, strings.Join(allowed, ", ")))
			}
			if val, ok := fields["expected_version"]; ok {
				version := expectedVersion(L, 2, c.name, val)
				opts.ExpectedVersion = &version
			}
			opts.Actor = stringField(L, 2, c.name, fields, "actor", "who did it")
			for k, val := range fields {
				if slices.Contains(controlKeys, k) {
					continue
				}
				if wire, ok := c.aliases[k]; ok {
					k = wire
				}
				data[k] = val
			}
		case lua.LString, lua.LNumber:
			if c.scalar == "" {
				argError(L, 2, c.name, fmt.Sprintf("want an options table, got %s", v.Type()))
			}
			name := c.scalar
			if alias, ok := invert(c.aliases)[name]; ok {
				name = alias
			}
			val, err := fromLua(v, name)
			if err != nil {
				argError(L, 2, c.name, err.Error())
			}
			data[c.scalar] = val
		default:
			argError(L, 2, c.name, fmt.Sprintf("want an options table, got %s", v.Type()))
		}
		ev, claim, err := m.store.Emit(ctxOf(L), claimID, c.event, data, opts)
		if err != nil {
			if s, ok := L.Get(2).(lua.LString); ok && errors.Is(err, claims.ErrNotFound) && uuid.Validate(string(s)) == nil {
				// assign("ADJ-001", c.id): the claim id came second.
				second := c.scalar
				if alias, ok := invert(c.aliases)[second]; ok {
					second = alias
				}
				return raise(L, fmt.Errorf("%w; the second argument looks like a claim id: %s(claim_id, %s) takes the claim first", err, c.name, second))
			}
			return raise(L, renameFields(err, invert(c.aliases)))
		}
		return m.pushResult(L, ev, claim)
	}
}

func (m *produceModule) emit(L *lua.LState) int {
	claimID := claimIDArg(L, 1, "emit")
	typ := claims.EventType(L.CheckString(2))
	raw, err := fromLua(L.OptTable(3, L.NewTable()), "data")
	if err != nil {
		argError(L, 3, "emit", err.Error())
	}
	data, _ := raw.(map[string]any)
	if data == nil {
		data = map[string]any{}
	}
	o := optionsAt(L, 4, "emit", controlKeys...)
	opts := streams.EmitOptions{Actor: o.text("actor", "")}
	if o.has("expected_version") {
		v := o.whole("expected_version", 0, 0, math.MaxInt64)
		opts.ExpectedVersion = &v
	}
	ev, claim, err := m.store.Emit(ctxOf(L), claimID, typ, data, opts)
	if err != nil {
		return raise(L, err)
	}
	return m.pushResult(L, ev, claim)
}

func (m *produceModule) pushResult(L *lua.LState, ev claims.Event, claim *claims.Claim) int {
	f := claimFields(L, claim, 3)
	// As in an event table: event_id is the uuid on the wire; the entry
	// id (event.id) is entry_id here, since id is the claim's.
	f.setString(kEntryID, ev.ID)
	f.setString(kEventID, ev.EventID)
	f.set(kEvent, eventTable(L, ev))
	t := f.t
	if m.echo.on {
		m.echo.summary(t, "claim %s %s (v%d) as %s", claims.Short(claim.ID), pastTense(ev.Type, claim), claim.Version, ev.ID)
	}
	L.Push(t)
	return 1
}

func pastTense(t claims.EventType, c *claims.Claim) string {
	switch t {
	case claims.ClaimSubmitted:
		return "submitted"
	case claims.ClaimAssigned:
		return "assigned to " + c.Adjuster
	case claims.DocumentUploaded:
		return fmt.Sprintf("got a document (%d in all)", c.Documents)
	case claims.ClaimInvestigated:
		return "is " + string(c.Status)
	case claims.PaymentInitiated:
		return "payment " + c.PaymentID + " initiated"
	case claims.PaymentCompleted:
		return "paid"
	}
	return string(c.Status)
}

// stringField reads an optional string of a fields table (what says what
// it is): a number or a table there is refused, not ignored.
func stringField(L *lua.LState, arg int, fn string, fields map[string]any, key, what string) string {
	v, ok := fields[key]
	if !ok {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		argError(L, arg, fn, fmt.Sprintf("%s must be a string (%s), got %s", key, what, describeValue(v)))
	}
	return s
}

// expectedVersion reads expected_version= from a fields table: a whole
// number, 0 or more.
func expectedVersion(L *lua.LState, arg int, fn string, v any) int64 {
	f, ok := v.(float64)
	if !ok {
		argError(L, arg, fn, "expected_version must be a whole number, got "+describeValue(v))
	}
	n, problem := wholeNumber(f, 0, math.MaxInt64)
	if problem != "" {
		argError(L, arg, fn, "expected_version "+problem)
	}
	return n
}

// renameFields shows a validation error with the names the student typed
// (customer rather than customer_id).
func renameFields(err error, wireToLua map[string]string) error {
	var verr *claims.ValidationError
	if !errors.As(err, &verr) {
		return err
	}
	name, ok := wireToLua[verr.Field]
	if !ok {
		return err
	}
	renamed := *verr
	renamed.Field = name
	return errors.New(strings.Replace(err.Error(), verr.Error(), renamed.Error(), 1))
}

func invert(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[v] = k
	}
	return out
}

// unknownOption finds a key that is neither a payload field of the
// command's event (under its Lua name) nor a control key, so a typo such
// as {amuont=5} is refused in the words the student used.
func unknownOption(fields map[string]any, c commandSpec) (bad string, allowed []string) {
	wireToLua := invert(c.aliases)
	required, optional := claims.SchemaFields(c.event)
	for _, f := range append(required, optional...) {
		if name, ok := wireToLua[f]; ok {
			f = name
		}
		allowed = append(allowed, f)
	}
	allowed = append(allowed, controlKeys...)
	var unknown []string
	for k := range fields {
		if !slices.Contains(allowed, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return "", allowed
	}
	slices.Sort(unknown)
	return unknown[0], allowed
}
