package dashboard

import (
	"strings"
	"testing"

	"claimsctl/streams/claims"

	"github.com/stretchr/testify/assert"
)

// TestRenderEscapesLabelsFromEvents: adjuster names and claim types come
// from the events, which another tool may have written; the plain
// dashboard holds no escape code and no line of theirs.
func TestRenderEscapesLabelsFromEvents(t *testing.T) {
	t.Parallel()
	r := fixedReport()
	r.ByClaimType = map[string]int{"auto\x1b[2J": 3}
	r.AdjusterWorkload = []claims.AdjusterLoad{{Adjuster: "ADJ\n  forged  9/9", Assigned: 1, Open: 1}}
	plain := Render(r, 80, false)
	assert.NotContains(t, plain, "\x1b")
	assert.NotContains(t, plain, "\n  forged")
	assert.Contains(t, plain, `auto\x1b[2J`)
	assert.Contains(t, plain, `ADJ\n  forged  9/9`)
	colored := Render(r, 80, true)
	assert.NotContains(t, colored, "\x1b[2J")
	assert.Equal(t, strings.Count(plain, "\n"), strings.Count(colored, "\n"), "the same lines in colour")
}
