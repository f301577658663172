package luaapi

import (
	"fmt"
	"io"

	lua "github.com/yuin/gopher-lua"
)

// Lua's io library, as far as a lab script needs it: writing to the
// terminal. io.write, io.stdout:write and io.stderr:write write where
// print() does and to the error output, without a newline; the rest of
// io (open, read, lines, popen ...) is refused with a message saying
// what a script has instead, since files are written only by the
// primitives that know where they may go (report{out=}, trim{archive=})
// and a sandbox checks.

// ioRefused are io's functions that touch files, each refused by name.
var ioRefused = []string{"open", "read", "lines", "input", "output", "close", "popen", "tmpfile"}

// fileMethodsRefused are a file handle's methods that are not write.
var fileMethodsRefused = []string{"read", "lines", "seek", "close"}

// openIO sets the global io: write to out, stdout and stderr (err).
func openIO(L *lua.LState, out, err io.Writer) {
	mt := L.NewTable()
	methods := L.NewTable()
	methods.RawSetString("write", L.NewFunction(fileWrite))
	methods.RawSetString("flush", L.NewFunction(func(L *lua.LState) int { L.Push(L.Get(1)); return 1 }))
	methods.RawSetString("setvbuf", L.NewFunction(func(L *lua.LState) int { L.Push(lua.LTrue); return 1 }))
	for _, name := range fileMethodsRefused {
		methods.RawSetString(name, refusedIO(L, "file:"+name))
	}
	mt.RawSetString("__index", methods)
	mt.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LString(fmt.Sprintf("file (%s)", L.CheckUserData(1).Value.(*luaFile).name)))
		return 1
	}))
	mt.RawSetString("__metatable", lua.LString("file"))
	file := func(name string, w io.Writer) *lua.LUserData {
		ud := L.NewUserData()
		ud.Value = &luaFile{name: name, w: w}
		ud.Metatable = mt
		return ud
	}
	stdout, stderr := file("stdout", out), file("stderr", err)
	lib := L.NewTable()
	lib.RawSetString("stdout", stdout)
	lib.RawSetString("stderr", stderr)
	lib.RawSetString("write", L.NewFunction(func(L *lua.LState) int {
		// io.write(...) is io.stdout:write(...).
		L.Insert(stdout, 1)
		return fileWrite(L)
	}))
	lib.RawSetString("type", L.NewFunction(func(L *lua.LState) int {
		if ud, ok := L.Get(1).(*lua.LUserData); ok {
			if _, ok := ud.Value.(*luaFile); ok {
				L.Push(lua.LString("file"))
				return 1
			}
		}
		L.Push(lua.LNil)
		return 1
	}))
	for _, name := range ioRefused {
		lib.RawSetString(name, refusedIO(L, "io."+name))
	}
	L.SetGlobal("io", lib)
}

// luaFile is io.stdout or io.stderr.
type luaFile struct {
	name string
	w    io.Writer
}

// fileWrite is file:write(...): strings and numbers, as Lua writes them,
// and returns the file, so calls chain.
func fileWrite(L *lua.LState) int {
	ud := L.CheckUserData(1)
	f, ok := ud.Value.(*luaFile)
	if !ok {
		L.ArgError(1, "file expected")
	}
	for i := 2; i <= L.GetTop(); i++ {
		switch v := L.Get(i).(type) {
		case lua.LString, lua.LNumber:
			if _, err := io.WriteString(f.w, lua.LVAsString(v)); err != nil {
				L.Push(lua.LNil)
				L.Push(lua.LString(err.Error()))
				return 2
			}
		default:
			L.ArgError(i-1, fmt.Sprintf("string or number expected, got %s (print() shows any value)", v.Type()))
		}
	}
	L.Push(ud)
	return 1
}

func refusedIO(L *lua.LState, name string) *lua.LFunction {
	return L.NewFunction(func(L *lua.LState) int {
		L.RaiseError("%s is not available in claimsctl: io only writes to the terminal (io.write, io.stdout:write, io.stderr:write); "+
			"files are written by report{out=} and trim{archive=} and read by import()", name)
		return 0
	})
}
