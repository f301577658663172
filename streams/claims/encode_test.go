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
		{"a": 0.1, "b": 1e-7, "c": 1e21, "d": 123456789.125, "e": -0.0, "f": 1e20, "g": 5e-324, "h": math.MaxFloat64},
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
