package luaapi

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"claimsctl/streams"
	"claimsctl/streams/streamstest"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	lua "github.com/yuin/gopher-lua"
)

// lockedBuffer is an output that background workers write to while the
// test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// assertNoTerminalControl: out holds no escape sequence, no carriage
// return, and no line that starts like a forged one.
func assertNoTerminalControl(t *testing.T, out string) {
	t.Helper()
	assert.NotContains(t, out, "\x1b")
	assert.NotContains(t, out, "\r")
	assert.NotContains(t, out, "\a")
	for _, line := range strings.Split(out, "\n") {
		assert.False(t, strings.HasPrefix(strings.TrimSpace(line), "[forged"), "a forged line: %q", line)
	}
}

func TestFormatValueEscapesWhatCameFromRedis(t *testing.T) {
	t.Parallel()
	L := lua.NewState()
	defer L.Close()
	require.NoError(t, L.DoString(`
		ev = {id = "1-0", type = "claim.submitted\27[2J", claim_id = "x\n  [forged  1-0]", version = 1,
		      occurred_at = "2026-11-25T10:00:00.000Z", actor = "\27]0;pwned\7me"}
		bad = {id = "2-0", error = "entry 2-0 is not a claim event", fields = {["\27[31mk"] = "v\27[0m"}}
		dead = {{id = "3-0", type = "claim.assigned", claim_id = "C-1", source_id = "1-0", error = "boom\r\n[forged]"}}
		tbl = {["key\27[2J"] = {nested = "a\27b"}}
	`))
	for _, name := range []string{"ev", "bad", "dead", "tbl"} {
		out := formatValue(L.GetGlobal(name))
		assertNoTerminalControl(t, out)
	}
	assert.Equal(t, `1-0  claim.submitted\x1b[2J      x\n  [forged  1-0]  v1  2026-11-25 10:00:00.000  by \x1b]0;pwned\ame`, formatValue(L.GetGlobal("ev")))
	assert.Contains(t, formatValue(L.GetGlobal("tbl")), `key\x1b[2J = {nested = "a\x1bb"}`)
	assert.Equal(t, "a\\x1b[2Jb\nsecond line", formatValue(lua.LString("a\x1b[2Jb\nsecond line")), "a string keeps its lines")
}

// TestTerminalOutputEscapesForgedEntries: entries another tool wrote into
// claims:events, and a consumer's error, reach the REPL's values,
// monitor(), dlq() and the worker log only escaped.
func TestTerminalOutputEscapesForgedEntries(t *testing.T) {
	t.Parallel()
	store := streamstest.Embedded(t)(t, streams.Options{})
	var out lockedBuffer
	rt := New(Config{Store: store, Out: &out})
	t.Cleanup(rt.Close)
	ctx := context.Background()

	forged := []map[string]any{
		// A claim id that would write a worker log line of its own.
		{"type": "claim.submitted", "claim_id": "x\n  [forged  1-0  claim.approved]", "version": "1", "event_id": "e1",
			"occurred_at": "2026-11-25T10:00:00.000Z", "actor": "me", "data": `{}`, "schema": "1"},
		// Well-formed, but its text would drive the terminal.
		{"type": "claim.submitted", "claim_id": "zz1", "version": "1", "event_id": "e2",
			"occurred_at": "2026-11-25T10:00:00.000Z", "actor": "\x1b]0;pwned\x07me",
			"data": `{"description":"\u001b[2J\u001b[Hwiped"}`, "schema": "1"},
		// Not an event at all, with a field name that is an escape.
		{"\x1b[31mnote": "hello\r\n[forged]"},
	}
	for _, values := range forged {
		require.NoError(t, store.Client().XAdd(ctx, &redis.XAddArgs{Stream: store.Keys().Events(), Values: values}).Err())
	}

	v, err := rt.Eval(ctx, `consume("peek", "w1", {count = 10})`)
	require.NoError(t, err)
	assert.Contains(t, v, "3 events")
	assertNoTerminalControl(t, v)
	v, err = rt.Eval(ctx, `redis("XRANGE", key("claims:events"), "-", "+")`)
	require.NoError(t, err)
	assert.Contains(t, v, `"{\"description\":\"\\u001b[2J\\u001b[Hwiped\"}"`, "raw replies are quoted")
	assertNoTerminalControl(t, v)

	require.NoError(t, rt.DoString(ctx, `monitor{events = 3, from = "0"}`, "monitor"))
	assert.Contains(t, out.String(), "MALFORMED")
	assertNoTerminalControl(t, out.String())

	consumerFile := filepath.Join(t.TempDir(), "failing.lua")
	require.NoError(t, os.WriteFile(consumerFile, []byte(`group = "failing"
function handle(ev) error("boom\27[2J\n  [forged  1-0  claim.approved]") end`), 0o644))
	require.NoError(t, rt.DoString(ctx, `
		submit{customer="CUST-0001", policy="POL-0001", amount=10, type="auto", incident_date="2026-01-01", description="real"}
		start("analytics"); spawn("`+consumerFile+`")`, "workers"))
	logged := func() bool {
		return strings.Contains(out.String(), "boom") && strings.Count(out.String(), "dead-lettered") == 6
	}
	if !assert.Eventually(t, logged, 20*time.Second, 20*time.Millisecond, "the workers log the failure and the dead letters") {
		t.Fatal(out.String())
	}
	require.NoError(t, rt.DoString(ctx, `wait_idle("analytics", {timeout = 20}); stop("all")`, "stop"))
	assertNoTerminalControl(t, out.String())
	assert.Contains(t, out.String(), `boom\x1b[2J\n  [forged  1-0  claim.approved]`)

	v, err = rt.Eval(ctx, `dlq()`)
	require.NoError(t, err)
	assert.Contains(t, v, "6 events", "each group dead-lettered the three forged entries")
	assertNoTerminalControl(t, v)
}
