package luaapi

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"claimsctl/streams/claims"

	lua "github.com/yuin/gopher-lua"
)

// toLua converts JSON-shaped Go values (maps, slices, strings, numbers,
// bools) into Lua values. Stream ids are strings and stay strings.
func toLua(L *lua.LState, v any) lua.LValue {
	switch x := v.(type) {
	case nil:
		return lua.LNil
	case string:
		return lua.LString(x)
	case bool:
		return lua.LBool(x)
	case float64:
		return lua.LNumber(x)
	case int:
		return lua.LNumber(x)
	case int64:
		return lua.LNumber(x)
	case map[string]any:
		t := L.CreateTable(0, len(x))
		for k, v := range x {
			t.RawSetString(k, toLua(L, v))
		}
		return t
	case []any:
		t := L.CreateTable(len(x), 0)
		for _, v := range x {
			t.Append(toLua(L, v))
		}
		return t
	case []string:
		t := L.CreateTable(len(x), 0)
		for _, v := range x {
			t.Append(lua.LString(v))
		}
		return t
	case lua.LValue:
		return x
	}
	return structToLua(L, v)
}

// structToLua converts a tagged Go struct through its JSON form, so the
// Lua field names are the documented snake_case ones.
func structToLua(L *lua.LState, v any) lua.LValue {
	raw, err := json.Marshal(v)
	if err != nil {
		return lua.LString(fmt.Sprint(v))
	}
	var generic any
	if err := json.Unmarshal(raw, &generic); err != nil {
		return lua.LString(string(raw))
	}
	return toLua(L, generic)
}

// fromLua converts a Lua value to JSON-shaped Go: tables with keys 1..n
// become slices, other tables maps. Functions, userdata, numbers that are
// not finite and lists with other keys are refused. For JSON-shaped x
// without nulls (Lua tables cannot hold nil), fromLua(toLua(x)) is x, but
// for an empty list, which comes back as an empty map.
func fromLua(v lua.LValue, path string) (any, error) {
	return fromLuaDepth(v, path, 0)
}

// maxTableDepth bounds nesting, so a table that contains itself is an
// error instead of an endless recursion (a fatal Go stack overflow).
const maxTableDepth = 32

func fromLuaDepth(v lua.LValue, path string, depth int) (any, error) {
	if depth > maxTableDepth {
		return nil, fmt.Errorf("%s is nested more than %d tables deep (does a table contain itself?)", strings.SplitN(path, ".", 2)[0], maxTableDepth)
	}
	switch x := v.(type) {
	case *lua.LNilType:
		return nil, nil
	case lua.LString:
		return string(x), nil
	case lua.LNumber:
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("%s must be a finite number, got %s", path, claims.FormatNumber(f))
		}
		return f, nil
	case lua.LBool:
		return bool(x), nil
	case *lua.LTable:
		if n := x.Len(); n > 0 {
			// A list that also has other keys (or a nil inside) would
			// lose them: refuse it rather than store part of it.
			keys := 0
			x.ForEach(func(lua.LValue, lua.LValue) { keys++ })
			if keys != n {
				return nil, fmt.Errorf("%s mixes list items 1..%d with other keys (or has a nil in the list); give a list or named fields, not both", path, n)
			}
			out := make([]any, 0, n)
			for i := 1; i <= n; i++ {
				v, err := fromLuaDepth(x.RawGetInt(i), fmt.Sprintf("%s[%d]", path, i), depth+1)
				if err != nil {
					return nil, err
				}
				out = append(out, v)
			}
			return out, nil
		}
		out := map[string]any{}
		var err error
		x.ForEach(func(k, v lua.LValue) {
			if err != nil {
				return
			}
			key, ok := k.(lua.LString)
			if !ok {
				err = fmt.Errorf("%s has a non-string key %s", path, k.String())
				return
			}
			out[string(key)], err = fromLuaField(v, path, string(key), depth+1)
		})
		return out, err
	}
	return nil, fmt.Errorf("%s is a %s, which cannot be stored in an event", path, v.Type())
}

// fromLuaField is fromLuaDepth of the field key of the table at path,
// whose own path is built only for a table or an error: a command's
// fields are mostly strings and numbers.
func fromLuaField(v lua.LValue, path, key string, depth int) (any, error) {
	switch x := v.(type) {
	case lua.LString:
		return string(x), nil
	case lua.LBool:
		return bool(x), nil
	case lua.LNumber:
		if f := float64(x); !math.IsNaN(f) && !math.IsInf(f, 0) {
			return f, nil
		}
	}
	return fromLuaDepth(v, path+"."+key, depth)
}
