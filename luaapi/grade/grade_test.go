package grade

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"claimsctl/luaapi"
	"claimsctl/streams"
	"claimsctl/streams/redisconn"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFileRows(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		res  Outcome
		want []Row
	}{
		{"no check", Outcome{}, []Row{{"ex.lua", "(no check() in the checks)", "FAIL", ""}}},
		{"nothing grades it", Outcome{NoChecks: true}, []Row{{"ex.lua", "(no exercise checks)", "FAIL", noChecksDetail}}},
		{"the checks stopped", Outcome{ChecksError: "checks.lua:3: boom"}, []Row{{"ex.lua", "(checks)", "ERROR", "checks.lua:3: boom"}}},
		{
			"pass, fail and error",
			Outcome{Checks: []luaapi.CheckResult{
				{Name: "a", Passed: true},
				{Name: "b", Message: "got 0"},
				{Name: "c", Errored: true, Message: "boom"},
			}},
			[]Row{{"ex.lua", "a", "pass", ""}, {"ex.lua", "b", "FAIL", "got 0"}, {"ex.lua", "c", "ERROR", "boom"}},
		},
		{"outside, once", Outcome{Outside: 1, FirstOutside: "ex.lua:3: late"}, []Row{{"ex.lua", "(outside any check)", "FAIL", "ex.lua:3: late"}}},
		{"outside, thrice", Outcome{Outside: 3, FirstOutside: "ex.lua:3: late"}, []Row{{"ex.lua", "(outside any check)", "FAIL", "ex.lua:3: late (and 2 more)"}}},
		{
			"script error after a check",
			Outcome{Checks: []luaapi.CheckResult{{Name: "a", Passed: true}}, Error: "ex.lua:9: syntax error"},
			[]Row{{"ex.lua", "a", "pass", ""}, {"ex.lua", "(script)", "ERROR", "ex.lua:9: syntax error"}},
		},
		{
			"a caught escape still counts",
			Outcome{Checks: []luaapi.CheckResult{{Name: "a", Passed: true}}, Escapes: []string{"ex.lua:2: os.execute is not available", "ex.lua:5: x"}},
			[]Row{{"ex.lua", "a", "pass", ""}, {"ex.lua", "(sandbox)", "ERROR", "ex.lua:2: os.execute is not available (and 1 more)"}},
		},
		{
			"one line whatever the script wrote",
			Outcome{Checks: []luaapi.CheckResult{{Name: "two\nlines", Message: "a\n\tb\x1b[31m c"}}},
			[]Row{{"ex.lua", "two lines", "FAIL", "a b [31m c"}},
		},
		{
			"a missing module names --lib",
			Outcome{Error: "ex.lua:20: module checks_04 not found: no file checks_04.lua in /a, /b"},
			[]Row{{"ex.lua", "(script)", "ERROR", "ex.lua:20: module checks_04 not found: no file checks_04.lua in /a, /b (claimsctl check --lib DIR adds a folder of modules)"}},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, c.want, fileRows("ex.lua", c.res))
		})
	}
}

func TestPrintTable(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	res := Result{Rows: []Row{
		{"a.lua", "first", "pass", ""},
		{"a.lua", "second check", "FAIL", "got 0"},
		{"longer_name.lua", "(script)", "ERROR", "boom"},
	}, Passed: 1, Failed: 2}
	require.NoError(t, WriteTable(&out, res))
	assert.Equal(t, ""+
		"exercise         check         result\n"+
		"a.lua            first         pass\n"+
		"                 second check  FAIL  got 0\n"+
		"longer_name.lua  (script)      ERROR  boom\n"+
		"1 passed, 2 failed\n", out.String())
}

func TestFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, name := range []string{"b.lua", "a.lua", "notes.txt"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), nil, 0o644))
	}
	empty := t.TempDir()
	single := filepath.Join(dir, "notes.txt")

	files, err := Files([]string{dir, single})
	require.NoError(t, err)
	assert.Equal(t, []string{filepath.Join(dir, "a.lua"), filepath.Join(dir, "b.lua"), single}, files,
		"a directory's .lua files in order, a file as given")

	_, err = Files([]string{filepath.Join(dir, "missing")})
	assert.ErrorContains(t, err, "cannot read "+filepath.Join(dir, "missing")+": no such file or directory")
	_, err = Files([]string{empty})
	assert.EqualError(t, err, "no .lua files in "+empty)
}

// TestRunLeavesNoKeysBehind grades two files on the embedded server: each
// sees an empty keyspace, and nothing is left of either afterwards.
func TestRunLeavesNoKeysBehind(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	backend, err := redisconn.Connect(ctx, redisconn.ConnectOptions{Embedded: true})
	require.NoError(t, err)
	t.Cleanup(func() { backend.Close() })
	store := streams.New(backend.Client, streams.Options{Prefix: "student:", CountLag: true})

	dir, lib := t.TempDir(), t.TempDir()
	checks := `return function(fill)
		check("starts empty", function()
			expect(info().events.length == 0, "the stream should be empty")
			fill()
			expect(info().events.length == 1, "the hand-in submitted one claim")
		end)
	end`
	require.NoError(t, os.WriteFile(filepath.Join(lib, "checks_empty.lua"), []byte(checks), 0o644))
	handIn := `require("checks_empty")(function()
		submit{customer="C", policy="P", amount=5, type="auto", incident_date="2026-01-01", description="d"}
	end)`
	for _, name := range []string{"a.lua", "b.lua"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(handIn), 0o644))
	}
	files, err := Files([]string{dir})
	require.NoError(t, err)

	var out bytes.Buffer
	res, err := Run(ctx, Options{Store: store, Backend: backend.Description, Out: &out, Files: files, Lib: []string{lib}})
	require.NoError(t, err)
	assert.Equal(t, []Row{{"a.lua", "starts empty", "pass", ""}, {"b.lua", "starts empty", "pass", ""}}, res.Rows, out.String())
	assert.Equal(t, 2, res.Passed)
	assert.Zero(t, res.Failed)
	keys, err := backend.Client.Keys(ctx, "*").Result()
	require.NoError(t, err)
	assert.Empty(t, keys)
}
