package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestVersionFlag: --version prints what version does, and version takes
// no arguments.
func TestVersionFlag(t *testing.T) {
	t.Parallel()
	version := claimsctl(t, "", nil, "version")
	assert.Equal(t, 0, version.code, version.stderr)
	flag := claimsctl(t, "", nil, "--version")
	assert.Equal(t, 0, flag.code, flag.stderr)
	assert.Equal(t, version.stdout, flag.stdout)
	assert.Regexp(t, `^claimsctl \S+\n$`, flag.stdout)

	extra := claimsctl(t, "", nil, "version", "x")
	assert.Equal(t, 2, extra.code)
	assert.Contains(t, extra.stderr, `version takes no arguments, got "x"`)
	assert.Empty(t, extra.stdout)
}

// TestRunStepSpellings: the lab's text says scripts/step7.lua, the file is
// scripts/step07.lua; both run.
func TestRunStepSpellings(t *testing.T) {
	t.Parallel()
	for _, file := range []string{"scripts/step1.lua", "scripts/step01.lua"} {
		t.Run(file, func(t *testing.T) {
			t.Parallel()
			r := claimsctl(t, "", nil, "--embedded", "run", file)
			require.Equal(t, 0, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			assert.Contains(t, r.stdout, "Now you should see")
			assert.NotContains(t, r.stderr, "built into claimsctl", "the clone's own file runs")
		})
	}
}

// TestLabOutsideTheClone: an installed claimsctl, started in a folder with
// no scripts/, runs the lab's steps (a spawned consumer too), grades the
// exercises with check and no argument, and a file on disk of the same
// path wins over the built-in copy.
func TestLabOutsideTheClone(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := []string{"XDG_CACHE_HOME=" + t.TempDir()}

	step := claimsctlIn(t, dir, "", env, "--embedded", "run", "scripts/step9.lua")
	require.Equal(t, 0, step.code, "stdout:\n%s\nstderr:\n%s", step.stdout, step.stderr)
	assert.Contains(t, step.stdout, "Now you should see")
	assert.Contains(t, step.stderr, "running the lab's copy built into claimsctl")
	assert.Contains(t, step.stderr, "land in "+dir)

	stubs := claimsctlIn(t, dir, "", env, "--embedded", "check")
	assert.Equal(t, 3, stubs.code, "the exercises' stubs fail their checks\nstdout:\n%s\nstderr:\n%s", stubs.stdout, stubs.stderr)
	assert.Contains(t, stubs.stdout, "01_high_value_consumer.lua")
	solutions := claimsctlIn(t, dir, "", env, "--embedded", "check", "scripts/exercises/solutions")
	assert.Equal(t, 0, solutions.code, "stdout:\n%s\nstderr:\n%s", solutions.stdout, solutions.stderr)
	assert.Contains(t, solutions.stdout, "9 passed, 0 failed")

	require.NoError(t, os.MkdirAll(filepath.Join(dir, "scripts"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "scripts", "step01.lua"), []byte(`print("the instructor's step 1")`), 0o644))
	mine := claimsctlIn(t, dir, "", env, "--embedded", "run", "scripts/step01.lua")
	require.Equal(t, 0, mine.code, mine.stderr)
	assert.Equal(t, "the instructor's step 1\n", mine.stdout)
	assert.NotContains(t, mine.stderr, "built into claimsctl")
}

// TestREPLExpressionAfterASemicolon: at the REPL and in -e, the expression
// after the last ';' is echoed; the next line is not swallowed by a ">>"
// continuation.
func TestREPLExpressionAfterASemicolon(t *testing.T) {
	t.Parallel()
	r := claimsctl(t, "c = submit{customer=\"CUST-0001\", policy=\"POL-0001\", amount=2500, type=\"auto\", incident_date=\"2026-11-20\", description=\"dented\"}\n"+
		"x = claim(c.id); x.status\nprint(\"the next line runs\")\n", nil, "--embedded")
	require.Equal(t, 0, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	assert.Contains(t, r.stdout, "\nsubmitted\n")
	assert.Contains(t, r.stdout, "the next line runs\n")

	e := claimsctl(t, "", nil, "--embedded", "-e", "x = 2; x * 3")
	require.Equal(t, 0, e.code, e.stderr)
	assert.Equal(t, "6\n", e.stdout)
}

// TestLuaIOWritesToTheTerminal: io.write and io.stdout:write write where
// print does, io.stderr:write to stderr; io.open says what a script has
// instead; help lists the standard libraries.
func TestLuaIOWritesToTheTerminal(t *testing.T) {
	t.Parallel()
	r := claimsctl(t, "", nil, "--embedded", "-e", `io.write("a", 1, "\n"); io.stdout:write("b\n"):write("c\n"); io.stderr:write("to stderr\n")`)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "a1\nb\nc\n", r.stdout)
	assert.Contains(t, r.stderr, "to stderr\n")

	open := claimsctl(t, "", nil, "--embedded", "-e", `io.open("notes.txt", "w")`)
	assert.Equal(t, 1, open.code)
	assert.Contains(t, open.stderr, "io.open is not available in claimsctl: io only writes to the terminal")

	help := claimsctl(t, "help()\nhelp(\"libraries\")\n", nil, "--embedded")
	require.Equal(t, 0, help.code, help.stderr)
	assert.Contains(t, help.stdout, `an io that only writes to the terminal: help("libraries")`)
	for _, lib := range []string{"base", "string", "table", "math", "os", "coroutine", "package", "io"} {
		assert.Regexp(t, `(?m)^  `+lib+` +\S`, help.stdout, "help(\"libraries\") lists %s", lib)
	}
	assert.Contains(t, help.stdout, "os.exit is refused")
}

// TestJavaScriptHabitsAreNamed: a parse error that shows a habit of the
// lab's JavaScript seed says so and gives the Lua, and c = await submit{}
// is refused before it files a claim that c would not hold.
func TestJavaScriptHabitsAreNamed(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		`const c = 1`:               "Lua has no const: write c = ...",
		`let c = 1`:                 "Lua has no let: write c = ...",
		`const c = await submit{}`:  "Lua has no await either",
		`x = {a=1 b=2}`:             "A missing comma? The fields of a table are separated by commas",
		"x = {a=1,\n b=2\n c=3}":    "A missing comma? The fields of a table",
		`print(1 2)`:                "A missing comma? The arguments of a call",
		`if 1 != 2 then end`:        "Lua writes not equal as ~=",
		`x = 1 // the answer`:       "Lua comments start with --, not //",
		`if 1 === 1 then end`:       "Lua compares with ==",
		`if true && false then end`: "Lua writes a and b",
	}
	for code, want := range cases {
		t.Run(code, func(t *testing.T) {
			t.Parallel()
			r := claimsctl(t, "", nil, "--embedded", "-e", code)
			assert.Equal(t, 1, r.code)
			assert.Contains(t, r.stderr, "syntax error")
			assert.Contains(t, r.stderr, want)
		})
	}
	t.Run("await", func(t *testing.T) {
		t.Parallel()
		r := claimsctl(t, strings.Replace(submitLine, "c = ", "c = await ", 1)+"\nprint(\"events:\", info().events.length)\n", nil, "--embedded")
		assert.Equal(t, 1, r.code)
		assert.Contains(t, r.stderr, "stdin:1: Lua has no await: a call returns its result at once, so write c = submit{...}")
		assert.Contains(t, r.stdout, "events:\t0\n", "nothing was filed")
	})
}

