package luaapi

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLimitsRoundTrip(t *testing.T) {
	t.Parallel()
	for _, l := range []Limits{{}, {Memory: DefaultMemory}, {CPU: DefaultCPU}, {Memory: 1 << 30, CPU: 1500 * time.Millisecond}} {
		got, err := ParseLimits(l.String())
		require.NoError(t, err, l.String())
		assert.Equal(t, l, got)
	}
	for _, bad := range []string{"memory=lots", "cpu=1", "disk=5"} {
		_, err := ParseLimits(bad)
		assert.ErrorContains(t, err, LimitsEnv, bad)
	}
}

// TestStderrTailLeavesOutACrashDump: a child's error lines are relayed
// until the Go runtime crashes; the crash's first line is its last word.
func TestStderrTailLeavesOutACrashDump(t *testing.T) {
	t.Parallel()
	var relayed strings.Builder
	tail := stderrTail{relay: &relayed}
	tail.read(strings.NewReader("connected to Redis at 127.0.0.1:1\n" +
		"fatal error: runtime: cannot allocate memory\n\nruntime stack:\nruntime.throw(...)\n\t/usr/local/go/src/runtime/panic.go:1229\n"))
	assert.Equal(t, "connected to Redis at 127.0.0.1:1\n", relayed.String())
	assert.True(t, tail.outOfMemory())
	assert.Equal(t, "fatal error: runtime: cannot allocate memory", tail.last())

	// The race detector's runtime may stumble first and say why later.
	later := stderrTail{}
	later.read(strings.NewReader("runtime: g 0 gp=0x165c1c0: unknown pc 0x7fdb7df62eec\n" +
		"stack: frame={sp:0x7ffd, fp:0x0} stack=[0x7ffd,0x7ffe)\nfatal error: out of memory allocating heap arena map\n"))
	assert.True(t, later.outOfMemory())
	assert.True(t, later.crashed())
	assert.Equal(t, "runtime: g 0 gp=0x165c1c0: unknown pc 0x7fdb7df62eec", later.last())

	plain := stderrTail{}
	plain.read(strings.NewReader("connected\nclaimsctl: x.lua must set group = \"<consumer group>\"\n\n"))
	assert.False(t, plain.outOfMemory())
	assert.False(t, plain.crashed())
	assert.Equal(t, `claimsctl: x.lua must set group = "<consumer group>"`, plain.last())
}
