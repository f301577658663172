package claims

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"time"
)

// WireOrder lists field names the way claimsctl writes an event (type,
// claim_id, version …), then any others sorted, so a retried entry reads
// like the original in redis-cli (the DLQ keeps the fields as a JSON object,
// which has no order).
func WireOrder(fields map[string]string) []string {
	canonical := []string{FieldType, FieldClaimID, FieldVersion, FieldEventID, FieldOccurredAt, FieldActor, FieldData, FieldSchema}
	out := make([]string, 0, len(fields))
	for _, k := range canonical {
		if _, ok := fields[k]; ok {
			out = append(out, k)
		}
	}
	var rest []string
	for k := range fields {
		if !slices.Contains(canonical, k) {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	return append(out, rest...)
}

// EventType names one of the eight claim events of the lab.
type EventType string

// The eight claim event types, in lifecycle order.
const (
	ClaimSubmitted       EventType = "claim.submitted"
	ClaimAssigned        EventType = "claim.assigned"
	DocumentUploaded     EventType = "claim.document.uploaded"
	ClaimInvestigated    EventType = "claim.investigated"
	ClaimApproved        EventType = "claim.approved"
	ClaimRejected        EventType = "claim.rejected"
	PaymentInitiated     EventType = "claim.payment.initiated"
	PaymentCompleted     EventType = "claim.payment.completed"
	SchemaVersion                  = "1"
	TimeLayout                     = "2006-01-02T15:04:05.000Z07:00"
	DateLayout                     = "2006-01-02"
	DefaultActor                   = "claimsctl"
	maxDescriptionLength           = 2000
	MaxClaimAmount                 = 10_000_000
	FieldType                      = "type"
	FieldClaimID                   = "claim_id"
	FieldVersion                   = "version"
	FieldEventID                   = "event_id"
	FieldOccurredAt                = "occurred_at"
	FieldActor                     = "actor"
	FieldData                      = "data"
	FieldSchema                    = "schema"
)

// EventTypes lists every event type in lifecycle order.
var EventTypes = []EventType{
	ClaimSubmitted, ClaimAssigned, DocumentUploaded, ClaimInvestigated,
	ClaimApproved, ClaimRejected, PaymentInitiated, PaymentCompleted,
}

// Known reports whether t is one of the eight event types.
func (t EventType) Known() bool {
	for _, k := range EventTypes {
		if k == t {
			return true
		}
	}
	return false
}

// Event is one entry of claims:events. On the wire every field is a flat
// string so that redis-cli, Redis Insight and other clients read it as is.
type Event struct {
	ID         string         // stream entry id, e.g. "1795597353284-0"
	Type       EventType      // one of EventTypes
	ClaimID    string         // the claim this event belongs to
	Version    int64          // 1-based position of the event in its claim
	EventID    string         // uuid; idempotency key of the append
	OccurredAt time.Time      // business time, UTC, millisecond precision
	Actor      string         // who caused it (a user, a worker)
	Data       map[string]any // payload, schema per Type
}

// Fields returns the event as the flat field/value list written by XADD.
func (e Event) Fields() ([]any, error) {
	data := e.Data
	if data == nil {
		data = map[string]any{}
	}
	raw, err := encodeData(data)
	if err != nil {
		return nil, fmt.Errorf("encode %s data: %w", e.Type, err)
	}
	return []any{
		FieldType, string(e.Type),
		FieldClaimID, e.ClaimID,
		FieldVersion, strconv.FormatInt(e.Version, 10),
		FieldEventID, e.EventID,
		FieldOccurredAt, formatTime(e.OccurredAt),
		FieldActor, e.Actor,
		FieldData, string(raw),
		FieldSchema, SchemaVersion,
	}, nil
}

// DecodeEvent turns a stream entry back into an Event. Anything that does
// not follow the wire format is a *MalformedError naming the bad field.
func DecodeEvent(id string, values map[string]any) (Event, error) {
	str := func(name string) (string, error) {
		v, ok := values[name]
		if !ok {
			return "", &MalformedError{ID: id, Reason: fmt.Sprintf("field %q is missing", name)}
		}
		s, ok := v.(string)
		if !ok || s == "" {
			return "", &MalformedError{ID: id, Reason: fmt.Sprintf("field %q is empty", name)}
		}
		return s, nil
	}
	ev := Event{ID: id}
	typ, err := str(FieldType)
	if err != nil {
		return Event{}, err
	}
	ev.Type = EventType(typ)
	if !ev.Type.Known() {
		return Event{}, &MalformedError{ID: id, Reason: fmt.Sprintf("unknown event type %q", typ)}
	}
	if ev.ClaimID, err = str(FieldClaimID); err != nil {
		return Event{}, err
	}
	version, err := str(FieldVersion)
	if err != nil {
		return Event{}, err
	}
	if ev.Version, err = strconv.ParseInt(version, 10, 64); err != nil || ev.Version < 1 {
		return Event{}, &MalformedError{ID: id, Reason: fmt.Sprintf("version %q is not a positive integer", version)}
	}
	if ev.EventID, err = str(FieldEventID); err != nil {
		return Event{}, err
	}
	at, err := str(FieldOccurredAt)
	if err != nil {
		return Event{}, err
	}
	if ev.OccurredAt, err = time.Parse(time.RFC3339Nano, at); err != nil {
		return Event{}, &MalformedError{ID: id, Reason: fmt.Sprintf("occurred_at %q is not an RFC 3339 time", at)}
	}
	ev.OccurredAt = ev.OccurredAt.UTC()
	if ev.Actor, err = str(FieldActor); err != nil {
		return Event{}, err
	}
	raw, err := str(FieldData)
	if err != nil {
		return Event{}, err
	}
	if ev.Data, err = decodeData(raw); err != nil || ev.Data == nil {
		return Event{}, &MalformedError{ID: id, Reason: "data is not a JSON object"}
	}
	if s, _ := values[FieldSchema].(string); s != SchemaVersion {
		return Event{}, &MalformedError{ID: id, Reason: fmt.Sprintf("schema %q is not supported (want %q)", s, SchemaVersion)}
	}
	return ev, nil
}

// Number reads a numeric payload field (JSON numbers decode as float64).
func (e Event) Number(key string) float64 {
	f, _ := ToFloat(e.Data[key])
	return f
}

// String reads a string payload field.
func (e Event) String(key string) string {
	s, _ := e.Data[key].(string)
	return s
}

func RoundTrip(data map[string]any) (map[string]any, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("encode data: %w", err)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("decode data: %w", err)
	}
	return out, nil
}
