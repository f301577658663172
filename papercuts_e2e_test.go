package main

import (
	"os"
	"path/filepath"
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
