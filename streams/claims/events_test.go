package claims

import (
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// wireValues turns Fields' flat list into the map go-redis hands a reader.
func wireValues(t *testing.T, fields []any) map[string]any {
	t.Helper()
	require.Zero(t, len(fields)%2, "fields come in pairs")
	values := make(map[string]any, len(fields)/2)
	for i := 0; i < len(fields); i += 2 {
		name, ok := fields[i].(string)
		require.True(t, ok, "field name %v is a string", fields[i])
		value, ok := fields[i+1].(string)
		require.True(t, ok, "value of %s is a string", name)
		values[name] = value
	}
	return values
}

func TestFieldsWireFormat(t *testing.T) {
	t.Parallel()
	e := Event{
		Type: ClaimApproved, ClaimID: "C-1", Version: 6, EventID: "0b6e1c4a-1111-4222-8333-944445555666",
		OccurredAt: time.Date(2026, 11, 25, 11, 30, 5, 123_456_789, time.FixedZone("CET", 3600)),
		Actor:      "adjuster ADJ-001", Data: map[string]any{"approved_amount": 2000.5},
	}
	fields, err := e.Fields()
	require.NoError(t, err)
	names := make([]any, 0, 8)
	for i := 0; i < len(fields); i += 2 {
		names = append(names, fields[i])
	}
	assert.Equal(t, []any{"type", "claim_id", "version", "event_id", "occurred_at", "actor", "data", "schema"}, names, "the eight fields, in wire order")
	assert.Equal(t, map[string]any{
		"type": "claim.approved", "claim_id": "C-1", "version": "6", "event_id": "0b6e1c4a-1111-4222-8333-944445555666",
		"occurred_at": "2026-11-25T10:30:05.123Z", // UTC, milliseconds
		"actor":       "adjuster ADJ-001", "data": `{"approved_amount":2000.5}`, "schema": "1",
	}, wireValues(t, fields))
}

func TestFieldsNilData(t *testing.T) {
	t.Parallel()
	fields, err := Event{Type: PaymentCompleted, ClaimID: "C", Version: 1, EventID: "e", Actor: "a"}.Fields()
	require.NoError(t, err)
	assert.Equal(t, "{}", wireValues(t, fields)["data"])
}

func TestFieldsUnencodableData(t *testing.T) {
	t.Parallel()
	_, err := Event{Type: ClaimAssigned, Data: map[string]any{"adjuster": make(chan int)}}.Fields()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "encode claim.assigned data")
}

func TestFieldsDecodeRoundTrip(t *testing.T) {
	t.Parallel()
	for i, e := range lifecycleEvents("6f1d0a4e-8d55-4bd5-9d3e-1f0c3b2a9e77", claimT0.Add(987*time.Millisecond)) {
		t.Run(fmt.Sprintf("v%d-%s", e.Version, e.Type), func(t *testing.T) {
			t.Parallel()
			fields, err := e.Fields()
			require.NoError(t, err)
			got, err := DecodeEvent(e.ID, wireValues(t, fields))
			require.NoError(t, err, "event %d", i)
			assert.Equal(t, e, got)
			assert.Equal(t, time.UTC, got.OccurredAt.Location())
		})
	}
}

func TestEventAccessors(t *testing.T) {
	t.Parallel()
	e := Event{Data: map[string]any{"amount": 2500.0, "n": 3, "name": "x", "bad": true}}
	assert.Equal(t, 2500.0, e.Number("amount"))
	assert.Equal(t, 3.0, e.Number("n"))
	assert.Zero(t, e.Number("name"))
	assert.Zero(t, e.Number("missing"))
	assert.Equal(t, "x", e.String("name"))
	assert.Empty(t, e.String("amount"))
	assert.Empty(t, e.String("missing"))
}

func TestEventTypesKnown(t *testing.T) {
	t.Parallel()
	assert.Len(t, EventTypes, 8)
	for _, typ := range EventTypes {
		assert.True(t, typ.Known(), "%s", typ)
	}
	assert.False(t, EventType("claim.exploded").Known())
	assert.False(t, EventType("").Known())
}

