package luaapi

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"claimsctl/streams"

	lua "github.com/yuin/gopher-lua"
)

// teachModule is claims.teach: expectations and checks for exercises,
// tracing the Redis commands, and help.
type teachModule struct {
	store *streams.Store // whose commands trace() shows
	out   io.Writer
	exp   *expectations
	echo  *echo
}

func (m *teachModule) Loader(L *lua.LState) int {
	L.Push(L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
		"expect": m.expect,
		"check":  m.check,
		"trace":  m.trace,
		"help":   m.help,
	}))
	return 1
}

// expect records a failure and lets the script go on. It returns nothing,
// so the REPL prints no stray value after the FAIL line.
func (m *teachModule) expect(L *lua.LState) int {
	cond := L.Get(1)
	msg := L.OptString(2, "expectation failed")
	if lua.LVAsBool(cond) {
		return 0
	}
	where := strings.TrimSuffix(strings.TrimSpace(L.Where(1)), ":")
	m.exp.fail(where, msg)
	fmt.Fprintf(m.out, "FAIL %s: %s\n", where, msg)
	return 0
}

// check runs fn protected, so an error fails this check only and the
// exercise's next check still runs.
func (m *teachModule) check(L *lua.LState) int {
	name := L.CheckString(1)
	fn := L.CheckFunction(2)
	res := &CheckResult{Name: name, Passed: true}
	outer := m.exp.enter(res)
	err := L.CallByParam(lua.P{Fn: fn, NRet: 0, Protect: true})
	m.exp.leave(outer)
	if err != nil {
		if ctxOf(L).Err() != nil {
			return raise(L, fmt.Errorf("check %q: interrupted", name))
		}
		res.Passed, res.Errored, res.Message = false, true, runtimeMessage(err)
	}
	m.exp.record(*res)
	if res.Passed {
		fmt.Fprintf(m.out, "ok   %s\n", name)
	} else if res.Errored {
		fmt.Fprintf(m.out, "FAIL %s: error: %s\n", name, res.Message)
	} else {
		fmt.Fprintf(m.out, "FAIL %s: %s\n", name, res.Message)
	}
	L.Push(lua.LBool(res.Passed))
	return 1
}

func (m *teachModule) trace(L *lua.LState) int {
	was := m.store.Tracing()
	v := lua.LBool(was)
	if L.GetTop() == 0 || lua.LVAsBool(L.Get(1)) {
		m.store.SetTrace(m.out)
		// At the REPL the returned previous setting alone ("false") reads
		// like a failure: say what changed instead.
		m.echo.summary(v, "trace on: every call prints the Redis commands it sends")
	} else {
		m.store.SetTrace(nil)
		m.echo.summary(v, "trace off")
	}
	L.Push(v)
	return 1
}

func (m *teachModule) help(L *lua.LState) int {
	if L.GetTop() == 0 {
		fmt.Fprint(m.out, helpIndex())
		return 0
	}
	var name string
	switch v := L.Get(1).(type) {
	case *lua.LFunction:
		// help(submit), without quotes: the global that holds it.
		L.G.Global.ForEach(func(k, g lua.LValue) {
			if g == v && name == "" {
				if s, ok := k.(lua.LString); ok {
					if _, documented := docByName(string(s)); documented {
						name = string(s)
					}
				}
			}
		})
		if name == "" {
			fmt.Fprintln(m.out, `no help for this function: help("name") takes a name, help() lists them all`)
			return 0
		}
	default:
		name = strings.TrimSuffix(L.CheckString(1), "()")
	}
	if slices.Contains(libraryTopics, name) {
		fmt.Fprint(m.out, librariesHelp())
		return 0
	}
	if topic, ok := moduleHelp(name); ok {
		fmt.Fprint(m.out, topic)
		return 0
	}
	d, ok := docByName(name)
	if !ok {
		if text, isRedis := redisCommandHelp(name); isRedis {
			fmt.Fprint(m.out, text)
			return 0
		}
		fmt.Fprintf(m.out, "no help for %q. %s\n", name, suggestion(name))
		return 0
	}
	fmt.Fprint(m.out, helpEntry(d))
	return 0
}
