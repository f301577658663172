package streams

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

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
	schemaVersion                  = "1"
	timeLayout                     = "2006-01-02T15:04:05.000Z07:00"
	dateLayout                     = "2006-01-02"
	defaultActor                   = "claimsctl"
	maxDescriptionLength           = 2000
	maxClaimAmount                 = 10_000_000
	fieldType                      = "type"
	fieldClaimID                   = "claim_id"
	fieldVersion                   = "version"
	fieldEventID                   = "event_id"
	fieldOccurredAt                = "occurred_at"
	fieldActor                     = "actor"
	fieldData                      = "data"
	fieldSchema                    = "schema"
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
	raw, err := json.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("encode %s data: %w", e.Type, err)
	}
	return []any{
		fieldType, string(e.Type),
		fieldClaimID, e.ClaimID,
		fieldVersion, strconv.FormatInt(e.Version, 10),
		fieldEventID, e.EventID,
		fieldOccurredAt, e.OccurredAt.UTC().Format(timeLayout),
		fieldActor, e.Actor,
		fieldData, string(raw),
		fieldSchema, schemaVersion,
	}, nil
}

// MalformedError says why a stream entry is not a claim event, e.g. one
// written by hand with redis-cli. Workers send such entries to the DLQ.
type MalformedError struct {
	ID     string
	Reason string
}

func (e *MalformedError) Error() string {
	return fmt.Sprintf("entry %s is not a claim event: %s", e.ID, e.Reason)
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
	typ, err := str(fieldType)
	if err != nil {
		return Event{}, err
	}
	ev.Type = EventType(typ)
	if !ev.Type.Known() {
		return Event{}, &MalformedError{ID: id, Reason: fmt.Sprintf("unknown event type %q", typ)}
	}
	if ev.ClaimID, err = str(fieldClaimID); err != nil {
		return Event{}, err
	}
	version, err := str(fieldVersion)
	if err != nil {
		return Event{}, err
	}
	if ev.Version, err = strconv.ParseInt(version, 10, 64); err != nil || ev.Version < 1 {
		return Event{}, &MalformedError{ID: id, Reason: fmt.Sprintf("version %q is not a positive integer", version)}
	}
	if ev.EventID, err = str(fieldEventID); err != nil {
		return Event{}, err
	}
	at, err := str(fieldOccurredAt)
	if err != nil {
		return Event{}, err
	}
	if ev.OccurredAt, err = time.Parse(time.RFC3339Nano, at); err != nil {
		return Event{}, &MalformedError{ID: id, Reason: fmt.Sprintf("occurred_at %q is not an RFC 3339 time", at)}
	}
	ev.OccurredAt = ev.OccurredAt.UTC()
	if ev.Actor, err = str(fieldActor); err != nil {
		return Event{}, err
	}
	raw, err := str(fieldData)
	if err != nil {
		return Event{}, err
	}
	if err := json.Unmarshal([]byte(raw), &ev.Data); err != nil || ev.Data == nil {
		return Event{}, &MalformedError{ID: id, Reason: "data is not a JSON object"}
	}
	if s, _ := values[fieldSchema].(string); s != schemaVersion {
		return Event{}, &MalformedError{ID: id, Reason: fmt.Sprintf("schema %q is not supported (want %q)", s, schemaVersion)}
	}
	return ev, nil
}

// Number reads a numeric payload field (JSON numbers decode as float64).
func (e Event) Number(key string) float64 {
	f, _ := toFloat(e.Data[key])
	return f
}

// String reads a string payload field.
func (e Event) String(key string) string {
	s, _ := e.Data[key].(string)
	return s
}
