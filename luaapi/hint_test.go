package luaapi

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestUndefinedHint: a failed call names what it called and suggests only
// names that could be meant there, or nothing when it cannot be sure.
func TestUndefinedHint(t *testing.T) {
	t.Parallel()
	const called = "stdin:1: attempt to call a non-function object"
	const indexed = "stdin:1: attempt to index a non-table object(nil) with key "
	const subtracted = "stdin:1: cannot perform sub operation between nil and number"
	cases := []struct{ setup, chunk, want string }{
		{chunk: `("%d"):fromat(1)`, want: called + ": fromat is not a string method. Did you mean format?"},
		{setup: `s = "abc"`, chunk: `s:uper()`, want: called + ": uper is not a string method. Did you mean upper?"},
		{chunk: `string.fromat("%d", 1)`, want: called + ": string.fromat is not defined. Did you mean string.format?"},
		{chunk: `table.inesrt({}, 1)`, want: called + ": table.inesrt is not defined. Did you mean table.insert?"},
		{chunk: `math.flor(1.5)`, want: called + ": math.flor is not defined. Did you mean math.floor?"},
		{chunk: `os.tiem()`, want: called + ": os.tiem is not defined. Did you mean os.time?"},
		{chunk: `sumbit{}`, want: called + ": sumbit is not defined. Did you mean submit?"},
		{chunk: `prnt("x")`, want: called + ": prnt is not defined. Did you mean print?"},
		{chunk: `x = 1 + sumbit()`, want: called + ": sumbit is not defined. Did you mean submit?"},
		// a short name is not taken for any name two letters away (dlq)
		{chunk: `d(1)`, want: called + ": d is not defined. help() lists everything."},
		{setup: `x = 5`, chunk: `x()`, want: called + ": x is a number, not a function."},
		{setup: `c = {status = "submitted"}`, chunk: `c.status()`, want: called + ": c.status is a string, not a function."},
		{setup: `c = {status = "submitted", go_on = function() end}`, chunk: `c:go()`, want: called + ": c:go is not defined."},
		{setup: `c = {go_on = function() end}`, chunk: `c:go_no()`, want: called + ": c:go_no is not defined. Did you mean c:go_on?"},
		// what the hint cannot know, it does not guess
		{chunk: `local t = {} t.a()`, want: called},
		{chunk: `local sumbit sumbit()`, want: called},
		{chunk: `foo(bar())`, want: called},
		{setup: `t = setmetatable({}, {__index = {}})`, chunk: `t.x()`, want: called},
		{chunk: `(nil)()`, want: called},
		// indexing nil: a variable whose assignment failed
		{chunk: `print(c.id)`, want: indexed + "'id': c is nil: it was never set, or the line that was to set it raised an error."},
		{setup: `c = {}`, chunk: `print(c.event.type)`, want: indexed + "'type'"},
		{chunk: `local d print(d.id)`, want: indexed + "'id'"},
		{chunk: `print(a.id, b.id)`, want: indexed + "'id'"},
		{setup: `x = {}`, chunk: `print(y and y.id, x.inner.id)`, want: indexed + "'id'"},
		// a text without quotes: CUST minus 1
		{chunk: `submit{customer=CUST-0001}`, want: subtracted + `: CUST is nil: for the text CUST-0001 write "CUST-0001", in quotes.`},
		{chunk: `x = y - 1`, want: subtracted},
		{chunk: `local P x = P-1`, want: subtracted},
	}
	for _, c := range cases {
		t.Run(c.chunk, func(t *testing.T) {
			t.Parallel()
			rt, _ := newRuntime(t, nil, false)
			ctx := context.Background()
			if c.setup != "" {
				_, err := rt.Eval(ctx, c.setup)
				require.NoError(t, err)
			}
			_, err := rt.Eval(ctx, c.chunk)
			require.Error(t, err)
			assert.Equal(t, c.want, err.Error())
		})
	}
}

func TestUndefinedHintInAFile(t *testing.T) {
	t.Parallel()
	rt, _ := newRuntime(t, nil, false)
	err := rt.DoString(context.Background(), "local n = 1\nfor i = 1, n do\n  local s = string.fromat('%d', i)\nend", "scripts/mine.lua")
	require.Error(t, err)
	assert.Equal(t, "scripts/mine.lua:3: attempt to call a non-function object: string.fromat is not defined. Did you mean string.format?", err.Error())
}

func TestClosest(t *testing.T) {
	t.Parallel()
	names := []string{"submit", "start", "stop", "step", "dlq", "format", "floor", "insert"}
	cases := map[string][]string{
		"sumbit": {"submit"},
		"fromat": {"format"},
		"flor":   {"floor"},
		"inesrt": {"insert"},
		"stap":   {"step", "stop"}, // equally close: both named
		"strat":  {"start"},
		"d":      nil,
		"dl":     {"dlq"},
		"submit": nil, // not a typo of itself
		"zzzzzz": nil,
	}
	for typo, want := range cases {
		assert.Equal(t, want, closest(typo, names), typo)
	}
}

// help(submit), without quotes, is help("submit").
func TestHelpOfAFunction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rt, out := newRuntime(t, nil, false)
	require.NoError(t, rt.DoString(ctx, `help("submit")`, "help"))
	byName := out.String()
	require.Contains(t, byName, "submit{customer=")
	out.Reset()
	require.NoError(t, rt.DoString(ctx, `help(submit)`, "help"))
	assert.Equal(t, byName, out.String())
	out.Reset()
	require.NoError(t, rt.DoString(ctx, `help(print)`, "help"))
	assert.Equal(t, "no help for this function: help(\"name\") takes a name, help() lists them all\n", out.String())
}