func TestDecodeEventMalformed(t *testing.T) {
	t.Parallel()
	good := func() map[string]any {
		fields, err := lifecycleEvents("C-1", claimT0)[0].Fields()
		if err != nil {
			panic(err)
		}
		values := map[string]any{}
		for i := 0; i < len(fields); i += 2 {
			values[fields[i].(string)] = fields[i+1]
		}
		return values
	}
	set := func(k string, v any) map[string]any {
		m := good()
		m[k] = v
		return m
	}
	drop := func(k string) map[string]any {
		m := good()
		delete(m, k)
		return m
	}
	tests := []struct {
		name   string
		values map[string]any
		reason string
	}{
		{"missing type", drop("type"), `field "type" is missing`},
		{"missing claim_id", drop("claim_id"), `field "claim_id" is missing`},
		{"missing version", drop("version"), `field "version" is missing`},
		{"missing event_id", drop("event_id"), `field "event_id" is missing`},
		{"missing occurred_at", drop("occurred_at"), `field "occurred_at" is missing`},
		{"missing actor", drop("actor"), `field "actor" is missing`},
		{"missing data", drop("data"), `field "data" is missing`},
		{"missing schema", drop("schema"), `schema "" is not supported (want "1")`},
		{"empty claim_id", set("claim_id", ""), `field "claim_id" is empty`},
		{"non-string actor", set("actor", 7), `field "actor" is empty`},
		{"unknown type", set("type", "claim.exploded"), `unknown event type "claim.exploded"`},
		{"version not a number", set("version", "two"), `version "two" is not a positive integer`},
		{"version zero", set("version", "0"), `version "0" is not a positive integer`},
		{"version negative", set("version", "-3"), `version "-3" is not a positive integer`},
		{"version fraction", set("version", "1.5"), `version "1.5" is not a positive integer`},
		{"bad time", set("occurred_at", "yesterday"), `occurred_at "yesterday" is not an RFC 3339 time`},
		{"time before year 0 in UTC", set("occurred_at", "0000-01-01T00:00:00+01:00"), `occurred_at "0000-01-01T00:00:00+01:00" is outside the years 0000 to 9999 in UTC`},
		{"time after year 9999 in UTC", set("occurred_at", "9999-12-31T23:30:00-05:00"), `occurred_at "9999-12-31T23:30:00-05:00" is outside the years 0000 to 9999 in UTC`},
		{"time without zone", set("occurred_at", "2026-11-25T10:00:00"), `occurred_at "2026-11-25T10:00:00" is not an RFC 3339 time`},
		{"data not JSON", set("data", "{amount: 1"), "data is not a JSON object"},
		{"data an array", set("data", "[1,2]"), "data is not a JSON object"},
		{"data null", set("data", "null"), "data is not a JSON object"},
		{"data a string", set("data", `"x"`), "data is not a JSON object"},
		{"wrong schema", set("schema", "2"), `schema "2" is not supported (want "1")`},
		{"only a note", map[string]any{"note": "hello from redis-cli"}, `field "type" is missing`},
		// The claim id reaches key names and log lines: only a claim id will do.
		{"claim_id forging a log line", set("claim_id", "x\n  [audit a1  1-0  claim.approved x v1 -> handled]"), `claim_id is not a claim id: it may hold only letters, digits, '-', '_' and '.'; got '\n'`},
		{"claim_id with ANSI", set("claim_id", "\x1b[2J"), `claim_id is not a claim id: it may hold only letters, digits, '-', '_' and '.'; got '\x1b'`},
		{"claim_id of 1 MB", set("claim_id", strings.Repeat("a", 1<<20)), "claim_id is not a claim id: it must be at most 64 characters, got 1048576"},
		{"claim_id a key pattern", set("claim_id", "*"), `claim_id is not a claim id: it may hold only letters, digits, '-', '_' and '.'; got '*'`},
		{"huge type is clipped", set("type", strings.Repeat("t", 1<<20)), `unknown event type "` + strings.Repeat("t", 40) + `"… (1048576 bytes)`},
		{"type with ANSI is quoted", set("type", "\x1b[31m"), `unknown event type "\x1b[31m"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := maps.Clone(tt.values)
			ev, err := DecodeEvent("1795597353284-0", tt.values)
			require.Error(t, err)
			assert.Equal(t, Event{}, ev)
			var me *MalformedError
			require.ErrorAs(t, err, &me)
			assert.Equal(t, "1795597353284-0", me.ID)
			assert.Equal(t, tt.reason, me.Reason)
			assert.Equal(t, "entry 1795597353284-0 is not a claim event: "+tt.reason, err.Error())
			assert.Equal(t, in, tt.values, "decoding does not change the entry")
		})
	}
}

// TestDecodeEventReadsMilliseconds: the wire holds milliseconds, so a
// finer time from another client decodes to what encodes back the same.
func TestDecodeEventReadsMilliseconds(t *testing.T) {
	t.Parallel()
	fields, err := lifecycleEvents("C-1", claimT0)[0].Fields()
	require.NoError(t, err)
	values := wireValues(t, fields)
	values["occurred_at"] = "2026-11-25T10:00:00.123456789Z"
	ev, err := DecodeEvent("1-0", values)
	require.NoError(t, err)
	assert.Equal(t, claimT0.Add(123*time.Millisecond), ev.OccurredAt)
	again, err := ev.Fields()
	require.NoError(t, err)
	back, err := DecodeEvent("1-0", wireValues(t, again))
	require.NoError(t, err)
	assert.Equal(t, ev, back)
}

func TestDecodeEventAcceptsOtherRFC3339Times(t *testing.T) {
	t.Parallel()
	fields, err := lifecycleEvents("C-1", claimT0)[0].Fields()
	require.NoError(t, err)
	values := wireValues(t, fields)
	values["occurred_at"] = "2026-11-25T11:00:00+01:00" // written by another client
	ev, err := DecodeEvent("1-0", values)
	require.NoError(t, err)
	assert.Equal(t, claimT0, ev.OccurredAt)
	assert.Equal(t, time.UTC, ev.OccurredAt.Location())
}
