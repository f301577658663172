package claims

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// planOf counts ids (ascending) as a planner reads them, with groups at
// these positions and pending ids.
func planOf(stream string, length int64, ids []string, groups []GroupPosition, pending map[string][]string) *StreamTrim {
	st := NewStreamTrim(stream, length, groups)
	for _, id := range ids {
		st.Add(id, time.Time{})
	}
	for g, p := range pending {
		st.AddPending(g, ids, p)
	}
	return st
}

func TestStreamTrimCountsGroupRisks(t *testing.T) {
	t.Parallel()
	ids := []string{"10-0", "11-0", "12-0", "12-1"}
	cases := []struct {
		name          string
		lastDelivered string
		pending       []string
		want          GroupRisk
	}{
		{"caught up and acked", "99-0", nil, GroupRisk{Group: "g"}},
		{"never read", "0-0", nil, GroupRisk{Group: "g", Unread: 4}},
		{"no position at all", "", nil, GroupRisk{Group: "g", Unread: 4}},
		{"read to the middle", "11-0", nil, GroupRisk{Group: "g", Unread: 2}},
		{"same millisecond, next sequence", "12-0", nil, GroupRisk{Group: "g", Unread: 1}},
		{"pending in the range", "99-0", []string{"11-0", "12-1"}, GroupRisk{Group: "g", Pending: 2}},
		{"pending already trimmed or deleted is not counted", "99-0", []string{"9-0", "11-5", "13-0"}, GroupRisk{Group: "g"}},
		{"both", "11-0", []string{"10-0"}, GroupRisk{Group: "g", Pending: 1, Unread: 2}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			st := planOf("s", 6, ids, []GroupPosition{{Name: "g", LastDelivered: c.lastDelivered}}, map[string][]string{"g": c.pending})
			require.Len(t, st.Groups, 1)
			assert.Equal(t, c.want, st.Groups[0])
			assert.Equal(t, c.want.Pending > 0 || c.want.Unread > 0, st.Groups[0].AtRisk())
			assert.EqualValues(t, 4, st.Count)
			assert.EqualValues(t, 2, st.Remaining())
			assert.Equal(t, "10-0", st.FirstID)
			assert.Equal(t, "12-1", st.LastID)
			assert.Equal(t, "12-2", st.MinID())
		})
	}
}

func TestStreamTrimPagesAddUp(t *testing.T) {
	t.Parallel()
	// The planner reads a page at a time and asks for pending per page:
	// the figures are those of one pass over everything.
	ids := []string{"1-0", "2-0", "3-0", "4-0", "5-0", "6-0"}
	pending := []string{"2-0", "3-0", "5-0"}
	at := func(i int) time.Time { return time.Date(2026, 11, 20, 10, i, 0, 0, time.UTC) }
	st := NewStreamTrim("s", 10, []GroupPosition{{Name: "b", LastDelivered: "4-0"}, {Name: "a", LastDelivered: "6-0"}})
	for _, page := range [][]string{ids[:2], ids[2:5], ids[5:]} {
		for _, id := range page {
			n := int(id[0] - '0')
			st.Add(id, at(n))
		}
		st.AddPending("b", page, pending)
	}
	st.AddPending("unknown", ids, pending)
	assert.Equal(t, []GroupRisk{{Group: "a"}, {Group: "b", Pending: 3, Unread: 2}}, st.Groups, "groups by name")
	assert.Equal(t, at(1), st.FirstAt)
	assert.Equal(t, at(6), st.LastAt)
	assert.Equal(t, []GroupRisk{{Group: "b", Pending: 3, Unread: 2}}, st.AtRisk())
}

func TestNeighbourIDs(t *testing.T) {
	t.Parallel()
	for id, want := range map[string]string{"5-0": "5-1", "5-7": "5-8", "5-18446744073709551615": "6-0"} {
		assert.Equal(t, want, NextID(id), "next of %s", id)
		assert.Equal(t, id, PrevID(want), "prev of %s", want)
	}
	assert.Equal(t, "4-18446744073709551615", PrevID("5-0"))
	assert.Equal(t, "0-0", PrevID("0-0"))
	assert.Equal(t, "1795168800000-0", IDAt(time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)))
}

func TestPlanWords(t *testing.T) {
	t.Parallel()
	keep := int64(1)
	st := planOf("claims:events", 3, []string{"10-0", "11-3"},
		[]GroupPosition{{Name: "processors", LastDelivered: "10-0"}, {Name: "audit", LastDelivered: "11-3"}},
		map[string][]string{"processors": {"10-0"}})
	st.FirstAt, st.LastAt = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), time.Date(2026, 11, 20, 11, 0, 0, 0, time.UTC)
	p := &TrimPlan{Options: TrimOptions{MaxLen: &keep}, Streams: []*StreamTrim{st}}
	assert.Equal(t, "11-4", st.MinID(), "MINID removes exactly up to the last planned entry")
	assert.Equal(t, []*StreamTrim{st}, p.AtRisk())
	assert.Equal(t, []GroupRisk{{Group: "audit"}, {Group: "processors", Pending: 1, Unread: 1}}, p.Groups())
	assert.Equal(t, "trim claims:events (all but the newest entry): 2 of 3 entries would go, 1 stay\n"+
		"  ids 10-0 .. 11-3, occurred 2026-11-20T10:00:00.000Z .. 2026-11-20T11:00:00.000Z\n"+
		"  warning: group processors still has 1 pending (delivered, not acked) and 1 unread of the 2 entries to remove\n", p.Describe())
	err := &TrimRefusedError{Streams: p.AtRisk()}
	assert.ErrorIs(t, err, ErrTrimRefused)
	assert.Equal(t, "trim claims:events refused: group processors still has 1 pending (delivered, not acked) and 1 unread of the 2 entries to remove; "+
		"consume and ack them first, or trim with force=true (nothing removed)", err.Error())

	empty := &TrimPlan{Options: TrimOptions{Before: "5-0"}, Streams: []*StreamTrim{NewStreamTrim("s", 2, nil)}}
	assert.Equal(t, "trim s (entries below 5-0): nothing to remove (2 entries)\n", empty.Describe())
	assert.Empty(t, empty.Streams[0].MinID())
	assert.Zero(t, empty.Count())
}

