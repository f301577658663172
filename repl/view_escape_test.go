package repl

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestRenderStateEscapesNamesFromRedis: stream, group and consumer names
// come from Redis, where anyone may have created them; none can move the
// cursor, clear the screen or start a line of its own in the state view.
func TestRenderStateEscapesNamesFromRedis(t *testing.T) {
	t.Parallel()
	cur := snapshot(events(3, "1-2",
		group("\x1b[2Jprocessors", 1, 0, consumer("w1\n    audit  pending 0", 1)),
		group("g\rok", 0, 0)))
	for _, color := range []bool{false, true} {
		view := RenderState(nil, cur, color)
		for _, line := range strings.Split(strings.TrimSuffix(view, "\n"), "\n") {
			assert.NotContains(t, strings.ReplaceAll(line, styleChanged, ""), "\x1b[2J", "color %v", color)
			assert.NotContains(t, line, "\r")
		}
		assert.Contains(t, view, `\x1b[2Jprocessors`)
		assert.Contains(t, view, `consumers w1\n    audit  pending 0(1)`)
		assert.Contains(t, view, `g\rok`)
		assert.Equal(t, len(cur.Streams[0].Groups)+1, strings.Count(view, "\n"), "one line per stream and group")
	}
}
