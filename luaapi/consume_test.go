package luaapi

import (
	"context"
	"strings"
	"testing"
	"time"

	"claimsctl/streams"
	"claimsctl/streams/streamstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	lua "github.com/yuin/gopher-lua"
)

const submitChunk = `submit{customer="CUST-0001", policy="POL-0001", amount=2500, type="auto", incident_date="2026-01-20", description="rear-ended"}`

// sent is a trace writer that reports when the store has sent a command
// containing word n times. The store waits in slices of at most a second,
// each a new XREADGROUP, so a second one proves that a consume is still
// waiting after its first slice, and an event appended then must wake it.
// (The servers list no consumer for a read that found nothing, so the
// state view cannot tell.)
type sent struct {
	word string
	n    int
	seen chan struct{}
}

func awaitSent(store *streams.Store, word string, n int) <-chan struct{} {
	s := &sent{word: word, n: n, seen: make(chan struct{})}
	store.SetTrace(s)
	return s.seen
}

// Write is called under the store's trace lock, one command at a time.
func (s *sent) Write(p []byte) (int, error) {
	if strings.Contains(string(p), s.word) {
		if s.n--; s.n == 0 {
			close(s.seen)
		}
	}
	return len(p), nil
}

// runAsync runs code on rt in the background; the test's cleanup cancels
// it and waits, so the runtime is never closed under a running chunk.
func runAsync(t *testing.T, rt *Runtime, ctx context.Context, code string) <-chan error {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		done <- rt.DoString(ctx, code, "wait.lua")
	}()
	t.Cleanup(func() {
		cancel()
		<-finished
	})
	return done
}

func await[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second): // only turns a hang into a failure
		t.Fatalf("timed out waiting for %s", what)
	}
	var zero T
	return zero
}

func TestConsumeBlockZeroWaitsForAnEvent(t *testing.T) {
	t.Parallel()
	streamstest.ForEachBackend(t, func(t *testing.T, newStore streamstest.NewStore) {
		store := newStore(t, streams.Options{})
		rt, _ := newRuntime(t, store, false)
		waiting := awaitSent(store, "XREADGROUP", 2)
		done := runAsync(t, rt, context.Background(), `evs = consume("g", "w1", {block = 0})`)
		await(t, waiting, "a second slice of the wait")

		producer, _ := newRuntime(t, store, false)
		require.NoError(t, producer.DoString(context.Background(), "c = "+submitChunk, "submit.lua"))
		require.NoError(t, await(t, done, "consume to return"))
		evs, ok := rt.L.GetGlobal("evs").(*lua.LTable)
		require.True(t, ok, "consume returns a list")
		require.Equal(t, 1, evs.Len(), "block=0 waits until the event arrives")
		ev := evs.RawGetInt(1).(*lua.LTable)
		assert.Equal(t, "claim.submitted", ev.RawGetString("type").String())
	})
}

func TestConsumeBlockZeroStopsWhenCancelled(t *testing.T) {
	t.Parallel()
	streamstest.ForEachBackend(t, func(t *testing.T, newStore streamstest.NewStore) {
		store := newStore(t, streams.Options{})
		rt, _ := newRuntime(t, store, false)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		waiting := awaitSent(store, "XREADGROUP", 2)
		done := runAsync(t, rt, ctx, `evs = consume("g", "w1", {block = 0})`)
		await(t, waiting, "a second slice of the wait")

		cancel() // what Ctrl-C does to the chunk
		err := await(t, done, "consume to stop")
		var lerr *Error
		require.ErrorAs(t, err, &lerr)
		assert.True(t, lerr.Interrupted(), "cancelling ends the wait: %v", err)
		assert.Equal(t, lua.LNil, rt.L.GetGlobal("evs"))
	})
}

func TestConsumeWithoutBlockReturnsAtOnce(t *testing.T) {
	t.Parallel()
	streamstest.ForEachBackend(t, func(t *testing.T, newStore streamstest.NewStore) {
		rt, _ := newRuntime(t, newStore(t, streams.Options{}), false)
		ctx := context.Background()
		require.NoError(t, rt.DoString(ctx, `evs = consume("g", "w1")`, "now.lua"))
		assert.Equal(t, 0, rt.L.GetGlobal("evs").(*lua.LTable).Len())

		for _, bad := range []string{"-1", "0/0"} {
			err := rt.DoString(ctx, `consume("g", "w1", {block = `+bad+`})`, "bad.lua")
			require.Error(t, err)
			assert.Contains(t, err.Error(), "consume: bad argument #3: block must be 0 (wait until an event arrives) or a number of milliseconds above 0")
		}
	})
}
