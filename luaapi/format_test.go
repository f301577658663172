package luaapi

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func evalValue(t *testing.T, setup, expr string) string {
	t.Helper()
	rt, _ := newRuntime(t, nil, false)
	ctx := context.Background()
	if setup != "" {
		require.NoError(t, rt.DoString(ctx, setup, "setup.lua"))
	}
	v, err := rt.Eval(ctx, expr)
	require.NoError(t, err)
	return v
}

func TestFormatNestedTables(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "{\n  a = {b = {c = {d = {e = {f = 1}}}}}\n}", evalValue(t, "", "{a={b={c={d={e={f=1}}}}}}"))

	// A table inside itself, at any depth, is shown once.
	assert.Equal(t, "{\n  name = \"t\"\n  sub = {back = {...}, n = 1}\n}",
		evalValue(t, `t = {name = "t", sub = {n = 1}}; t.sub.back = t`, "t"))

	// Past the depth bound a table is {...}.
	deep := strings.Repeat("{", maxShownDepth+3) + strings.Repeat("}", maxShownDepth+3)
	v := evalValue(t, "", deep)
	assert.Equal(t, maxShownDepth+1, strings.Count(v, "{")-strings.Count(v, "{...}"))
	assert.Contains(t, v, "{...}")
}

func TestFormatBoundsBigTables(t *testing.T) {
	t.Parallel()
	v := evalValue(t, "big = {} for i = 1, 250 do big[i] = i end", "big")
	lines := strings.Split(v, "\n")
	require.Len(t, lines, 1+maxShownEntries+2, "{, 100 entries, the rest counted, }")
	assert.Equal(t, "  1", lines[1])
	assert.Equal(t, "  100", lines[maxShownEntries])
	assert.Equal(t, "  … and 150 more", lines[maxShownEntries+1])

	v = evalValue(t, "nest = {inner = {}} for i = 1, 105 do nest.inner['k' .. string.format('%03d', i)] = i end", "nest")
	assert.True(t, strings.HasSuffix(v, "k100 = 100, … and 5 more}\n}"), v)

	// print shows tables the same way.
	rt, out := newRuntime(t, nil, false)
	require.NoError(t, rt.DoString(context.Background(), "big = {} for i = 1, 101 do big[i] = i end print(big)", "print.lua"))
	assert.True(t, strings.HasSuffix(out.String(), "  100\n  … and 1 more\n}\n"), out.String())
}

func TestFormatBoundsEventLists(t *testing.T) {
	t.Parallel()
	setup := fmt.Sprintf(`evs = {} for i = 1, %d do evs[i] = {id = i .. "-0", type = "claim.submitted", claim_id = "0123456789abcdef", version = "1"} end`, maxShownEntries+7)
	v := evalValue(t, setup, "evs")
	lines := strings.Split(v, "\n")
	require.Len(t, lines, 1+maxShownEntries+1)
	assert.Equal(t, "107 events", lines[0])
	assert.Equal(t, "  … and 7 more", lines[len(lines)-1])
}

func TestFormatEventLine(t *testing.T) {
	t.Parallel()
	ev := `{id = "1-0", type = "claim.submitted", claim_id = "0223e3cc-60f9-4a41-8293-f513967869df", version = "1", actor = "me", occurred_at = "2026-01-20T10:11:12.345Z", deliveries = %d}`
	assert.Equal(t, "1-0  claim.submitted          0223e3cc  v1  2026-01-20 10:11:12.345  by me",
		evalValue(t, "", fmt.Sprintf(ev, 1)), "a first delivery is not worth a mention")
	assert.Equal(t, "1-0  claim.submitted          0223e3cc  v1  2026-01-20 10:11:12.345  by me  (delivered 3 times)",
		evalValue(t, "", fmt.Sprintf(ev, 3)))
}

// A list's ids are padded to the longest, so its columns line up when a
// millisecond's sequence reaches two digits.
func TestFormatEventListAlignsIDs(t *testing.T) {
	t.Parallel()
	v := evalValue(t, "", `{{id = "5-9", type = "claim.submitted", claim_id = "0123456789abcdef", version = "1"}, {id = "5-10", type = "claim.assigned", claim_id = "0123456789abcdef", version = "2"}}`)
	assert.Equal(t, "2 events\n  5-9   claim.submitted          0123456789abcdef  v1\n  5-10  claim.assigned           0123456789abcdef  v2", v)
}
