package luaapi

import (
	"reflect"
	"unsafe"

	lua "github.com/yuin/gopher-lua"
)

// A result table of a command (a claim, an event) has its ~30 string
// keys set one RawSetString at a time, and gopher-lua's LTable keeps each
// key three times: in its map of string keys, in a slice of keys and in a
// map from key to place in that slice (what next() walks), the last two
// grown from empty and each key boxed anew into a Lua value. That was
// half of what a submit{} allocates and the largest part of its CPU.
// fieldTable builds such a table at its final size instead, with keys
// boxed once for the process, writing the same three fields LTable's own
// RawSetString writes.
//
// It reaches LTable's unexported fields through ltableLayout, a copy of
// the struct; ltableLayoutOK checks once that the copy matches the
// gopher-lua this is built with (field names, types, offsets), and
// without a match every table is built through RawSetString as before.

// ltableLayout is lua.LTable's layout in gopher-lua v1.1.2.
type ltableLayout struct {
	Metatable lua.LValue

	array   []lua.LValue
	dict    map[lua.LValue]lua.LValue
	strdict map[string]lua.LValue
	keys    []lua.LValue
	k2i     map[lua.LValue]int
}

var ltableLayoutOK = sameLayout(reflect.TypeFor[lua.LTable](), reflect.TypeFor[ltableLayout]())

// sameLayout says whether a and b have the same fields, by name, type
// and offset, and the same size.
func sameLayout(a, b reflect.Type) bool {
	if a.Size() != b.Size() || a.NumField() != b.NumField() {
		return false
	}
	for i := range a.NumField() {
		fa, fb := a.Field(i), b.Field(i)
		if fa.Name != fb.Name || fa.Type != fb.Type || fa.Offset != fb.Offset {
			return false
		}
	}
	return true
}

// fieldKey is a string key boxed once.
type fieldKey struct {
	name string
	v    lua.LValue
}

func fkey(name string) fieldKey { return fieldKey{name: name, v: lua.LString(name)} }

// fieldTable is a string-keyed table being built.
type fieldTable struct {
	t  *lua.LTable
	lt *ltableLayout // nil: through RawSetString
}

// newFieldTable is an empty table with room for n string keys.
func newFieldTable(L *lua.LState, n int) fieldTable {
	t := L.CreateTable(0, n)
	if !ltableLayoutOK {
		return fieldTable{t: t}
	}
	lt := (*ltableLayout)(unsafe.Pointer(t))
	if lt.strdict == nil {
		lt.strdict = make(map[string]lua.LValue)
	}
	lt.keys = make([]lua.LValue, 0, n)
	lt.k2i = make(map[lua.LValue]int, n)
	return fieldTable{t: t, lt: lt}
}

// set is t.RawSetString(k.name, v) for a v that is not nil.
func (f fieldTable) set(k fieldKey, v lua.LValue) {
	if f.lt == nil {
		f.t.RawSetString(k.name, v)
		return
	}
	n := len(f.lt.strdict)
	f.lt.strdict[k.name] = v
	if len(f.lt.strdict) > n {
		f.lt.k2i[k.v] = len(f.lt.keys)
		f.lt.keys = append(f.lt.keys, k.v)
	}
}

func (f fieldTable) setString(k fieldKey, v string) { f.set(k, lua.LString(v)) }

func (f fieldTable) setNumber(k fieldKey, v float64) { f.set(k, lua.LNumber(v)) }

func (f fieldTable) setNonEmpty(k fieldKey, v string) {
	if v != "" {
		f.set(k, lua.LString(v))
	}
}

func (f fieldTable) setNonZero(k fieldKey, v float64) {
	if v != 0 {
		f.set(k, lua.LNumber(v))
	}
}