// TestFirstHourMessages: what a student meets in the first hour says what
// to do. Several seed-style field names are named at once; c.policy reads
// what submit{policy=} wrote; stats() before an analytics worker says why
// it is zero; sample_claims without sample_data{} warns; consume without a
// consumer name and help of a Redis command say what to write.
func TestFirstHourMessages(t *testing.T) {
	t.Parallel()
	t.Run("field names", func(t *testing.T) {
		t.Parallel()
		r := claimsctl(t, "", nil, "--embedded", "-e", `submit{customerId="CUST-0001", policyId="POL-0001", claimType="auto", incidentDate="2026-11-20", amount=100, description="d"}`)
		assert.Equal(t, 1, r.code)
		assert.Contains(t, r.stderr, `4 names are not fields of a claim: "claimType": write type; "customerId": write customer; "incidentDate": write incident_date; "policyId": write policy`)
	})
	t.Run("short names", func(t *testing.T) {
		t.Parallel()
		r := claimsctl(t, submitLine+"\nprint(c.policy, c.customer, c.type)\nx = claim(c.id); print(x.policy)\n", nil, "--embedded")
		require.Equal(t, 0, r.code, r.stderr)
		assert.Contains(t, r.stdout, "POL-0001\tCUST-0001\tauto\n")
		assert.Contains(t, r.stdout, "\nPOL-0001\n")
		assert.NotContains(t, r.stdout, "  policy = ", "the claim shows each field once")
	})
	t.Run("stats", func(t *testing.T) {
		t.Parallel()
		r := claimsctl(t, "stats().events\n", nil, "--embedded")
		require.Equal(t, 0, r.code, r.stderr)
		assert.Contains(t, r.stdout, "stats() is all zeros: these are the analytics worker's counters")
		assert.Contains(t, r.stdout, `start("analytics")`)
	})
	t.Run("sample_claims", func(t *testing.T) {
		t.Parallel()
		bare := claimsctl(t, "", nil, "--embedded", "-e", `sample_claims{count=5}`)
		require.Equal(t, 0, bare.code, bare.stderr)
		assert.Contains(t, bare.stdout, "warning: sample_claims: none of the sample policies these claims are on")
		assert.Contains(t, bare.stdout, "load them with sample_data{} first")
		loaded := claimsctl(t, "", nil, "--embedded", "-e", `sample_data{}; sample_claims{count=5}`)
		require.Equal(t, 0, loaded.code, loaded.stderr)
		assert.NotContains(t, loaded.stdout, "warning")
	})
	t.Run("consume", func(t *testing.T) {
		t.Parallel()
		r := claimsctl(t, "", nil, "--embedded", "-e", `consume("analytics")`)
		assert.Equal(t, 1, r.code)
		assert.Contains(t, r.stderr, `consume: bad argument #2: a consumer name is missing: consume("analytics", "c1")`)
		assert.NotContains(t, r.stderr, "string expected, got nil")
	})
	t.Run("help of a Redis command", func(t *testing.T) {
		t.Parallel()
		r := claimsctl(t, "help(\"xadd\")\n", nil, "--embedded")
		require.Equal(t, 0, r.code, r.stderr)
		assert.Contains(t, r.stdout, "XADD is a Redis command, not a function of claimsctl")
		assert.Contains(t, r.stdout, `redis("XADD", key("claims:events"), ...)`)
		assert.Contains(t, r.stdout, "submit and emit")
	})
}
