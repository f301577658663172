package claims

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The fuzz tests state properties of the two places where outside input
// enters the domain: stream entries (DecodeEvent) and payloads
// (ValidateData). `go test` runs their seed corpus (testdata/fuzz);
// `go test -fuzz FuzzDecodeEvent ./streams/claims` explores further.

// wireFieldNames are DecodeEvent's fields, in the order of FuzzDecodeEvent's
// arguments; bit i of drop leaves field i out of the entry.
var wireFieldNames = []string{FieldType, FieldClaimID, FieldVersion, FieldEventID, FieldOccurredAt, FieldActor, FieldData, FieldSchema}

// FuzzDecodeEvent: decoding never panics; a refusal is a *MalformedError
// whose message is printable and short, whatever the entry held; a
// decoded event has a valid claim id and encodes back to an entry that
// decodes to the same event.
func FuzzDecodeEvent(f *testing.F) {
	f.Add("claim.submitted", "6f1d0a4e-8d55-4bd5-9d3e-1f0c3b2a9e77", "1", "0b6e1c4a-1111-4222-8333-944445555666",
		"2026-11-25T10:00:00.000Z", "claimsctl", `{"amount":2500,"claim_type":"auto"}`, "1", uint8(0))
	f.Fuzz(func(t *testing.T, typ, claimID, version, eventID, occurredAt, actor, data, schema string, drop uint8) {
		values := map[string]any{}
		for i, v := range []string{typ, claimID, version, eventID, occurredAt, actor, data, schema} {
			if drop&(1<<i) == 0 {
				values[wireFieldNames[i]] = v
			}
		}
		ev, err := DecodeEvent("1-0", values)
		if err != nil {
			var me *MalformedError
			require.ErrorAs(t, err, &me)
			assert.Equal(t, "1-0", me.ID)
			assert.Equal(t, Printable(err.Error()), err.Error(), "a reason prints as it is")
			assert.Less(t, len(err.Error()), 300, "a reason never carries a whole value")
			assert.Equal(t, Event{}, ev)
			return
		}
		require.NoError(t, ValidClaimID(ev.ClaimID))
		assert.True(t, ev.Type.Known())
		assert.Positive(t, ev.Version)
		fields, err := ev.Fields()
		require.NoError(t, err, "a decoded event encodes")
		again := map[string]any{}
		for i := 0; i < len(fields); i += 2 {
			again[fields[i].(string)] = fields[i+1]
		}
		back, err := DecodeEvent("1-0", again)
		require.NoError(t, err, "a re-encoded event decodes: %v", again)
		assert.Equal(t, ev, back)
	})
}

// fuzzNow is the reference time of FuzzValidateData.
var fuzzNow = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// FuzzValidateData: validation never panics; a refusal is an ErrInvalid
// whose message is printable and bounded; an accepted payload survives the
// JSON round trip the store makes unchanged, and every text it holds prints
// as it is. payload is a JSON object; textKey and numKey add a raw string
// and a raw number (JSON cannot carry invalid UTF-8 or NaN).
func FuzzValidateData(f *testing.F) {
	f.Add(uint8(0), []byte(`{"customer_id":"CUST-0001","policy_id":"POL-0001","claim_type":"auto","incident_date":"2026-11-20"}`),
		"description", "rear-ended at a light", "amount", 2500.0)
	f.Fuzz(func(t *testing.T, typIndex uint8, payload []byte, textKey, text, numKey string, num float64) {
		typ := EventType("claim.unknown")
		if int(typIndex) < len(EventTypes) {
			typ = EventTypes[typIndex]
		}
		data := map[string]any{}
		if json.Unmarshal(payload, &data) != nil {
			data = map[string]any{}
		}
		if textKey != "" {
			data[textKey] = text
		}
		if numKey != "" {
			data[numKey] = num
		}
		err := ValidateData(typ, data, fuzzNow)
		if err != nil {
			assert.True(t, errors.Is(err, ErrInvalid), "%v", err)
			assert.Equal(t, Printable(err.Error()), err.Error(), "a refusal prints as it is")
			assert.Less(t, len(err.Error()), 1000, "a refusal never carries a whole value")
			return
		}
		back, rerr := RoundTrip(data)
		require.NoError(t, rerr)
		assert.Equal(t, data, back, "an accepted payload is stored as it is")
		for k, v := range data {
			if s, ok := v.(string); ok {
				assert.Equal(t, Printable(s), s, "field %s prints as it is", k)
			}
		}
	})
}
