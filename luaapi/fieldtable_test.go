package luaapi

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	lua "github.com/yuin/gopher-lua"
)

// TestFieldTableLayoutMatches: the gopher-lua in go.mod has the LTable
// fieldTable writes, so results are built the fast way (a gopher-lua
// with another layout still works, through RawSetString: this test says
// to look at fieldtable.go again).
func TestFieldTableLayoutMatches(t *testing.T) {
	assert.True(t, ltableLayoutOK, "lua.LTable's fields changed: update ltableLayout in fieldtable.go")
}

// TestFieldTableIsAPlainTable: a table fieldTable built reads, iterates
// (pairs, next), grows and loses keys in Lua as one built key by key
// with RawSetString does, the fast way and the fallback alike.
func TestFieldTableIsAPlainTable(t *testing.T) {
	for _, fast := range []bool{true, false} {
		t.Run(map[bool]string{true: "fast", false: "fallback"}[fast], func(t *testing.T) {
			L := lua.NewState()
			defer L.Close()
			f := newFieldTable(L, 3)
			if !fast {
				f.lt = nil
			}
			f.setString(fkey("a"), "x")
			f.setNumber(fkey("b"), 2)
			f.setString(fkey("a"), "y") // set twice: one key
			f.set(fkey("c"), lua.LTrue)
			f.setNonEmpty(fkey("d"), "")
			f.setNonZero(fkey("e"), 0)
			L.SetGlobal("t", f.t)
			require.NoError(t, L.DoString(`
				local function keys(t)
					local out, n = {}, 0
					for k, v in pairs(t) do n = n + 1 out[#out + 1] = k .. "=" .. tostring(v) end
					table.sort(out)
					return table.concat(out, " "), n
				end
				r1, n1 = keys(t)
				t.f = "new"
				t.b = nil
				r2, n2 = keys(t)
				local k, v = next(t)
				first = k ~= nil and t[k] == v
				t[1] = "list"
				r3 = keys(t) .. " #" .. #t
			`))
			assert.Equal(t, "a=y b=2 c=true", L.GetGlobal("r1").String())
			assert.Equal(t, "3", L.GetGlobal("n1").String())
			assert.Equal(t, "a=y c=true f=new", L.GetGlobal("r2").String())
			assert.Equal(t, "3", L.GetGlobal("n2").String())
			assert.Equal(t, lua.LTrue, L.GetGlobal("first"))
			assert.Equal(t, "1=list a=y c=true f=new #1", L.GetGlobal("r3").String())
		})
	}
}
