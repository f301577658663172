package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
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
