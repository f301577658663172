package main

import (
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCheckGradesExercises: the reference solutions pass every check, the
// stubs handed out fail every one, and both tables match
// testdata/check/*.txt (go test . -update rewrites them).
func TestCheckGradesExercises(t *testing.T) {
	t.Parallel()
	cases := []struct {
		dir, golden, result string
		code                int
	}{
		{"scripts/exercises/solutions", "solutions.txt", "pass", 0},
		{"scripts/exercises", "exercises.txt", "FAIL", 3},
	}
	for name, conn := range backendArgs(t) {
		for _, c := range cases {
			t.Run(name+"/"+c.golden, func(t *testing.T) {
				t.Parallel()
				r := claimsctl(t, "", nil, append(conn, "check", c.dir)...)
				require.Equal(t, c.code, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
				rows := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
				require.Greater(t, len(rows), 2)
				for _, row := range rows[1 : len(rows)-1] {
					assert.Regexp(t, `\s`+c.result+`(\s|$)`, row)
				}
				golden := filepath.Join("testdata", "check", c.golden)
				if *update && name == "redis" {
					require.NoError(t, os.MkdirAll(filepath.Dir(golden), 0o755))
					require.NoError(t, os.WriteFile(golden, []byte(r.stdout), 0o644))
				}
				want, err := os.ReadFile(golden)
				require.NoError(t, err, "go test . -update writes it")
				assert.Equal(t, string(want), r.stdout, "the same table, run after run, on either server")
			})
		}
	}
}

// checksLib is a folder with the checks module checks_t: a hand-in calls
// require("checks_t")(name, fn) for a check of that name that calls fn,
// and (nil, nil, message) for a failed expectation outside any check.
func checksLib(t *testing.T) string {
	t.Helper()
	lib := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(lib, "checks_t.lua"), []byte(`return function(name, fn, outside)
  if outside then expect(false, outside) end
  if name then check(name, function() fn() end) end
end
`), 0o644))
	return lib
}

func TestCheckReportsBrokenExercises(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	files := map[string]string{
		"a_passes.lua":  `require("checks_t")("one is one", function() end)`,
		"b_errors.lua":  "require(\"checks_t\")(\"before\", function() end)\nlocal x = nil + 1\n",
		"c_outside.lua": `require("checks_t")(nil, nil, "top-level expectation")`,
		"d_syntax.lua":  `require("checks_t")("never", function()`,
		"e_loops.lua":   `require("checks_t")("loops", function() while true do end end)`,
		"f_raises.lua":  `require("checks_t")("raises", function() error("boom") end)`,
	}
	for name, body := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
	}
	r := claimsctl(t, "", nil, "--embedded", "check", "--timeout", "2s", "--lib", checksLib(t), dir)
	assert.Equal(t, 3, r.code, r.stdout+r.stderr)
	for _, want := range []string{
		`a_passes\.lua\s+one is one\s+pass`,
		`b_errors\.lua\s+before\s+pass\n\s+\(script\)\s+ERROR\s+.*b_errors\.lua:2:`,
		`c_outside\.lua\s+\(outside any check\)\s+FAIL\s+.*checks_t\.lua:2: top-level expectation`,
		`e_loops\.lua\s+\(script\)\s+ERROR\s+stopped after 2s: an endless loop\?`,
		`f_raises\.lua\s+raises\s+ERROR\s+.*f_raises\.lua:1: boom`,
		`d_syntax\.lua\s+\(script\)\s+ERROR\s+.*syntax error`,
		`(?m)^2 passed, 5 failed$`,
	} {
		assert.Regexp(t, regexp.MustCompile(want), r.stdout)
	}

	r = claimsctl(t, "", nil, "--embedded", "check", filepath.Join(dir, "nothing-here"))
	assert.Equal(t, 2, r.code, r.stderr)
}

func TestCheckLeavesNoKeysBehind(t *testing.T) {
	t.Parallel()
	conn := backendArgs(t)["redis"]
	r := claimsctl(t, "", nil, append(conn, "check", "scripts/exercises/solutions")...)
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	r = claimsctl(t, "", nil, append(conn, "-e", `print(info().events.exists)`)...)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "false\n", r.stdout, "each exercise ran under its own prefix, deleted afterwards")
}

