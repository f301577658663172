package luaapi

import (
	"fmt"
	"io"
	"sort"
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

// expect(cond, message)
//
// A failed expectation is reported with its line and counted; the script
// goes on, and `claimsctl run` exits 3 at the end. It returns nothing, so
// the REPL prints no stray value after the FAIL line.
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

// check(name, fn) -> passed
//
// Runs fn as one named check of an exercise: it passes when fn returns
// without error and no expect() inside it failed.
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

// trace(on) -> previous setting
func (m *teachModule) trace(L *lua.LState) int {
	was := m.store.Tracing()
	if L.GetTop() == 0 || lua.LVAsBool(L.Get(1)) {
		m.store.SetTrace(m.out)
	} else {
		m.store.SetTrace(nil)
	}
	L.Push(lua.LBool(was))
	return 1
}

// help([name]) prints the API by topic, or one entry with an example.
func (m *teachModule) help(L *lua.LState) int {
	if L.GetTop() == 0 {
		fmt.Fprint(m.out, helpIndex())
		return 0
	}
	name := strings.TrimSuffix(L.CheckString(1), "()")
	d, ok := docByName(name)
	if !ok {
		fmt.Fprintf(m.out, "no help for %q. %s\n", name, suggestion(name))
		return 0
	}
	fmt.Fprintf(m.out, "%s\n  %s\n", d.Signature, d.Summary)
	if d.Example != "" {
		fmt.Fprintf(m.out, "example:\n  %s\n", strings.ReplaceAll(d.Example, "\n", "\n  "))
	}
	return 0
}

func helpIndex() string {
	var b strings.Builder
	b.WriteString("claimsctl Lua API (help(\"name\") shows one entry with an example)\n")
	for _, topic := range topics {
		fmt.Fprintf(&b, "\n%s\n", topic.title)
		for _, d := range apiDocs {
			if d.Topic == topic.key {
				fmt.Fprintf(&b, "  %-44s %s\n", d.Signature, firstSentence(d.Summary))
			}
		}
	}
	return b.String()
}

func firstSentence(s string) string {
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i+1]
	}
	return s
}

// suggestion names the closest API function for a typo.
func suggestion(name string) string {
	best, bestDist := "", 3 // at most two edits away
	for _, d := range apiDocs {
		if dist := levenshtein(name, d.Name); dist < bestDist {
			best, bestDist = d.Name, dist
		}
	}
	if best != "" {
		return fmt.Sprintf("Did you mean %s?", best)
	}
	return "help() lists everything."
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// Completions are the names offered on Tab in the REPL.
func (r *Runtime) Completions() []string {
	names := []string{"exit"}
	for _, d := range apiDocs {
		names = append(names, d.Name)
	}
	sort.Strings(names)
	return names
}
