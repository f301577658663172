package luaapi

import (
	"context"
	"testing"

	"claimsctl/streams"
	"claimsctl/streams/streamstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSubmitLoopFilesClaimsUntilStopped: the loop files claims in the
// background while the chunk goes on; stop() returns every acknowledged
// claim, each in the stream once, and no claim follows it.
func TestSubmitLoopFilesClaimsUntilStopped(t *testing.T) {
	t.Parallel()
	rt, out := newRuntime(t, streamstest.Embedded(t)(t, streams.Options{}), false)
	v, err := rt.Eval(context.Background(), `
sample_data{}
local loop = submit_loop{every = 1}
while loop.status().submitted < 20 do sleep(5) end
local r = loop.stop()
local after = info().events.length
sleep(50)
local seen = {}
for ev in replay{} do seen[ev.claim_id] = (seen[ev.claim_id] or 0) + 1 end
local once = 0
for _, id in ipairs(r.ids) do if seen[id] == 1 then once = once + 1 end end
return #r.ids == r.submitted and once == #r.ids and info().events.length == after and #r.unsure == 0 and r.failed == 0
  and r.last_id == r.ids[#r.ids] and not r.running and r.last_stream == key("claims:events")`)
	require.NoError(t, err, out.String())
	assert.Equal(t, "true", v)
}

// TestSubmitLoopWaitsOutAPause: during CLIENT PAUSE the loop's claim in
// flight waits (status() answers meanwhile, without Redis), and the loop
// goes on afterwards; nothing fails, nothing is filed twice.
func TestSubmitLoopWaitsOutAPause(t *testing.T) {
	t.Parallel()
	rt, out, _, _ := realSession(t)
	v, err := rt.Eval(context.Background(), `
sample_data{}
local loop = submit_loop{every = 5}
while loop.status().submitted < 5 do sleep(5) end
chaos.pause(400)
local n, waited = loop.status().submitted, 0
while loop.status().submitted == n do waited = math.max(waited, loop.status().waiting_ms); sleep(5) end
local r = loop.stop()
local seen = 0
for ev in replay{} do seen = seen + 1 end
return tostring(waited >= 100) .. " " .. tostring(r.longest_ms >= 300) .. " " .. r.failed .. " " .. tostring(seen == r.submitted)`)
	require.NoError(t, err, out.String())
	assert.Equal(t, "true true 0 true", v)
}
