package luaapi

import (
	"context"
	"strings"
	"testing"
	"time"

	"claimsctl/streams"
	"claimsctl/streams/claims"
	"claimsctl/streams/streamstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestChaosSlowTakesItsTimeOverEachEntry: a slow processor, the group's
// only consumer, decides a claim no sooner than its delay after the claim
// was submitted, by the events' own times, and held the entry pending
// meanwhile.
func TestChaosSlowTakesItsTimeOverEachEntry(t *testing.T) {
	t.Parallel()
	store := streamstest.Embedded(t)(t, streams.Options{})
	rt, out := newRuntime(t, store, false)
	v, err := rt.Eval(context.Background(), chaosSubmit+`
local c = chaos.slow("processor", 300, {log = false})
local id = file(1).id
local held = 0
while claim(id).version < 2 do
  held = math.max(held, pending("processors").consumers[c] or 0)
  sleep(10)
end
return id .. " " .. held`)
	require.NoError(t, err, out.String())
	id, held, _ := strings.Cut(v, " ")
	assert.Equal(t, "1", held, "the entry waited in the slow consumer's PEL")
	h, err := store.History(context.Background(), id)
	require.NoError(t, err)
	require.Len(t, h, 2)
	require.Equal(t, claims.ClaimSubmitted, h[0].Type)
	assert.GreaterOrEqual(t, h[1].OccurredAt.Sub(h[0].OccurredAt), 300*time.Millisecond, "decided after its 300 ms per entry")
	assert.Contains(t, out.String(), "sleeps 300ms per entry before deciding it")
}
