package luaapi

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"

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
		t := L.NewTable()
		for k, v := range x {
			t.RawSetString(k, toLua(L, v))
		}
		return t
	case []any:
		t := L.NewTable()
		for _, v := range x {
			t.Append(toLua(L, v))
		}
		return t
	case []string:
		t := L.NewTable()
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
// become slices, other tables maps. Functions and userdata are refused.
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
			return nil, fmt.Errorf("%s must be a finite number", path)
		}
		return f, nil
	case lua.LBool:
		return bool(x), nil
	case *lua.LTable:
		if n := x.Len(); n > 0 {
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
			out[string(key)], err = fromLuaDepth(v, path+"."+string(key), depth+1)
		})
		return out, err
	}
	return nil, fmt.Errorf("%s is a %s, which cannot be stored in an event", path, v.Type())
}

// options reads an options table, refusing unknown keys so a typo such as
// {cuont=5} is an error instead of being silently ignored.
type options struct {
	L     *lua.LState
	arg   int
	fn    string
	table *lua.LTable
}

func optionsAt(L *lua.LState, n int, fn string, allowed ...string) options {
	o := options{L: L, arg: n, fn: fn}
	switch v := L.Get(n).(type) {
	case *lua.LNilType:
		return o
	case *lua.LTable:
		o.table = v
	default:
		argError(L, n, fn, fmt.Sprintf("options must be a table like {%s=...}, got %s", allowed[0], v.Type()))
	}
	var bad []string
	o.table.ForEach(func(k, _ lua.LValue) {
		name := k.String()
		for _, a := range allowed {
			if name == a {
				return
			}
		}
		bad = append(bad, name)
	})
	if len(bad) > 0 {
		sort.Strings(bad)
		argError(L, n, fn, fmt.Sprintf("unknown option %q (options: %s)", bad[0], strings.Join(allowed, ", ")))
	}
	return o
}

func (o options) has(key string) bool {
	return o.table != nil && o.table.RawGetString(key) != lua.LNil
}

func (o options) str(key, def string) string {
	if !o.has(key) {
		return def
	}
	switch v := o.table.RawGetString(key).(type) {
	case lua.LString:
		return string(v)
	case lua.LNumber:
		return v.String()
	default:
		argError(o.L, o.arg, o.fn, fmt.Sprintf("option %s must be a string, got %s", key, v.Type()))
	}
	return def
}

func (o options) num(key string, def float64) float64 {
	if !o.has(key) {
		return def
	}
	v, ok := o.table.RawGetString(key).(lua.LNumber)
	if !ok {
		argError(o.L, o.arg, o.fn, fmt.Sprintf("option %s must be a number, got %s", key, o.table.RawGetString(key).Type()))
	}
	return float64(v)
}

func (o options) boolean(key string, def bool) bool {
	if !o.has(key) {
		return def
	}
	v, ok := o.table.RawGetString(key).(lua.LBool)
	if !ok {
		argError(o.L, o.arg, o.fn, fmt.Sprintf("option %s must be true or false, got %s", key, o.table.RawGetString(key).Type()))
	}
	return bool(v)
}

// argError raises "fn: bad argument #n: msg". Unlike L.ArgError it names
// the function even when it was called through pcall.
func argError(L *lua.LState, n int, fn, msg string) {
	L.RaiseError("%s: bad argument #%d: %s", fn, n, msg)
}
