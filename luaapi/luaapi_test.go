package luaapi

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"regexp"
	"testing"

	"claimsctl/streams"
	"claimsctl/streams/streamstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	lua "github.com/yuin/gopher-lua"
)

func newRuntime(t *testing.T, store *streams.Store, echo bool) (*Runtime, *bytes.Buffer) {
	var out bytes.Buffer
	rt := New(Config{Store: store, Out: &out, Echo: echo})
	t.Cleanup(rt.Close)
	return rt, &out
}

// TestLuaSuite runs every Test* function of testdata/api_test.lua as a
// subtest on both backends: the API exercised from Lua, as students use it.
func TestLuaSuite(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("testdata/api_test.lua")
	require.NoError(t, err)
	names := regexp.MustCompile(`(?m)^function (Test\w+)\(`).FindAllStringSubmatch(string(src), -1)
	require.NotEmpty(t, names)
	streamstest.ForEachBackend(t, func(t *testing.T, newStore streamstest.NewStore) {
		for _, m := range names {
			name := m[1]
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				rt, out := newRuntime(t, newStore(t, streams.Options{}), false)
				ctx := context.Background()
				require.NoError(t, rt.DoFile(ctx, "testdata/api_test.lua"))
				err := rt.DoString(ctx, name+"()", name)
				require.NoError(t, err, "output:\n%s", out.String())
				assert.Zero(t, rt.Failed(), "failed expectations:\n%s", out.String())
			})
		}
	})
}

func TestErrorsCarryFileAndLine(t *testing.T) {
	t.Parallel()
	streamstest.ForEachBackend(t, func(t *testing.T, newStore streamstest.NewStore) {
		rt, _ := newRuntime(t, newStore(t, streams.Options{}), false)
		ctx := context.Background()
		err := rt.DoString(ctx, "local x = 1\napprove('nope', 10)", "scripts/mine.lua")
		require.Error(t, err)
		assert.Contains(t, err.Error(), "scripts/mine.lua:2:")
		assert.Contains(t, err.Error(), "has no events")
		assert.NotContains(t, err.Error(), "stack traceback")

		err = rt.DoString(ctx, "for i = 1, 2 do", "scripts/broken.lua")
		require.Error(t, err)
		assert.Contains(t, err.Error(), "scripts/broken.lua")
		assert.Contains(t, err.Error(), "syntax error")
	})
}

func TestEvalShowsValuesAndContinuesChunks(t *testing.T) {
	t.Parallel()
	streamstest.ForEachBackend(t, func(t *testing.T, newStore streamstest.NewStore) {
		rt, out := newRuntime(t, newStore(t, streams.Options{}), true)
		ctx := context.Background()

		v, err := rt.Eval(ctx, "1 + 2")
		require.NoError(t, err)
		assert.Equal(t, "3", v)

		_, err = rt.Eval(ctx, "for i = 1, 3 do")
		assert.True(t, rt.Incomplete(err), "an unfinished loop continues on the next line")

		_, err = rt.Eval(ctx, "x = = 1")
		require.Error(t, err)
		assert.False(t, rt.Incomplete(err), "a real syntax error is not 'incomplete'")

		v, err = rt.Eval(ctx, `c = submit{customer="CUST-0001", policy="POL-0001", amount=2500, type="auto", incident_date="2026-11-20", description="rear-ended"}`)
		require.NoError(t, err)
		assert.Empty(t, v)
		assert.Regexp(t, `claim [0-9a-f]{8} submitted \(v1\) as \d+-\d+`, out.String())

		out.Reset()
		v, err = rt.Eval(ctx, `assign(c.id, "ADJ-001")`)
		require.NoError(t, err)
		assert.Empty(t, v, "the echoed summary is not printed again as the value")
		assert.Contains(t, out.String(), "assigned to ADJ-001 (v2)")

		v, err = rt.Eval(ctx, `consume("g", "w1")`)
		require.NoError(t, err)
		assert.Empty(t, v)
		assert.Contains(t, out.String(), "2 events")
	})
}

func TestInterruptStopsABlockingConsume(t *testing.T) {
	t.Parallel()
	streamstest.ForEachBackend(t, func(t *testing.T, newStore streamstest.NewStore) {
		rt, _ := newRuntime(t, newStore(t, streams.Options{}), false)
		ctx, cancel := context.WithCancel(context.Background())
		started := make(chan struct{})
		rt.L.SetGlobal("started", rt.L.NewFunction(func(*lua.LState) int { close(started); return 0 }))
		done := make(chan error, 1)
		go func() {
			_, err := rt.Eval(ctx, `started(); consume("g", "w", {block=600000})`)
			done <- err
		}()
		<-started
		cancel()
		err := <-done
		var lerr *Error
		require.True(t, errors.As(err, &lerr), "got %v", err)
		assert.True(t, lerr.Interrupted())

		// A fresh context works again: cancellation does not stick to the state.
		v, err := rt.Eval(context.Background(), "40 + 2")
		require.NoError(t, err)
		assert.Equal(t, "42", v)
	})
}

var update = flag.Bool("update", false, "rewrite golden files and docs/lua-api.md")

// TestStopInterruptsALoopingLuaConsumer: a Lua handler that never returns
// is interrupted after the grace period, so stop() and Close() return.
func TestStopInterruptsALoopingLuaConsumer(t *testing.T) {
	t.Parallel()
	streamstest.ForEachBackend(t, func(t *testing.T, newStore streamstest.NewStore) {
		dir := t.TempDir()
		file := dir + "/loop.lua"
		require.NoError(t, os.WriteFile(file, []byte(`group = "loop"
function handle(ev) while true do end end`), 0o644))
		rt, out := newRuntime(t, newStore(t, streams.Options{}), false)
		ctx := context.Background()
		require.NoError(t, rt.DoString(ctx, `
			submit{customer="C", policy="P", amount=5, type="auto", incident_date="2026-01-01", description="d"}
			spawn("`+file+`", {log = false})
			while (info().events.groups.loop or {pending = 0}).pending == 0 do sleep(20) end
			stop("all")`, "loop"), out.String())
		v, err := rt.Eval(ctx, `workers()[1].running`)
		require.NoError(t, err)
		assert.Equal(t, "false", v)
	})
}
