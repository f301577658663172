package luaapi

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	lua "github.com/yuin/gopher-lua"
)

func TestFromLuaRefusesWhatAnEventCannotHold(t *testing.T) {
	t.Parallel()
	L := lua.NewState()
	defer L.Close()
	tests := []struct{ name, code, want string }{
		{"NaN", `return {amount = 0/0}`, "data.amount must be a finite number, got NaN"},
		{"infinity", `return {amount = -1/0}`, "data.amount must be a finite number, got -infinity"},
		{"a list with named keys", `return {1, 2, x = 3}`, "data mixes list items 1..2 with other keys"},
		{"a nested list with named keys", `return {tags = {"a", b = 1}}`, "data.tags mixes list items 1..1 with other keys"},
		{"a list with a hole", `local t = {1, 2, 3}; t[2] = nil; return t`, "data mixes list items"},
		{"a number key", `return {[1.5] = "x"}`, "data has a non-string key 1.5"},
		{"a function", `return {f = print}`, "data.f is a function, which cannot be stored in an event"},
		{"a table that contains itself", `local t = {}; t.self = t; return t`, "data is nested more than 32 tables deep"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.NoError(t, L.DoString(tt.code))
			v := L.Get(-1)
			L.Pop(1)
			_, err := fromLua(v, "data")
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// FuzzLuaRoundTrip: for JSON-shaped x (what an event's data decodes to),
// fromLua(toLua(x)) is x, with the two differences Lua forces (a null
// cannot be stored in a table, an empty list reads back as an empty
// table), and an error exactly when x is nested deeper than maxTableDepth.
func FuzzLuaRoundTrip(f *testing.F) {
	f.Add([]byte(`{"amount":2500,"claim_type":"auto","tags":["a","b"],"n":{"x":[1,2.5,{"y":true}]}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var x any
		if json.Unmarshal(raw, &x) != nil {
			return
		}
		want, ok := luaShaped(x)
		if !ok {
			return // a null inside a list: Lua has no way to keep its place
		}
		L := lua.NewState(lua.Options{SkipOpenLibs: true})
		defer L.Close()
		got, err := fromLua(toLua(L, x), "data")
		if deepest(want, 0) > maxTableDepth {
			require.Error(t, err)
			assert.Contains(t, err.Error(), "nested more than")
			return
		}
		require.NoError(t, err)
		assert.Equal(t, want, got)
	})
}

// luaShaped is x as it comes back from a Lua table: map entries that are
// null dropped, empty lists as empty maps. It reports false for a null in
// a list.
func luaShaped(x any) (any, bool) {
	switch v := x.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range v {
			if e == nil {
				continue
			}
			s, ok := luaShaped(e)
			if !ok {
				return nil, false
			}
			out[k] = s
		}
		return out, true
	case []any:
		if len(v) == 0 {
			return map[string]any{}, true
		}
		out := make([]any, len(v))
		for i, e := range v {
			if e == nil {
				return nil, false
			}
			s, ok := luaShaped(e)
			if !ok {
				return nil, false
			}
			out[i] = s
		}
		return out, true
	}
	return x, true
}

// deepest is the depth of the deepest value in x (x itself at depth).
func deepest(x any, depth int) int {
	most := depth
	switch v := x.(type) {
	case map[string]any:
		for _, e := range v {
			most = max(most, deepest(e, depth+1))
		}
	case []any:
		for _, e := range v {
			most = max(most, deepest(e, depth+1))
		}
	}
	return most
}
