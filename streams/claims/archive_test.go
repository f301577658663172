package claims

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readAll reads a whole archive with an ArchiveReader.
func readAll(r io.Reader) ([]ArchiveEntry, error) {
	a := NewArchiveReader(r)
	var out []ArchiveEntry
	for {
		e, err := a.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, e)
	}
}

func TestArchiveRoundTrip(t *testing.T) {
	t.Parallel()
	entries := []ArchiveEntry{
		{ID: "10-0", Stream: "claims:{a}:events", Fields: []string{"type", "claim.submitted", "data", `{"a":"b\n"}`, "actor", "ünïcode"}},
		{ID: "10-1", Fields: []string{"x", "1", "x", "2"}}, // a repeated field, as XADD allows; no stream, as old archives
	}
	var buf bytes.Buffer
	require.NoError(t, WriteArchive(&buf, entries))
	assert.Equal(t, `{"id":"10-0","stream":"claims:{a}:events","fields":{"type":"claim.submitted","data":"{\"a\":\"b\\n\"}","actor":"ünïcode"}}`+"\n"+
		`{"id":"10-1","fields":{"x":"1","x":"2"}}`+"\n", buf.String(), "fields keep their stored order")
	got, err := readAll(&buf)
	require.NoError(t, err)
	assert.Equal(t, entries, got)
	v, ok := got[1].Field("x")
	assert.True(t, ok)
	assert.Equal(t, "2", v, "the last of a repeated field, as Values")
	_, ok = got[1].Field("y")
	assert.False(t, ok)
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
		{"empty stream", `{"id":"10-0","stream":"","fields":{"a":"b"}}`, 1, "stream must be the name of a stream"},
		{"number stream", `{"id":"10-0","stream":3,"fields":{"a":"b"}}`, 1, "stream must be the name of a stream"},
		{"trailing data", good + ` {}`, 1, "after the entry"},
		{"descending", good + "\n\n" + `{"id":"9-0","fields":{"a":"b"}}`, 3, "ascend"},
		{"duplicate", good + "\n" + good, 2, "ascend"},
		{"descending in one stream", `{"id":"10-0","stream":"s1","fields":{"a":"b"}}` + "\n" +
			`{"id":"5-0","stream":"s2","fields":{"a":"b"}}` + "\n" + `{"id":"9-0","stream":"s1","fields":{"a":"b"}}`, 3, "after 10-0, the previous entry of s1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := readAll(strings.NewReader(c.text))
			var lineErr *ArchiveLineError
			require.True(t, errors.As(err, &lineErr), "got %v", err)
			assert.Equal(t, c.line, lineErr.Line)
			assert.Contains(t, lineErr.Reason, c.reason)
			assert.ErrorIs(t, err, ErrInvalid)
		})
	}
	got, err := readAll(strings.NewReader("\n" + good + "\n\n"))
	require.NoError(t, err, "blank lines are skipped")
	assert.Len(t, got, 1)
}

// TestArchiveOfSeveralStreams: a partitioned trim writes one stream after
// another, so ids ascend per stream only, and may repeat across streams.
func TestArchiveOfSeveralStreams(t *testing.T) {
	t.Parallel()
	text := `{"id":"10-0","stream":"claims:{a}:events","fields":{"a":"1"}}
{"id":"12-0","stream":"claims:{a}:events","fields":{"a":"2"}}
{"id":"10-0","stream":"claims:{b}:events","fields":{"a":"3"}}
{"id":"11-0","stream":"claims:{b}:events","fields":{"a":"4"}}
`
	got, err := readAll(strings.NewReader(text))
	require.NoError(t, err)
	require.Len(t, got, 4)
	assert.Equal(t, "claims:{b}:events", got[2].Stream)
}

func TestLastArchiveEntry(t *testing.T) {
	t.Parallel()
	line := func(id string) string { return `{"id":"` + id + `","stream":"s","fields":{"a":"b"}}` }
	long := `{"id":"7-0","fields":{"a":"` + strings.Repeat("x", 200<<10) + `"}}`
	cases := []struct {
		name, text string
		want       string // "" when there is no entry
	}{
		{"empty", "", ""},
		{"blank", "\n\n  \n", ""},
		{"one line", line("5-0") + "\n", "5-0"},
		{"no final newline", line("4-0") + "\n" + line("5-0"), "5-0"},
		{"trailing blank lines", line("4-0") + "\n" + line("5-1") + "\n\n\r\n", "5-1"},
		{"a last line longer than a block", line("4-0") + "\n" + long + "\n", "7-0"},
		{"only a long line", long, "7-0"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e, ok, err := LastArchiveEntry(strings.NewReader(c.text), int64(len(c.text)))
			require.NoError(t, err)
			assert.Equal(t, c.want != "", ok)
			assert.Equal(t, c.want, e.ID)
		})
	}
	bad := line("4-0") + "\nnot json\n"
	_, _, err := LastArchiveEntry(strings.NewReader(bad), int64(len(bad)))
	assert.ErrorIs(t, err, ErrInvalid)
	assert.ErrorContains(t, err, "the last line: not a JSON object")
	assert.NotContains(t, err.Error(), "line 0")
}

func TestCheckArchiveAppend(t *testing.T) {
	t.Parallel()
	last := ArchiveEntry{ID: "10-0", Stream: "claims:{a}:events"}
	assert.NoError(t, CheckArchiveAppend(last, map[string]string{"claims:{a}:events": "10-1", "claims:{b}:events": "3-0"}),
		"only the last line's own stream is compared")
	err := CheckArchiveAppend(last, map[string]string{"claims:{a}:events": "10-0"})
	assert.EqualError(t, err, "already holds entries up to 10-0 of claims:{a}:events, not older than 10-0 (choose another file)")
	assert.ErrorIs(t, err, ErrInvalid)
	old := ArchiveEntry{ID: "10-0"}
	assert.Error(t, CheckArchiveAppend(old, map[string]string{"claims:events": "9-0"}), "an old archive's line names no stream: compared with every one")
	assert.NoError(t, CheckArchiveAppend(old, map[string]string{"claims:events": "11-0"}))
}
