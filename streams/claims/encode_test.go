package claims

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The fast encoders must write exactly what encoding/json and
// time.Format write: a reader cannot tell which one wrote an entry.
func TestEncodeDataIsEncodingJSON(t *testing.T) {
	t.Parallel()
	payloads := []map[string]any{
		{},
		{"amount": 2500.0, "claim_type": "auto", "description": "rear-ended at a light"},
		{"a": 0.1, "b": 1e-7, "c": 1e21, "d": 123456789.125, "e": math.Copysign(0, -1), "f": 1e20, "g": 5e-324, "h": math.MaxFloat64},
		{"quote": `say "hi" \ <b> & é ☃`, "ctl": "tab\there\nnl\x00nul\x1bESC", "ok": true, "no": false, "nil": nil},
		{"nested": map[string]any{"x": 1.0}, "list": []any{"a"}},
		{"int": 3, "i64": int64(-7), "f32": float32(0.5)},
	}
	for _, p := range payloads {
		want, err := json.Marshal(p)
		require.NoError(t, err)
		got, err := encodeData(p)
		require.NoError(t, err)
		assert.Equal(t, string(want), string(got))
	}
	_, err := encodeData(map[string]any{"bad": math.NaN()})
	assert.Error(t, err, "NaN is not JSON")
}

func TestNormalizeMatchesAJSONRoundTrip(t *testing.T) {
	t.Parallel()
	for _, p := range []map[string]any{
		{"amount": 2500, "i64": int64(3), "f32": float32(0.25), "s": "x", "b": true},
		{"nested": map[string]any{"x": 1}},
	} {
		want, err := RoundTrip(p)
		require.NoError(t, err)
		got, err := Normalize(p)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
}

func TestFormatTimeIsTimeLayout(t *testing.T) {
	t.Parallel()
	for _, tm := range []time.Time{
		time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC),
		time.Date(1999, 1, 2, 3, 4, 5, 678_999_999, time.UTC),
		time.Date(2026, 11, 25, 23, 59, 59, 1e6, time.FixedZone("X", 5*3600)),
		time.Date(12345, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		assert.Equal(t, tm.UTC().Format(TimeLayout), formatTime(tm))
	}
}

func TestDecodeDataIsEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{
		`{}`, ` { } `, `{"a":1}`, `{"amount":2500,"claim_type":"auto","description":"rear-ended"}`,
		`{"a":-0.5e-3,"b":1E+21,"c":0,"d":true,"e":false,"f":null,"g":""}`,
		`{"a":"x","a":"y"}`, `{ "a" : 1 , "b" : "2" }`,
		`{"esc":"a\"b"}`, `{"u":"é"}`, `{"nested":{"x":1}}`, `{"list":[1,2]}`,
		`{"a":01}`, `{"a":1.}`, `{"a":.5}`, `{"a":1e}`, `{"a":+1}`, `{"a":-}`, `{"a":0x10}`, `{"a":1_0}`,
		`{"a":1,}`, `{"a":1}x`, `{"a"}`, `{a:1}`, `[]`, `null`, ``, `{"a":tru}`, `{"a":"unterminated}`,
		`{"a":1e400}`,
	} {
		var want map[string]any
		wantErr := json.Unmarshal([]byte(raw), &want)
		got, err := decodeData(raw)
		if wantErr != nil {
			assert.Error(t, err, "%s", raw)
			continue
		}
		require.NoError(t, err, "%s", raw)
		assert.Equal(t, want, got, "%s", raw)
	}
}