// TestPartitionedPlanWords: a plan of several partitions says that maxlen
// counts per partition, gives a line per partition and the total.
func TestPartitionedPlanWords(t *testing.T) {
	t.Parallel()
	keep := int64(5)
	groups := []GroupPosition{{Name: "processors", LastDelivered: "20-0"}}
	a := planOf("claims:{a}:events", 8, []string{"10-0", "11-0", "12-0"}, groups, nil)
	a.FirstAt, a.LastAt = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), time.Date(2026, 11, 20, 10, 5, 0, 0, time.UTC)
	b := planOf("claims:{b}:events", 4, nil, groups, nil)
	c := planOf("claims:{c}:events", 7, []string{"9-0", "21-0"}, groups, map[string][]string{"processors": {"9-0"}})
	c.FirstAt, c.LastAt = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC), time.Date(2026, 11, 20, 10, 1, 0, 0, time.UTC)
	p := &TrimPlan{Options: TrimOptions{MaxLen: &keep}, Streams: []*StreamTrim{a, b, c}}
	assert.EqualValues(t, 5, p.Count())
	assert.EqualValues(t, 19, p.Length())
	assert.EqualValues(t, 14, p.Remaining())
	assert.Equal(t, "trim every partition (keeps the newest 5 of each of the 3 partitions): 5 of 19 entries would go, 14 stay\n"+
		"  claims:{a}:events: 3 of 8 go, 5 stay, ids 10-0 .. 12-0\n"+
		"  claims:{b}:events: nothing to remove (4 entries)\n"+
		"  claims:{c}:events: 2 of 7 go, 5 stay, ids 9-0 .. 21-0\n"+
		"  occurred 2026-11-20T09:00:00.000Z .. 2026-11-20T10:05:00.000Z\n"+
		"  warning: group processors still has 1 pending (delivered, not acked) and 1 unread in claims:{c}:events\n", p.Describe())
	assert.Equal(t, []GroupRisk{{Group: "processors", Pending: 1, Unread: 1}}, p.Groups(), "summed over the partitions")

	a2 := planOf("claims:{a}:events", 8, []string{"10-0"}, []GroupPosition{{Name: "audit", LastDelivered: "0-0"}}, nil)
	err := &TrimRefusedError{Streams: []*StreamTrim{a2, c}, Partitions: 3}
	assert.Equal(t, "trim refused: group audit still has 1 unread in claims:{a}:events; "+
		"group processors still has 1 pending (delivered, not acked) and 1 unread in claims:{c}:events; "+
		"consume and ack them first, or trim with force=true (nothing removed)", err.Error())

	// A group at risk in many partitions is one line, summed, not one a
	// partition (a cluster's six partitions printed each warning six times).
	var many []*StreamTrim
	for _, name := range []string{"claims:{a}:events", "claims:{b}:events", "claims:{c}:events", "claims:{d}:events"} {
		many = append(many, planOf(name, 3, []string{"1-0", "2-0"}, []GroupPosition{{Name: "audit", LastDelivered: "0-0"}}, nil))
	}
	wide := &TrimPlan{Options: TrimOptions{MaxLen: &keep}, Streams: many}
	assert.Equal(t, 1, strings.Count(wide.Describe(), "warning:"), wide.Describe())
	assert.Contains(t, wide.Describe(), "  warning: group audit still has 8 unread in all 4 partitions\n")
	err = &TrimRefusedError{Streams: many, Partitions: 6}
	assert.Equal(t, "trim refused: group audit still has 8 unread in 4 of the 6 partitions; "+
		"consume and ack them first, or trim with force=true (nothing removed)", err.Error())

	for _, c := range []struct {
		opts TrimOptions
		want string
	}{
		{TrimOptions{MaxLen: new(int64)}, "trim every partition (every entry of each of the 3 partitions): nothing to remove (0 entries)\n"},
		{TrimOptions{MaxLen: func() *int64 { one := int64(1); return &one }()}, "trim every partition (keeps the newest entry of each of the 3 partitions): nothing to remove (0 entries)\n"},
		{TrimOptions{Before: "7-0"}, "trim every partition (entries below 7-0, in each of the 3 partitions): nothing to remove (0 entries)\n"},
	} {
		empty := &TrimPlan{Options: c.opts, Streams: []*StreamTrim{NewStreamTrim("x", 0, nil), NewStreamTrim("y", 0, nil), NewStreamTrim("z", 0, nil)}}
		assert.Equal(t, c.want, empty.Describe())
	}
}