// TestCheckSandboxesHandIns grades hand-ins that try to break out: each is
// an ERROR with a one-line reason, nothing they tried happened, and the
// files after them are still graded.
func TestCheckSandboxesHandIns(t *testing.T) {
	t.Parallel()
	dir, outside := t.TempDir(), t.TempDir()
	written, ran := filepath.Join(outside, "x"), filepath.Join(outside, "ran")
	files := map[string]string{
		"a_execute.lua": `require("checks_t")("runs a command", function() os.execute("touch ` + ran + `") end)`,
		"b_writes.lua":  `require("checks_t")("writes a file", function() report{out = "` + written + `"} end)`,
		"c_reads.lua":   `require("checks_t")("reads a file", function() dofile("/etc/passwd") end)`,
		"d_allocates.lua": `local t = {}
			require("checks_t")("allocates 10 GB", function() for i = 1, 1000 do t[i] = string.rep("x", 1e7) .. i end end)`,
		"e_spins.lua":   `require("checks_t")("loops forever", function() while true do end end)`,
		"f_waits.lua":   `require("checks_t")("waits forever", function() while true do sleep(100) end end)`,
		"g_exits.lua":   `os.exit(0)`,
		"h_catches.lua": "pcall(os.execute, \"touch " + ran + "\")\nrequire(\"checks_t\")(\"looks fine\", function() end)",
		"i_passes.lua":  `require("checks_t")("one is one", function() end)`,
	}
	for name, body := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
	}
	// The CPU limit well below the wall-clock one: on a loaded machine a
	// spinning child gets a fraction of a core, and must still meet its
	// CPU limit first.
	r := claimsctl(t, "", nil, "--embedded", "check", "--timeout", "15s", "--cpu", "1s", "--lib", checksLib(t), dir)
	assert.Equal(t, 3, r.code, r.stdout+r.stderr)
	for _, want := range []string{
		`a_execute\.lua\s+runs a command\s+ERROR\s+\S*a_execute\.lua:1: os\.execute is not available in the sandbox`,
		`b_writes\.lua\s+writes a file\s+ERROR\s+\S*b_writes\.lua:1: report: \S+ is outside the sandbox: files are written only in its temp folder`,
		`c_reads\.lua\s+reads a file\s+ERROR\s+\S*c_reads\.lua:1: dofile: /etc/passwd is outside the sandbox`,
		`d_allocates\.lua\s+\(script\)\s+ERROR\s+stopped: it used more than 512 MB`,
		`e_spins\.lua\s+\(script\)\s+ERROR\s+stopped: it used more than 1s of CPU time`,
		`f_waits\.lua\s+\(script\)\s+ERROR\s+stopped after 15s: an endless loop\?`,
		`g_exits\.lua\s+\(script\)\s+ERROR\s+\S*g_exits\.lua:1: os\.exit is not available`,
		`h_catches\.lua\s+looks fine\s+pass\n\s+\(sandbox\)\s+ERROR\s+\S*h_catches\.lua:1: os\.execute is not available`,
		`i_passes\.lua\s+one is one\s+pass`,
		`(?m)^2 passed, 8 failed$`,
	} {
		assert.Regexp(t, regexp.MustCompile(want), r.stdout)
	}
	assert.NoFileExists(t, written)
	assert.NoFileExists(t, ran)
	assert.NotContains(t, r.stdout+r.stderr, "goroutine", "no stack dump")
	assertOneLineRows(t, r.stdout)
}

// TestCheckHostileHandIns grades luaapi/grade/testdata/hostile's hand-ins
// with the built binary, each as exercise 01 in a folder of its own, as
// an instructor grades a class: not one check passes.
func TestCheckHostileHandIns(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("luaapi/grade/testdata/hostile/*.lua")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	class := t.TempDir()
	var dirs []string
	for _, f := range files {
		src, err := os.ReadFile(f)
		require.NoError(t, err)
		dir := filepath.Join(class, strings.TrimSuffix(filepath.Base(f), ".lua"))
		require.NoError(t, os.MkdirAll(dir, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "01_high_value_consumer.lua"), src, 0o644))
		dirs = append(dirs, dir)
	}
	r := claimsctl(t, "", nil, append([]string{"--embedded", "check"}, dirs...)...)
	assert.Equal(t, 3, r.code, r.stdout+r.stderr)
	assert.Regexp(t, `(?m)^0 passed, \d+ failed$`, r.stdout)
	assert.NotRegexp(t, `\spass(\s|$)`, r.stdout)
	assertOneLineRows(t, r.stdout)
}

