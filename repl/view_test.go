package repl

import (
	"strings"
	"testing"

	"claimsctl/streams"
	"claimsctl/streams/streamview"

	"github.com/stretchr/testify/assert"
)

// snapshot builds a State with the lab's four keys; streams not given do
// not exist, as streams.Store.State reports them.
func snapshot(ss ...streamview.StreamState) *streamview.State {
	st := &streamview.State{}
	for _, key := range []string{"claims:events", "claims:analytics", "claims:notifications", "claims:dlq"} {
		s := streamview.StreamState{Key: key}
		for _, given := range ss {
			if given.Key == key {
				s = given
				s.Exists = true
			}
		}
		st.Streams = append(st.Streams, s)
	}
	return st
}

func events(length int64, last string, groups ...streamview.GroupState) streamview.StreamState {
	return streamview.StreamState{Key: "claims:events", Length: length, LastID: last, Groups: groups}
}

func group(name string, pending, lag int64, consumers ...streamview.ConsumerState) streamview.GroupState {
	return streamview.GroupState{Name: name, Pending: pending, Lag: lag, Consumers: consumers}
}

func consumer(name string, pending int64) streamview.ConsumerState {
	return streamview.ConsumerState{Name: name, Pending: pending}
}

func lagCounted(g streamview.GroupState) streamview.GroupState {
	g.LagCounted = true
	return g
}

func lines(ls ...string) string { return strings.Join(ls, "\n") + "\n" }

