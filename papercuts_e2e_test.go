package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"claimsctl/streams/redistest"

	"github.com/redis/go-redis/v9"
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
	assert.Contains(t, help.stdout, "an io that only writes to the terminal:\nhelp(\"libraries\") lists them.\n")
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
		for _, fn := range []string{"consume", "recover"} {
			r := claimsctl(t, "", nil, "--embedded", "-e", fn+`("analytics")`)
			assert.Equal(t, 1, r.code)
			assert.Contains(t, r.stderr, fn+`: bad argument #2: a consumer name is missing: `+fn+`("analytics", "c1")`)
			assert.NotContains(t, r.stderr, "string expected, got nil")
		}
		r := claimsctl(t, "", nil, "--embedded", "-e", `retry_dlq()`)
		assert.Equal(t, 1, r.code)
		assert.Contains(t, r.stderr, `retry_dlq: bad argument #1: want a dead letter's id (dlq()[1].id) or "all"`)
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

// TestLabStepsOnAUsedServer: steps 5, 11 and 12 run again on a server
// used before, from a new folder too, say what is this run's and what is
// left from before. Step 5 shows its four groups at lag 0 and names the
// others apart; step 11 prints each warning once and names the archives
// in data/ and the restored streams on the server for what each is; step
// 12 counts this run's claims per partition, in words ("1 claim").
func TestLabStepsOnAUsedServer(t *testing.T) {
	t.Parallel()
	url := redistest.Start(t).URL()
	opt, err := redis.ParseURL(url)
	require.NoError(t, err)
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	// A group of another step, which never reads to the end.
	require.NoError(t, rdb.XGroupCreateMkStream(context.Background(), "claims:events", "demo", "0").Err())
	first, second := studentDir(t), studentDir(t)
	step := func(dir, name string) string {
		t.Helper()
		r := claimsctlIn(t, dir, "", labEnv, "--redis", url, "run", "scripts/"+name)
		require.Equal(t, 0, r.code, "%s\nstdout:\n%s\nstderr:\n%s", name, r.stdout, r.stderr)
		assert.Contains(t, r.stdout, "Now you should see", name)
		return r.stdout
	}
	groupLine := regexp.MustCompile(`(?m)^  \S+ +pending \d+ +lag \d+ +consumers`)

	step(first, "step05.lua")
	five := step(first, "step05.lua")
	assert.Contains(t, five, "the four workers' groups have read and acked everything:")
	assert.Len(t, groupLine.FindAllString(five, -1), 4, "only the four workers' groups:\n%s", five)
	assert.Regexp(t, `claims:events has 1 group more, of other steps: demo \(lag \d+\)`, five)

	step(first, "step11.lua")
	eleven := step(second, "step11.lua")
	assert.Contains(t, eleven, "kept from earlier runs: no archive in this folder's data/, claims:restored-1 on this server")
	assert.Contains(t, eleven, "this run's number is 2")
	assert.Equal(t, 1, strings.Count(eleven, "warning: group demo still has"), "each warning once:\n%s", eleven)
	assert.Contains(t, eleven, "still refused, by other groups: ")
	assert.FileExists(t, filepath.Join(second, "data", "claims-archive-2.jsonl"))
	again := step(first, "step11.lua")
	assert.Contains(t, again, "kept from earlier runs: data/claims-archive-1.jsonl in this folder's data/, claims:restored-1 .. -2 on this server")
	assert.Contains(t, again, "this run's number is 3")

	step(first, "step12.lua")
	twelve := step(first, "step12.lua")
	assert.NotRegexp(t, `\b1 entries\b|\b1 claims\b`, twelve)
	perPartition := regexp.MustCompile(`(?m)^  partition \d+: \S+ +(\d+) claims? +slot`)
	sum := 0
	for _, m := range perPartition.FindAllStringSubmatch(twelve, -1) {
		n, err := strconv.Atoi(m[1])
		require.NoError(t, err)
		sum += n
	}
	assert.Equal(t, 12, sum, "this run's 12 claims, whatever earlier runs left:\n%s", twelve)
	assert.Contains(t, twelve, "in the stream in all, earlier ones too")
}
