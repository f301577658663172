package main

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckGradesExercises(t *testing.T) {
	t.Parallel()
	for name, conn := range backendArgs(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := claimsctl(t, "", nil, append(conn, "check", "scripts/exercises/solutions")...)
			require.Equal(t, 0, r.code, "reference solutions pass:\n%s\n%s", r.stdout, r.stderr)
			assert.Regexp(t, `(?m)^01_high_value_consumer\.lua\s+flags exactly the claims over the limit\s+pass$`, r.stdout)
			assert.Regexp(t, `(?m)^\d+ passed, 0 failed$`, r.stdout)

			r = claimsctl(t, "", nil, append(conn, "check", "scripts/exercises")...)
			assert.Equal(t, 3, r.code, "the unsolved exercises fail:\n%s\n%s", r.stdout, r.stderr)
			assert.Regexp(t, `flags exactly the claims over the limit\s+FAIL\s+two claims are over 10000, got 0`, r.stdout)
			assert.Regexp(t, `(?m)^\d+ passed, [1-9]\d* failed$`, r.stdout)
			assert.Contains(t, r.stderr, "checks failed")
		})
	}
}

func TestCheckReportsBrokenExercises(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	files := map[string]string{
		"a_passes.lua":  `check("one is one", function() expect(1 == 1, "math") end)`,
		"b_errors.lua":  "check(\"before\", function() end)\nlocal x = nil + 1\n",
		"c_outside.lua": `expect(false, "top-level expectation")`,
		"d_syntax.lua":  `check("never", function()`,
		"e_loops.lua":   `check("loops", function() while true do end end)`,
		"f_raises.lua":  `check("raises", function() error("boom") end)`,
	}
	for name, body := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
	}
	r := claimsctl(t, "", nil, "--embedded", "check", "--timeout", "2s", dir)
	assert.Equal(t, 3, r.code, r.stdout+r.stderr)
	for _, want := range []string{
		`a_passes\.lua\s+one is one\s+pass`,
		`b_errors\.lua\s+before\s+pass\n\s+\(script\)\s+ERROR\s+.*b_errors\.lua:2:`,
		`c_outside\.lua\s+\(outside any check\)\s+FAIL\s+.*c_outside\.lua:1: top-level expectation`,
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