func TestRenderState(t *testing.T) {
	t.Parallel()
	capped := lagCounted(group("audit", 0, 10000))
	capped.LagCapped = true

	tests := []struct {
		name      string
		prev, cur *streamview.State
		want      string
	}{
		{
			name: "nothing exists",
			cur:  snapshot(),
			want: lines("  (no streams yet)"),
		},
		{
			name: "nothing exists, still",
			prev: snapshot(),
			cur:  snapshot(),
			want: lines("  (no change)"),
		},
		{
			name: "first view is full and unmarked",
			cur:  snapshot(events(12, "1795597353284-2", group("processors", 2, 0, consumer("w1", 2), consumer("w2", 0)))),
			want: lines(
				"  claims:events   len 12  last 1795597353284-2",
				"    processors    pending 2  lag 0  consumers w1(2) w2(0)",
			),
		},
		{
			name: "a consumer idle for long says so",
			cur: snapshot(events(12, "1795597353284-2", group("processors", 0, 0,
				streamview.ConsumerState{Name: "processor@old", Idle: streams.LongIdle}, consumer("processor@host", 0)))),
			want: lines(
				"  claims:events   len 12  last 1795597353284-2",
				"    processors    pending 0  lag 0  consumers processor@old(0, idle) processor@host(0)",
			),
		},
		{
			name: "nothing changed",
			prev: snapshot(events(12, "1795597353284-2", group("processors", 2, 0, consumer("w1", 2)))),
			cur:  snapshot(events(12, "1795597353284-2", group("processors", 2, 0, consumer("w1", 2)))),
			want: lines("  (no change)"),
		},
		{
			name: "a consumer's idle time is not a change",
			prev: snapshot(events(1, "1-0", group("processors", 1, 0, streamview.ConsumerState{Name: "w1", Pending: 1, Idle: 1}))),
			cur:  snapshot(events(1, "1-0", group("processors", 1, 0, streamview.ConsumerState{Name: "w1", Pending: 1, Idle: 9000}))),
			want: lines("  (no change)"),
		},
		{
			name: "appends and a read: deltas and markers",
			prev: snapshot(events(9, "1795597353284-0", group("processors", 0, 3, consumer("w1", 0)))),
			cur:  snapshot(events(12, "1795597353284-2", group("processors", 2, 0, consumer("w1", 2), consumer("w2", 0)))),
			want: lines(
				"* claims:events   len 12 (+3)  last 1795597353284-2",
				"*   processors    pending 2 (+2)  lag 0 (-3)  consumers w1(2) w2(0)",
			),
		},
		{
			name: "only the group changed: the stream line stays, unmarked",
			prev: snapshot(events(1, "1-0", group("processors", 1, 0, consumer("w1", 1)))),
			cur:  snapshot(events(1, "1-0", group("processors", 0, 0, consumer("w1", 0)))),
			want: lines(
				"  claims:events   len 1  last 1-0",
				"*   processors    pending 0 (-1)  lag 0  consumers w1(0)",
			),
		},
		{
			name: "same length, new last id (trim and append) is a change",
			prev: snapshot(events(5, "1-4")),
			cur:  snapshot(events(5, "1-5")),
			want: lines("* claims:events   len 5  last 1-5"),
		},
		{
			name: "a new stream and a new group",
			prev: snapshot(),
			cur:  snapshot(events(1, "1-0", group("processors", 0, 1))),
			want: lines(
				"* claims:events   len 1  last 1-0  (new)",
				"*   processors    pending 0  lag 1  consumers -  (new)",
			),
		},
		{
			name: "a group created on an existing stream",
			prev: snapshot(events(1, "1-0")),
			cur:  snapshot(events(1, "1-0", group("audit", 0, 1))),
			want: lines(
				"  claims:events   len 1  last 1-0",
				"*   audit         pending 0  lag 1  consumers -  (new)",
			),
		},
		{
			name: "a stream and a group that are gone",
			prev: snapshot(events(1, "1-0", group("audit", 0, 1)), streamview.StreamState{Key: "claims:dlq", Length: 1, LastID: "2-0"}),
			cur:  snapshot(events(1, "1-0")),
			want: lines(
				"  claims:events   len 1  last 1-0",
				"*   audit         (gone)",
				"* claims:dlq      (gone)",
			),
		},
		{
			name: "the DLQ shows like any stream",
			prev: snapshot(events(1, "1-0")),
			cur:  snapshot(events(1, "1-0"), streamview.StreamState{Key: "claims:dlq", Length: 2, LastID: "3-1"}),
			want: lines(
				"  claims:events   len 1  last 1-0",
				"* claims:dlq      len 2  last 3-1  (new)",
			),
		},
		{
			name: "an empty stream (XGROUP CREATE MKSTREAM) has no last id",
			cur:  snapshot(events(0, "")),
			want: lines("  claims:events   len 0  last -"),
		},
		{
			name: "counted lag: marked, footnote the first time",
			cur:  snapshot(events(3, "1-2", lagCounted(group("processors", 0, 3)))),
			want: lines(
				"  claims:events   len 3  last 1-2",
				"    processors    pending 0  lag 3*  consumers -",
				"    * lag counted from the stream (the server reports none, or a stale figure)",
			),
		},
		{
			name: "counted lag: no footnote once shown",
			prev: snapshot(events(3, "1-2", lagCounted(group("processors", 0, 3)))),
			cur:  snapshot(events(4, "1-3", lagCounted(group("processors", 0, 4)))),
			want: lines(
				"* claims:events   len 4 (+1)  last 1-3",
				"*   processors    pending 0  lag 4* (+1)  consumers -",
			),
		},
		{
			name: "capped lag has no delta",
			prev: snapshot(events(20000, "9-0", lagCounted(group("audit", 0, 9000)))),
			cur:  snapshot(events(20001, "9-1", capped)),
			want: lines(
				"* claims:events   len 20001 (+1)  last 9-1",
				"*   audit         pending 0  lag 10000+*  consumers -",
			),
		},
		{
			name: "a long key widens the columns",
			cur: snapshot(events(1, "1-0", group("processors", 0, 0)),
				streamview.StreamState{Key: "claims:notifications", Length: 2, LastID: "2-0"}),
			want: lines(
				"  claims:events         len 1  last 1-0",
				"    processors          pending 0  lag 0  consumers -",
				"  claims:notifications  len 2  last 2-0",
			),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, RenderState(tt.prev, tt.cur, false))
		})
	}
}

func TestRenderStateNil(t *testing.T) {
	t.Parallel()
	assert.Empty(t, RenderState(snapshot(), nil, false))
}

func TestRenderStateColor(t *testing.T) {
	t.Parallel()
	prev := snapshot(events(1, "1-0", group("processors", 1, 0, consumer("w1", 1))))
	cur := snapshot(events(1, "1-0", group("processors", 0, 0, consumer("w1", 0))))

	got := RenderState(prev, cur, true)
	assert.Equal(t, lines(
		"  claims:events   len 1  last 1-0",
		"    \x1b[1;33mprocessors    pending 0 (-1)  lag 0  consumers w1(0)\x1b[0m",
	), got)
	assert.NotContains(t, got, "* ", "colour replaces the plain marker")

	assert.Equal(t, lines("  \x1b[2m(no change)\x1b[0m"), RenderState(cur, cur, true))
}
