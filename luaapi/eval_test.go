package luaapi

import (
	"context"
	"testing"

	"claimsctl/streams"
	"claimsctl/streams/streamstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEvalShowsTheExpressionAfterASemicolon: "x = claim(id); x.status"
// shows x.status, as a lone expression shows its value, rather than
// reading as an unfinished chunk.
func TestEvalShowsTheExpressionAfterASemicolon(t *testing.T) {
	t.Parallel()
	streamstest.ForEachBackend(t, func(t *testing.T, newStore streamstest.NewStore) {
		rt, _ := newRuntime(t, newStore(t, streams.Options{}), true)
		ctx := context.Background()
		for chunk, want := range map[string]string{
			`x = {status = "paid"}; x.status`: "paid",
			`y = 2; z = y * 3; z + 1`:         "7",
			`s = "a;b"; s`:                    "a;b",
			`t = {1, 2}; #t`:                  "2",
		} {
			v, err := rt.Eval(ctx, chunk)
			require.NoError(t, err, chunk)
			assert.Equal(t, want, v, chunk)
		}
		_, err := rt.Eval(ctx, `x = 1; for i = 1, 2 do`)
		assert.True(t, rt.Incomplete(err), "a loop begun after ';' still continues")
		_, err = rt.Eval(ctx, `x = 1; x y`)
		require.Error(t, err)
		assert.False(t, rt.Incomplete(err), "nor is a real syntax error a continuation")
	})
}