// TestCheckReports: rows name files relative to the folder given, so the
// exercises and their solutions are told apart; --format junit and json
// go to -o FILE with the table on stdout, or alone on stdout; a bad
// --format or -o is a usage error that grades nothing and writes nothing.
func TestCheckReports(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, sub := range []string{"", "solutions"} {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, sub), 0o755))
		src, err := os.ReadFile(filepath.Join("scripts/exercises", sub, "01_high_value_consumer.lua"))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, sub, "01_high_value_consumer.lua"), src, 0o644))
	}
	lib, err := filepath.Abs("scripts/exercises/lib")
	require.NoError(t, err)
	xmlFile := filepath.Join(t.TempDir(), "report.xml")

	r := claimsctl(t, "", nil, "--embedded", "check", "--lib", lib, "--format", "junit", "-o", xmlFile, dir, filepath.Join(dir, "solutions"))
	assert.Equal(t, 3, r.code, r.stdout+r.stderr)
	assert.Regexp(t, `(?m)^01_high_value_consumer\.lua\s+flags exactly the claims over the limit\s+FAIL`, r.stdout)
	assert.Regexp(t, `(?m)^solutions/01_high_value_consumer\.lua\s+flags exactly the claims over the limit\s+pass`, r.stdout)
	assert.Regexp(t, `(?m)^3 passed, 3 failed$`, r.stdout)
	report, err := os.ReadFile(xmlFile)
	require.NoError(t, err)
	var doc struct {
		Suites []struct {
			Name  string `xml:"name,attr"`
			Cases []struct {
				Name    string    `xml:"name,attr"`
				Failure *struct{} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	require.NoError(t, xml.Unmarshal(report, &doc), string(report))
	require.Len(t, doc.Suites, 2)
	assert.Equal(t, "01_high_value_consumer.lua", doc.Suites[0].Name)
	assert.Equal(t, "solutions/01_high_value_consumer.lua", doc.Suites[1].Name)
	for i, s := range doc.Suites {
		require.Len(t, s.Cases, 3, s.Name)
		for _, c := range s.Cases {
			assert.Equal(t, i == 0, c.Failure != nil, "%s: %s", s.Name, c.Name)
		}
	}

	r = claimsctl(t, "", nil, "--embedded", "check", "--lib", lib, "--format", "json", "-v", filepath.Join(dir, "solutions"))
	assert.Equal(t, 0, r.code, r.stdout+r.stderr)
	var rep struct {
		Score    int `json:"score"`
		MaxScore int `json:"max_score"`
		Tests    []struct {
			Name   string `json:"name"`
			Status string `json:"status"`
		} `json:"tests"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep), "stdout is the JSON alone, -v's output on stderr: %s", r.stdout)
	assert.Equal(t, 3, rep.Score)
	assert.Equal(t, 3, rep.MaxScore)
	require.Len(t, rep.Tests, 3)
	assert.Equal(t, "01_high_value_consumer.lua: flags exactly the claims over the limit", rep.Tests[0].Name)
	assert.Contains(t, r.stderr, "== 01_high_value_consumer.lua")

	for _, bad := range [][]string{
		{"--format", "xml"},
		{"-o", filepath.Join(dir, "missing", "report.xml")},
		{"-o", dir},
	} {
		r = claimsctl(t, "", nil, append(append([]string{"--embedded", "check"}, bad...), dir)...)
		assert.Equal(t, 2, r.code, "%v: %s", bad, r.stdout+r.stderr)
		assert.Empty(t, r.stdout, "%v grades nothing", bad)
	}
	assert.NoFileExists(t, filepath.Join(dir, "missing", "report.xml"))
}

// assertOneLineRows: every line of a check table is a row or the total.
func assertOneLineRows(t *testing.T, table string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(table, "\n"), "\n")
	require.NotEmpty(t, lines)
	assert.Regexp(t, `^exercise\s+check\s+result$`, lines[0])
	assert.Regexp(t, `^\d+ passed, \d+ failed$`, lines[len(lines)-1])
	for _, line := range lines[1 : len(lines)-1] {
		assert.Regexp(t, `\s(pass|FAIL|ERROR)(\s|$)`, line, "a row, not a fragment of one")
	}
}

// TestCheckFindsTheExercisesLib grades hand-in folders away from the
// exercises: a file named like an exercise finds its lib/, any other
// needs --lib, and the error saying so is one line.
func TestCheckFindsTheExercisesLib(t *testing.T) {
	t.Parallel()
	alice, bob := filepath.Join(t.TempDir(), "alice"), filepath.Join(t.TempDir(), "bob")
	solution, err := os.ReadFile("scripts/exercises/solutions/01_high_value_consumer.lua")
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(alice, 0o755))
	require.NoError(t, os.MkdirAll(bob, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(alice, "01_high_value_consumer.lua"), solution, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(bob, "my_answer.lua"), solution, 0o644))

	r := claimsctl(t, "", nil, "--embedded", "check", alice)
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	assert.Regexp(t, `(?m)^3 passed, 0 failed$`, r.stdout)

	r = claimsctl(t, "", nil, "--embedded", "check", bob)
	assert.Equal(t, 3, r.code, r.stdout+r.stderr)
	assert.Regexp(t, `my_answer\.lua\s+\(script\)\s+ERROR\s+\S*my_answer\.lua:\d+: module checks_01 not found: no file checks_01\.lua in .* \(claimsctl check --lib DIR adds a folder of modules\)`, r.stdout)
	assertOneLineRows(t, r.stdout)

	r = claimsctl(t, "", nil, "--embedded", "check", "--lib", "scripts/exercises/lib", bob)
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	assert.Regexp(t, `(?m)^3 passed, 0 failed$`, r.stdout)

	r = claimsctl(t, "", nil, "--embedded", "check", "--lib", filepath.Join(bob, "nothing"), bob)
	assert.Equal(t, 2, r.code, r.stderr)
	assert.Contains(t, r.stderr, "is not a folder")
}

// TestRunSandbox: run and the REPL are open by default; --sandbox gives
// them check's limits, and the exit codes still say what happened.
func TestRunSandbox(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	marker := filepath.Join(t.TempDir(), "ran")
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
		return p
	}
	execute := write("execute.lua", `os.execute("touch `+marker+`")`)
	hog := write("hog.lua", `local t = {} for i = 1, 1000 do t[i] = string.rep("x", 1e7) .. i end`)
	fine := write("fine.lua", `print("hello " .. arg[1]); report{out = "data/report.json"}`)
	failing := write("failing.lua", `expect(false, "the claim should be approved")`)

	r := claimsctl(t, "", nil, "--embedded", "run", "--sandbox", execute)
	assert.Equal(t, 1, r.code, r.stdout+r.stderr)
	assert.Contains(t, r.stderr, "os.execute is not available in the sandbox")
	assert.NoFileExists(t, marker)

	r = claimsctl(t, "", nil, "--embedded", "run", "--sandbox", hog)
	assert.Equal(t, 1, r.code, r.stdout+r.stderr)
	assert.Contains(t, r.stderr, "claimsctl: stopped: it used more than 512 MB\n")
	assert.NotContains(t, r.stderr, "goroutine", "no stack dump")

	r = claimsctl(t, "", nil, "--embedded", "run", "--sandbox", fine, "world")
	assert.Equal(t, 0, r.code, r.stdout+r.stderr)
	assert.Equal(t, "hello world\n", r.stdout)
	assert.NoFileExists(t, filepath.Join("data", "report.json"), "written in the sandbox's temp folder")

	r = claimsctl(t, "", nil, "--embedded", "run", "--sandbox", failing)
	assert.Equal(t, 3, r.code, r.stdout+r.stderr)
	assert.Contains(t, r.stdout, "the claim should be approved")

	r = claimsctl(t, "print(1 + 1)\nos.execute('touch "+marker+"')\n", nil, "--embedded", "repl", "--sandbox")
	assert.Equal(t, 1, r.code, "the refused command failed\n"+r.stdout+r.stderr)
	assert.Contains(t, r.stdout, "\n2\n")
	assert.Contains(t, r.stderr, "error: stdin:1: os.execute is not available in the sandbox")
	assert.NoFileExists(t, marker)

	r = claimsctl(t, "", nil, "--embedded", "run", execute)
	assert.Equal(t, 0, r.code, r.stdout+r.stderr)
	assert.FileExists(t, marker, "without --sandbox, run is a local tool")
}
