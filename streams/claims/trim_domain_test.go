package claims

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAssessGroup(t *testing.T) {
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
		{"read to the middle", "11-0", nil, GroupRisk{Group: "g", Unread: 2}},
		{"same millisecond, next sequence", "12-0", nil, GroupRisk{Group: "g", Unread: 1}},
		{"pending in the range", "99-0", []string{"11-0", "12-1"}, GroupRisk{Group: "g", Pending: 2}},
		{"pending already trimmed earlier is not counted", "99-0", []string{"9-0", "11-5"}, GroupRisk{Group: "g"}},
		{"both", "11-0", []string{"10-0"}, GroupRisk{Group: "g", Pending: 1, Unread: 2}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got := AssessGroup("g", c.lastDelivered, ids, c.pending)
			assert.Equal(t, c.want, got)
			assert.Equal(t, c.want.Pending > 0 || c.want.Unread > 0, got.AtRisk())
		})
	}
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
	p := &TrimPlan{
		Stream: "claims:events", Options: TrimOptions{MaxLen: &keep}, Length: 3,
		Entries: []ArchiveEntry{{ID: "10-0"}, {ID: "11-3"}},
		FirstAt: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), LastAt: time.Date(2026, 11, 20, 11, 0, 0, 0, time.UTC),
		Groups: []GroupRisk{{Group: "audit"}, {Group: "processors", Pending: 1, Unread: 1}},
	}
	assert.Equal(t, "11-4", p.MinID(), "MINID removes exactly up to the last planned entry")
	assert.Equal(t, []GroupRisk{{Group: "processors", Pending: 1, Unread: 1}}, p.AtRisk())
	assert.Equal(t, "trim claims:events (all but the newest entry): 2 of 3 entries would go, 1 stay\n"+
		"  ids 10-0 .. 11-3, occurred 2026-11-20T10:00:00.000Z .. 2026-11-20T11:00:00.000Z\n"+
		"  warning: group processors still has 1 pending (delivered, not acked) and 1 unread of the 2 entries to remove\n", p.Describe())
	err := (&TrimRefusedError{Stream: p.Stream, Count: 2, Groups: p.AtRisk()})
	assert.ErrorIs(t, err, ErrTrimRefused)
	assert.Contains(t, err.Error(), "force=true")
	assert.Contains(t, err.Error(), "nothing removed")

	empty := &TrimPlan{Stream: "s", Options: TrimOptions{Before: "5-0"}, Length: 2}
	assert.Equal(t, "trim s (entries below 5-0): nothing to remove (2 entries)\n", empty.Describe())
	assert.Empty(t, empty.MinID())
}

func TestArchiveRoundTrip(t *testing.T) {
	t.Parallel()
	entries := []ArchiveEntry{
		{ID: "10-0", Fields: []string{"type", "claim.submitted", "data", `{"a":"b\n"}`, "actor", "ünïcode"}},
		{ID: "10-1", Fields: []string{"x", "1", "x", "2"}}, // a repeated field, as XADD allows
	}
	var buf bytes.Buffer
	require.NoError(t, WriteArchive(&buf, entries))
	assert.Equal(t, `{"id":"10-0","fields":{"type":"claim.submitted","data":"{\"a\":\"b\\n\"}","actor":"ünïcode"}}`+"\n"+
		`{"id":"10-1","fields":{"x":"1","x":"2"}}`+"\n", buf.String(), "fields keep their stored order")
	got, err := ReadArchive(&buf)
	require.NoError(t, err)
	assert.Equal(t, entries, got)
}

func TestReadArchiveNamesTheBadLine(t *testing.T) {
	t.Parallel()
	good := `{"id":"10-0","fields":{"a":"b"}}`
	cases := []struct {
		name, text string
		line       int
		reason     string
	}{
		{"not JSON", good + "\nnope\n", 2, "not a JSON object"},
		{"truncated", good + "\n" + `{"id":"11-0","fields":{"a":"b"}` + "\n", 2, "not valid JSON"},
		{"number value", `{"id":"10-0","fields":{"a":1}}`, 1, `field "a" must be a string`},
		{"no id", `{"fields":{"a":"b"}}`, 1, "has no id"},
		{"bad id", `{"id":"ten","fields":{"a":"b"}}`, 1, "not a stream id"},
		{"zero id", `{"id":"0-0","fields":{"a":"b"}}`, 1, "not a stream id"},
		{"bare millisecond id", `{"id":"10","fields":{"a":"b"}}`, 1, "not a stream id"},
		{"no fields", `{"id":"10-0"}`, 1, "has no fields"},
		{"empty fields", `{"id":"10-0","fields":{}}`, 1, "has no fields"},
		{"unknown key", `{"id":"10-0","fields":{"a":"b"},"at":"x"}`, 1, `unknown key "at"`},
		{"trailing data", good + ` {}`, 1, "after the entry"},
		{"descending", good + "\n\n" + `{"id":"9-0","fields":{"a":"b"}}`, 3, "ascend"},
		{"duplicate", good + "\n" + good, 2, "ascend"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := ReadArchive(strings.NewReader(c.text))
			var lineErr *ArchiveLineError
			require.True(t, errors.As(err, &lineErr), "got %v", err)
			assert.Equal(t, c.line, lineErr.Line)
			assert.Contains(t, lineErr.Reason, c.reason)
			assert.ErrorIs(t, err, ErrInvalid)
		})
	}
	got, err := ReadArchive(strings.NewReader("\n" + good + "\n\n"))
	require.NoError(t, err, "blank lines are skipped")
	assert.Len(t, got, 1)
}
