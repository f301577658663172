package luaapi

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"claimsctl/streams/claims"

	lua "github.com/yuin/gopher-lua"
)

// Reading a function's arguments, and raising the errors a student sees.

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

// raise turns a Go error into a Lua error at the caller's line. Domain
// errors already read as sentences; they are passed on as they are.
func raise(L *lua.LState, err error) int {
	L.RaiseError("%s", err.Error())
	return 0
}

// idsOf accepts an event, a list of events, a stream id or a list of ids.
func idsOf(L *lua.LState, n int, fn string) []string {
	switch v := L.Get(n).(type) {
	case lua.LString:
		return []string{string(v)}
	case *lua.LTable:
		if id, ok := v.RawGetString("id").(lua.LString); ok {
			return []string{string(id)}
		}
		var ids []string
		for i := 1; i <= v.Len(); i++ {
			switch x := v.RawGetInt(i).(type) {
			case lua.LString:
				ids = append(ids, string(x))
			case *lua.LTable:
				id, ok := x.RawGetString("id").(lua.LString)
				if !ok {
					argError(L, n, fn, fmt.Sprintf("item %d has no id", i))
				}
				ids = append(ids, string(id))
			default:
				argError(L, n, fn, fmt.Sprintf("item %d is a %s, want an event or a stream id", i, x.Type()))
			}
		}
		return ids
	}
	argError(L, n, fn, fmt.Sprintf("want events (from consume) or stream ids, got %s", L.Get(n).Type()))
	return nil
}

// timeArg reads a bound that is a stream id or a time.
func timeArg(L *lua.LState, n int, fn, key, s string) (string, time.Time) {
	id, t, err := claims.ParseBound(s)
	if err != nil {
		argError(L, n, fn, fmt.Sprintf("%s: %v", key, err))
	}
	return id, t
}
