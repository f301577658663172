package claims

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// The hot paths of appending and reading events: payloads are flat JSON
// objects of strings, numbers and booleans (the schemas allow nothing
// else), so they are normalised and encoded without reflection; anything
// else takes encoding/json.

// Normalize returns data as a reader decodes it: numbers as float64,
// strings and booleans as they are. A payload with other values (nested
// tables, a caller's own types) goes through a JSON round trip.
func Normalize(data map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(data))
	for k, v := range data {
		switch x := v.(type) {
		case string, bool, nil:
			out[k] = x
		case float64:
			out[k] = x
		case float32:
			out[k] = float64(x)
		case int:
			out[k] = float64(x)
		case int64:
			out[k] = float64(x)
		default:
			return RoundTrip(data)
		}
	}
	return out, nil
}

// encodeData is json.Marshal of a flat payload, keys sorted as
// encoding/json sorts them, with the same output.
func encodeData(data map[string]any) ([]byte, error) {
	keys := make([]string, 0, len(data))
	for k, v := range data {
		switch x := v.(type) {
		case string, bool, nil:
		case float64:
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return json.Marshal(data) // the same error json gives
			}
		default:
			return json.Marshal(data)
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	buf := make([]byte, 0, 64+24*len(keys))
	buf = append(buf, '{')
	for i, k := range keys {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendJSONString(buf, k)
		buf = append(buf, ':')
		switch x := data[k].(type) {
		case string:
			buf = appendJSONString(buf, x)
		case bool:
			buf = strconv.AppendBool(buf, x)
		case nil:
			buf = append(buf, "null"...)
		case float64:
			buf = appendJSONFloat(buf, x)
		}
	}
	return append(buf, '}'), nil
}

// appendJSONString quotes s as encoding/json does (HTML-safe escapes
// included), falling back to it for anything unusual.
func appendJSONString(buf []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' || c >= utf8.RuneSelf {
			raw, _ := json.Marshal(s)
			return append(buf, raw...)
		}
	}
	buf = append(buf, '"')
	buf = append(buf, s...)
	return append(buf, '"')
}

// appendJSONFloat formats f exactly as encoding/json does.
func appendJSONFloat(buf []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	buf = strconv.AppendFloat(buf, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9, as encoding/json does
		n := len(buf)
		if n >= 4 && buf[n-4] == 'e' && buf[n-3] == '-' && buf[n-2] == '0' {
			buf[n-2] = buf[n-1]
			buf = buf[:n-1]
		}
	}
	return buf
}

// formatTime is t in TimeLayout (UTC, milliseconds), without the general
// layout machinery.
func formatTime(t time.Time) string {
	t = t.UTC()
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	ms := t.Nanosecond() / 1e6
	if y < 0 || y > 9999 {
		return t.Format(TimeLayout)
	}
	b := make([]byte, 0, 24)
	b = appendInt(b, y, 4)
	b = append(b, '-')
	b = appendInt(b, int(mo), 2)
	b = append(b, '-')
	b = appendInt(b, d, 2)
	b = append(b, 'T')
	b = appendInt(b, h, 2)
	b = append(b, ':')
	b = appendInt(b, mi, 2)
	b = append(b, ':')
	b = appendInt(b, s, 2)
	b = append(b, '.')
	b = appendInt(b, ms, 3)
	return string(append(b, 'Z'))
}

func appendInt(b []byte, v, width int) []byte {
	var digits [4]byte
	for i := width - 1; i >= 0; i-- {
		digits[i] = byte('0' + v%10)
		v /= 10
	}
	return append(b, digits[:width]...)
}
