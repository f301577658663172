package luaapi

import (
	"context"
	"strings"
	"testing"

	"claimsctl/streams"
	"claimsctl/streams/streamstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCompletions(t *testing.T) {
	t.Parallel()
	streamstest.ForEachBackend(t, func(t *testing.T, newStore streamstest.NewStore) {
		rt, _ := newRuntime(t, newStore(t, streams.Options{}), false)
		ctx := context.Background()
		_, err := rt.Eval(ctx, "c = "+submitChunk)
		require.NoError(t, err)
		_, err = rt.Eval(ctx, `s = "abc"; evs = {{id = "1-0"}}`)
		require.NoError(t, err)

		names := rt.Completions()
		for _, want := range []string{
			"exit", "submit", "consume", "help", "print", "pairs", // the API and Lua's own
			"c", "c.id", "c.status", "c.version", // a claim held in a global
			"string.format", "table.insert", "math.floor", "os.time", // the libraries
			"s:upper", "s:format", // a string's methods
		} {
			assert.Contains(t, names, want)
		}
		for _, name := range names {
			assert.False(t, strings.HasPrefix(name, "_G."), "_G's fields are the globals: %s", name)
			assert.False(t, strings.HasPrefix(name, "evs."), "a list has no names to complete: %s", name)
		}
	})
}

func TestCompletionsAreBounded(t *testing.T) {
	t.Parallel()
	rt, _ := newRuntime(t, nil, false)
	_, err := rt.Eval(context.Background(), `big = {} for i = 1, 5000 do big["k" .. i] = i end`)
	require.NoError(t, err)
	names := rt.Completions()
	assert.LessOrEqual(t, len(names), maxCompletions)
	assert.Contains(t, names, "big")
	assert.Contains(t, names, "string.format", "a big table does not push the libraries out")
	fields := 0
	for _, name := range names {
		if strings.HasPrefix(name, "big.") {
			fields++
		}
	}
	assert.Equal(t, maxFields, fields)
}
