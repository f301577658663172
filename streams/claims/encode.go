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

// decodeData is json.Unmarshal of a payload into a map, for the flat
// objects claimsctl writes (strings without escapes, numbers, booleans,
// null); anything else is left to encoding/json, so the result is always
// what json.Unmarshal gives.
func decodeData(raw string) (map[string]any, error) {
	if out, ok := decodeFlat(raw); ok {
		return out, nil
	}
	var out map[string]any
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		return nil, err
	}
	return out, nil
}

func decodeFlat(s string) (map[string]any, bool) {
	i := 0
	skip := func() {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
			i++
		}
	}
	str := func() (string, bool) {
		if i >= len(s) || s[i] != '"' {
			return "", false
		}
		start := i + 1
		for j := start; j < len(s); j++ {
			switch c := s[j]; {
			case c == '"':
				i = j + 1
				return s[start:j], true
			case c == '\\' || c < 0x20 || c >= utf8.RuneSelf:
				return "", false // escapes and non-ASCII: encoding/json's business
			}
		}
		return "", false
	}
	skip()
	if i >= len(s) || s[i] != '{' {
		return nil, false
	}
	i++
	out := make(map[string]any, 8)
	skip()
	if i < len(s) && s[i] == '}' {
		i++
		skip()
		return out, i == len(s)
	}
	for {
		skip()
		key, ok := str()
		if !ok {
			return nil, false
		}
		skip()
		if i >= len(s) || s[i] != ':' {
			return nil, false
		}
		i++
		skip()
		if i >= len(s) {
			return nil, false
		}
		switch c := s[i]; {
		case c == '"':
			v, ok := str()
			if !ok {
				return nil, false
			}
			out[key] = v
		case c == 't' && len(s)-i >= 4 && s[i:i+4] == "true":
			out[key], i = true, i+4
		case c == 'f' && len(s)-i >= 5 && s[i:i+5] == "false":
			out[key], i = false, i+5
		case c == 'n' && len(s)-i >= 4 && s[i:i+4] == "null":
			out[key], i = nil, i+4
		case c == '-' || (c >= '0' && c <= '9'):
			j := i
			for j < len(s) && (s[j] == '-' || s[j] == '+' || s[j] == '.' || s[j] == 'e' || s[j] == 'E' || (s[j] >= '0' && s[j] <= '9')) {
				j++
			}
			if !validJSONNumber(s[i:j]) {
				return nil, false
			}
			f, err := strconv.ParseFloat(s[i:j], 64)
			if err != nil {
				return nil, false
			}
			out[key], i = f, j
		default:
			return nil, false
		}
		skip()
		if i >= len(s) {
			return nil, false
		}
		if s[i] == ',' {
			i++
			continue
		}
		if s[i] != '}' {
			return nil, false
		}
		i++
		skip()
		return out, i == len(s)
	}
}

// validJSONNumber is JSON's number grammar (strconv accepts more: "1_0",
// "0x1", "inf", leading zeros).
func validJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	return i == len(s)
}
