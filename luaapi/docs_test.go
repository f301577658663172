package luaapi

import (
	"context"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"claimsctl/streams"
	"claimsctl/streams/streamstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	lua "github.com/yuin/gopher-lua"
)

// TestEveryGlobalIsDocumented: what a script sees beyond the standard
// libraries is exactly what the reference documents, each module's table
// holds exactly the functions documented under it (the same functions as
// the globals), and docs/lua-api.md is up to date.
func TestEveryGlobalIsDocumented(t *testing.T) {
	t.Parallel()
	rt := New(Config{Store: nil})
	defer rt.Close()
	L := rt.L
	bare := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer bare.Close()
	openStandardLibs(bare, io.Discard, io.Discard)
	var globals []string
	L.G.Global.ForEach(func(k, _ lua.LValue) {
		if name := k.String(); name != "arg" && bare.GetGlobal(name) == lua.LNil {
			globals = append(globals, name)
		}
	})
	sort.Strings(globals)
	for _, name := range globals {
		_, ok := docByName(name)
		if !ok {
			_, ok = moduleHelp(name) // a namespaced module's table
		}
		assert.True(t, ok, "global %s is not in the reference (docs.go)", name)
	}

	var registered, documented []string
	L.GetField(L.GetGlobal("package"), "preload").(*lua.LTable).ForEach(func(k, _ lua.LValue) {
		registered = append(registered, k.String())
	})
	seen := map[string]bool{}
	for _, m := range reference {
		documented = append(documented, m.Module)
		require.NoError(t, L.CallByParam(lua.P{Fn: L.GetGlobal("require"), NRet: 1, Protect: true}, lua.LString(m.Module)), m.Module)
		mod := L.CheckTable(-1)
		L.Pop(1)
		var names, docNames []string
		global, isNamespaced := namespaced[m.Module]
		mod.ForEach(func(k, fn lua.LValue) {
			if isNamespaced {
				names = append(names, global+"."+k.String())
				assert.Equal(t, fn, L.GetField(L.GetGlobal(global), k.String()), "%s.%s is also %s.%s", m.Module, k, global, k)
				return
			}
			names = append(names, k.String())
			assert.Equal(t, fn, L.GetGlobal(k.String()), "%s.%s is also the global %s", m.Module, k, k)
		})
		for _, d := range m.Funcs {
			docNames = append(docNames, d.Name)
			assert.False(t, seen[d.Name], "%s is documented twice", d.Name)
			seen[d.Name] = true
			assert.Regexp(t, `^`+regexp.QuoteMeta(d.Name)+`[({]`, d.Signature, "the signature of %s starts with its name", d.Name)
		}
		assert.ElementsMatch(t, docNames, names, "the functions of %s", m.Module)
	}
	assert.ElementsMatch(t, documented, registered, "every module is documented, and only those")

	want := MarkdownReference()
	if *update {
		require.NoError(t, os.WriteFile("../docs/lua-api.md", []byte(want), 0o644))
	}
	doc, err := os.ReadFile("../docs/lua-api.md")
	require.NoError(t, err)
	assert.Equal(t, want, string(doc), "docs/lua-api.md is stale: run go test ./luaapi -update")
	for _, name := range globals {
		assert.True(t, strings.Contains(string(doc), "`"+name), "docs/lua-api.md does not document %s", name)
	}
}

// optionProbes call each function that takes options with an unknown
// one, so that its error lists the options the code accepts.
var optionProbes = map[string]string{
	"submit":           `submit{zz=1}`,
	"assign":           `assign("c", {zz=1})`,
	"upload":           `upload("c", {zz=1})`,
	"investigate":      `investigate("c", {zz=1})`,
	"approve":          `approve("c", {zz=1})`,
	"reject":           `reject("c", {zz=1})`,
	"pay":              `pay("c", {zz=1})`,
	"settle":           `settle("c", {zz=1})`,
	"emit":             `emit("c", "claim.assigned", {}, {zz=1})`,
	"submit_many":      `submit_many({}, {zz=1})`,
	"sample_claims":    `sample_claims{zz=1}`,
	"submit_loop":      `submit_loop{zz=1}`,
	"keyspace":         `keyspace{zz=1}`,
	"consume":          `consume("g", "w", {zz=1})`,
	"sample_data":      `sample_data{zz=1}`,
	"start":            `start("processor", {zz=1})`,
	"spawn":            `spawn("x.lua", {zz=1})`,
	"wait_idle":        `wait_idle(nil, {zz=1})`,
	"recover":          `recover("g", "w", {zz=1})`,
	"forget_consumers": `forget_consumers("g", {zz=1})`,
	"replay":           `replay{zz=1}`,
	"claim":            `claim("c", {zz=1})`,
	"report":           `report{zz=1}`,
	"dashboard":        `dashboard{zz=1}`,
	"trim":             `trim{zz=1}`,
	"import":           `import("x.jsonl", {zz=1})`,
	"monitor":          `monitor{zz=1}`,
	"chaos.slow":       `chaos.slow("processor", 10, {zz=1})`,
	"chaos.crash_on":   `chaos.crash_on("processor", function(e) return false end, {zz=1})`,
	"chaos.failover":   `chaos.failover(0, {zz=1})`,
}

// TestSignaturesListEveryOption: the options a signature shows are the
// ones its function accepts, no more and no fewer, so the reference
// cannot drift from the code again.
func TestSignaturesListEveryOption(t *testing.T) {
	t.Parallel()
	rt, _ := newRuntime(t, streamstest.Embedded(t)(t, streams.Options{}), false)

	accepted := regexp.MustCompile(`\((?:options|fields): ([^)]*)\)`)
	shown := regexp.MustCompile(`(\w+)=`)
	for name := range optionProbes {
		_, ok := docByName(name)
		assert.True(t, ok, "probe of %s, which is not documented", name)
	}
	for _, m := range reference {
		for _, d := range m.Funcs {
			var inSignature []string
			for _, o := range shown.FindAllStringSubmatch(d.Signature, -1) {
				inSignature = append(inSignature, o[1])
			}
			probe, ok := optionProbes[d.Name]
			if !ok {
				assert.Empty(t, inSignature, "%s shows options: give it a probe in optionProbes", d.Name)
				continue
			}
			err := rt.DoString(context.Background(), probe, "probe")
			require.Error(t, err, probe)
			list := accepted.FindStringSubmatch(err.Error())
			require.NotNil(t, list, "%s: the error lists no options: %v", probe, err)
			assert.ElementsMatch(t, strings.Split(list[1], ", "), inSignature, "the options of %s (%s)", d.Name, d.Signature)
		}
	}
}
