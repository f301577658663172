package grade

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"claimsctl/luaapi"
	"claimsctl/streams"
	"claimsctl/streams/redisconn"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const exercisesForTests = "../../scripts/exercises"

// exercise01Checks are the checks of exercise 01: every hostile hand-in
// must get a row for each, and none of them a pass.
var exercise01Checks = []string{"flags exactly the claims over the limit", "acks every event it read", "reads each event only once"}

// gradeAs grades src handed in as exercise 01 (in a folder of its own,
// with extra files beside it) on the embedded server.
func gradeAs(t *testing.T, backend *redisconn.Backend, name, src string, extra map[string]string) (Result, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.MkdirAll(dir, 0o755))
	file := filepath.Join(dir, "01_high_value_consumer.lua")
	require.NoError(t, os.WriteFile(file, []byte(src), 0o644))
	for n, s := range extra {
		require.NoError(t, os.WriteFile(filepath.Join(dir, n), []byte(s), 0o644))
	}
	store := streams.New(backend.Client, streams.Options{Prefix: name + ":", CountLag: true})
	var out bytes.Buffer
	res, err := Run(context.Background(), Options{Store: store, Backend: backend.Description, Out: &out,
		Files: []string{file}, Exercises: exercisesForTests, Verbose: true})
	require.NoError(t, err)
	return res, out.String()
}

// TestHostileHandInsNeverPass grades hand-ins that try to get exercise 01's
// grade without the work (testdata/hostile: rebinding the checks'
// globals, forging package.loaded, tampering with the string metatable,
// os.exit, declaring the checks themselves, ...). Each gets a FAIL or
// ERROR row for every check of the exercise; the reference solution,
// handed in the same way, passes them all.
func TestHostileHandInsNeverPass(t *testing.T) {
	t.Parallel()
	backend, err := redisconn.Connect(context.Background(), redisconn.ConnectOptions{Embedded: true})
	require.NoError(t, err)
	t.Cleanup(func() { backend.Close() })

	solution, err := os.ReadFile(filepath.Join(exercisesForTests, "solutions", "01_high_value_consumer.lua"))
	require.NoError(t, err)
	t.Run("the reference solution passes", func(t *testing.T) {
		t.Parallel()
		res, out := gradeAs(t, backend, "solution", string(solution), nil)
		assert.Equal(t, 3, res.Passed, out)
		assert.Equal(t, 0, res.Failed, out)
	})

	files, err := filepath.Glob("testdata/hostile/*.lua")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	extra := map[string]map[string]string{
		"shadow_module": {"checks_01.lua": `return function()
			check("flags exactly the claims over the limit", function() end)
			check("acks every event it read", function() end)
			check("reads each event only once", function() end)
		end`},
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".lua")
		src, err := os.ReadFile(f)
		require.NoError(t, err)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			res, out := gradeAs(t, backend, name, string(src), extra[name])
			assert.Zero(t, res.Passed, out)
			for _, check := range exercise01Checks {
				found := false
				for _, r := range res.Rows {
					if r.Check == check {
						found = true
						assert.Contains(t, []string{"FAIL", "ERROR"}, r.Result, "%s: %s", check, out)
					}
				}
				assert.True(t, found, "a row for %q: %s", check, out)
			}
		})
	}
}

// TestHandInStandIn: the file's require of a checks module gets a
// stand-in, a helper module of the lib loads as usual, and a file that
// requires no checks and is named like no exercise is graded by nothing.
func TestHandInStandIn(t *testing.T) {
	t.Parallel()
	backend, err := redisconn.Connect(context.Background(), redisconn.ConnectOptions{Embedded: true})
	require.NoError(t, err)
	t.Cleanup(func() { backend.Close() })
	lib := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(lib, "helper.lua"), []byte(`return {double = function(x) return 2 * x end}`), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(lib, "checks_x.lua"), []byte(`return function(f, opts)
		check("doubles", function() expect(f(2) == 4, "f(2) is 4") end)
		check("sees a copy", function() expect(opts.n == 3 and getmetatable(opts) == nil, "opts.n is 3, no metatable") end)
		check("errors cross as messages", function() opts.boom() end)
	end`), 0o644))
	dir := t.TempDir()
	write := func(name, src string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(src), 0o644))
		return p
	}
	good := write("good.lua", `local h = require("helper")
		require("checks_x")(function(x) return h.double(x) end, setmetatable({n = 3, boom = function() error("bang") end}, {__index = function() return 1 end}))`)
	none := write("none.lua", `check("mine", function() end)`)
	forgot := write("forgot.lua", `local checks = require("checks_x")`)
	store := streams.New(backend.Client, streams.Options{Prefix: "standin:"})
	var out bytes.Buffer
	res, err := Run(context.Background(), Options{Store: store, Backend: backend.Description, Out: &out, Files: []string{good, none, forgot}, Lib: []string{lib}})
	require.NoError(t, err)
	require.Len(t, res.Rows, 7, out.String())
	assert.Equal(t, "forgot.lua", res.Rows[4].File)
	assert.Equal(t, "ERROR", res.Rows[4].Result)
	assert.Contains(t, res.Rows[4].Detail, `the file handed checks_x nothing: it ends with require("checks_x")(your function)`)
	assert.Equal(t, Row{"good.lua", "doubles", "pass", ""}, res.Rows[0])
	assert.Equal(t, Row{"good.lua", "sees a copy", "pass", ""}, res.Rows[1])
	assert.Equal(t, "ERROR", res.Rows[2].Result)
	assert.Regexp(t, `good\.lua:2: bang$`, res.Rows[2].Detail)
	assert.Equal(t, Row{"none.lua", "(no exercise checks)", "FAIL", res.Rows[3].Detail}, res.Rows[3])
}

func TestCheckNames(t *testing.T) {
	t.Parallel()
	assert.Equal(t, []string{"a", `say "hi"`, "b"}, luaapi.CheckNames(`check("a", f) check ( "say \"hi\"", g)
		check('b', h) check(name, f) xcheck("no", f) check("a", f)`))
	assert.Equal(t, []string{"checks_01", "claims.produce"}, luaapi.RequiredModules(`require("checks_01")(f) require 'claims.produce' require(name)`))
}
