package claims

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// The archive format of trim and import: JSON lines, one stream entry per
// line, {"id":"1795597353284-0","stream":"claims:events","fields":{"type":
// "claim.submitted",...}}, fields in the order the stream stored them and
// always strings, so that jq, a node script or this tool read it and
// import puts back exactly what was there. "stream" is the key the entry
// came from, without the store's prefix (claims:{a}:events with
// partitions); archives written before it was recorded have none. Ids
// ascend per stream: a trim of several partitions writes one stream after
// the other.

// maxArchiveLine bounds one line of an archive (an entry with a large
// payload); bufio.Scanner's default of 64 KiB is too small for some.
const maxArchiveLine = 64 << 20

// WriteArchive writes entries as JSON lines.
func WriteArchive(w io.Writer, entries []ArchiveEntry) error {
	bw := bufio.NewWriter(w)
	for _, e := range entries {
		line, err := e.MarshalJSON()
		if err != nil {
			return err
		}
		bw.Write(line)
		bw.WriteByte('\n')
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write archive: %w", err)
	}
	return nil
}

// MarshalJSON encodes the entry with its fields in stored order (a Go map
// would sort them).
func (e ArchiveEntry) MarshalJSON() ([]byte, error) {
	if len(e.Fields)%2 != 0 {
		return nil, fmt.Errorf("entry %s has an odd number of field names and values", e.ID)
	}
	var b bytes.Buffer
	id, _ := json.Marshal(e.ID)
	b.WriteString(`{"id":`)
	b.Write(id)
	if e.Stream != "" {
		stream, _ := json.Marshal(e.Stream)
		b.WriteString(`,"stream":`)
		b.Write(stream)
	}
	b.WriteString(`,"fields":{`)
	for i := 0; i < len(e.Fields); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(e.Fields[i])
		v, _ := json.Marshal(e.Fields[i+1])
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteString("}}")
	return b.Bytes(), nil
}

// ArchiveReader reads an archive an entry at a time, checking each line:
// an import reads the file once to check all of it and count, and once
// more to write, so its memory does not grow with the archive.
type ArchiveReader struct {
	sc   *bufio.Scanner
	line int
	last map[string]string // each stream's last id so far
}

// NewArchiveReader reads the archive r.
func NewArchiveReader(r io.Reader) *ArchiveReader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxArchiveLine)
	return &ArchiveReader{sc: sc, last: map[string]string{}}
}

// Next returns the next entry, or io.EOF after the last. Blank lines are
// skipped. A line that is not an entry, or whose id does not come after
// the previous one of the same stream, is an *ArchiveLineError.
func (a *ArchiveReader) Next() (ArchiveEntry, error) {
	for a.sc.Scan() {
		a.line++
		text := strings.TrimSpace(a.sc.Text())
		if text == "" {
			continue
		}
		e, err := parseArchiveLine(text)
		if err != nil {
			return e, &ArchiveLineError{Line: a.line, Reason: err.Error()}
		}
		if prev, ok := a.last[e.Stream]; ok && CompareIDs(prev, e.ID) >= 0 {
			return e, &ArchiveLineError{Line: a.line, Reason: fmt.Sprintf("id %s does not come after %s, the previous entry%s (ids must ascend)", e.ID, prev, streamWords(e.Stream))}
		}
		a.last[e.Stream] = e.ID
		return e, nil
	}
	if err := a.sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return ArchiveEntry{}, &ArchiveLineError{Line: a.line + 1, Reason: fmt.Sprintf("longer than %d bytes", maxArchiveLine)}
		}
		return ArchiveEntry{}, fmt.Errorf("read archive: %w", err)
	}
	return ArchiveEntry{}, io.EOF
}

// Line is the number of the line Next read last.
func (a *ArchiveReader) Line() int { return a.line }

func streamWords(stream string) string {
	if stream == "" {
		return ""
	}
	return " of " + stream
}

// LastArchiveEntry reads the last entry of an archive of size bytes from
// its end, without reading the rest: ok is false when it holds no entry.
// A last line that is not an entry is an *ArchiveLineError without a line
// number (that would take reading the whole file).
func LastArchiveEntry(r io.ReaderAt, size int64) (e ArchiveEntry, ok bool, err error) {
	const block = 64 << 10
	var tail []byte // the end of the file, read backwards a block at a time
	for end := size; ; {
		text := bytes.TrimRight(tail, " \t\r\n")
		if i := bytes.LastIndexByte(text, '\n'); i >= 0 || end == 0 {
			line := strings.TrimSpace(string(text[i+1:]))
			if line == "" {
				return ArchiveEntry{}, false, nil
			}
			e, err := parseArchiveLine(line)
			if err != nil {
				return e, false, &ArchiveLineError{Reason: "the last line: " + err.Error()}
			}
			return e, true, nil
		}
		if int64(len(tail)) > maxArchiveLine {
			return ArchiveEntry{}, false, &ArchiveLineError{Reason: fmt.Sprintf("the last line is longer than %d bytes", maxArchiveLine)}
		}
		start := max(end-block, 0)
		buf := make([]byte, end-start)
		if _, err := r.ReadAt(buf, start); err != nil && !errors.Is(err, io.EOF) {
			return ArchiveEntry{}, false, fmt.Errorf("read archive: %w", err)
		}
		tail, end = append(buf, tail...), start
	}
}

// CheckArchiveAppend checks that entries starting at firsts (stream ->
// the id of its first entry to append) may follow last, the archive's last
// entry: ids must ascend per stream, or the archive would no longer
// import. An entry of an old archive names no stream, so it is compared
// with every stream's.
func CheckArchiveAppend(last ArchiveEntry, firsts map[string]string) error {
	for stream, first := range firsts {
		if last.Stream != "" && stream != "" && last.Stream != stream {
			continue
		}
		if CompareIDs(last.ID, first) >= 0 {
			return &ArchiveAppendError{Last: last, First: first}
		}
	}
	return nil
}

// ArchiveAppendError is a trim whose entries cannot follow an archive's
// last one.
type ArchiveAppendError struct {
	Last  ArchiveEntry
	First string // the first id that would follow it
}

func (e *ArchiveAppendError) Error() string {
	return fmt.Sprintf("already holds entries up to %s%s, not older than %s (choose another file)", e.Last.ID, streamWords(e.Last.Stream), e.First)
}

// Unwrap makes the refusal an ErrInvalid.
func (e *ArchiveAppendError) Unwrap() error { return ErrInvalid }

// parseArchiveLine decodes one line token by token to keep field order.
func parseArchiveLine(text string) (ArchiveEntry, error) {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var e ArchiveEntry
	if err := expectDelim(dec, '{'); err != nil {
		return e, fmt.Errorf(`not a JSON object like {"id":"1795597353284-0","fields":{...}}`)
	}
	seenID, seenFields := false, false
	for dec.More() {
		key, err := stringToken(dec)
		if err != nil {
			return e, fmt.Errorf("not valid JSON: %v", err)
		}
		switch key {
		case "id":
			if e.ID, err = stringToken(dec); err != nil {
				return e, fmt.Errorf("id must be a string like \"1795597353284-0\"")
			}
			seenID = true
		case "stream":
			if e.Stream, err = stringToken(dec); err != nil || e.Stream == "" {
				return e, fmt.Errorf("stream must be the name of a stream, like \"claims:events\"")
			}
		case "fields":
			if err := expectDelim(dec, '{'); err != nil {
				return e, fmt.Errorf("fields must be an object of strings")
			}
			for dec.More() {
				name, err := stringToken(dec)
				if err != nil {
					return e, fmt.Errorf("not valid JSON: %v", err)
				}
				value, err := stringToken(dec)
				if err != nil {
					return e, fmt.Errorf("field %q must be a string (stream values are strings)", name)
				}
				e.Fields = append(e.Fields, name, value)
			}
			if err := expectDelim(dec, '}'); err != nil {
				return e, fmt.Errorf("not valid JSON: %v", err)
			}
			seenFields = true
		default:
			return e, fmt.Errorf("unknown key %q (an entry has id, stream and fields)", key)
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return e, fmt.Errorf("not valid JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return e, fmt.Errorf("has something after the entry's closing brace")
	}
	switch {
	case !seenID:
		return e, fmt.Errorf("has no id")
	case !ValidStreamID(e.ID) || !strings.Contains(e.ID, "-") || e.ID == "0-0":
		return e, fmt.Errorf("id %q is not a stream id like 1795597353284-0", e.ID)
	case !seenFields || len(e.Fields) == 0:
		return e, fmt.Errorf("entry %s has no fields (a stream entry needs at least one)", e.ID)
	}
	return e, nil
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("expected %q, got %v", want, tok)
	}
	return nil
}

func stringToken(dec *json.Decoder) (string, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", err
	}
	s, ok := tok.(string)
	if !ok {
		return "", fmt.Errorf("expected a string, got %v", tok)
	}
	return s, nil
}

// ArchiveEntry is one stream entry exactly as stored: its id and its
// field/value pairs in their original order (an entry may repeat a field
// name, and go-redis's map would lose both the order and the repeat).
type ArchiveEntry struct {
	ID string
	// Stream is the key the entry came from, without the store's prefix
	// ("" in archives written before it was recorded).
	Stream string
	Fields []string // name, value, name, value ...
}

// Field is the value of a field (the last one when it repeats, as
// Values).
func (e ArchiveEntry) Field(name string) (string, bool) {
	for i := len(e.Fields) - 2; i >= 0; i -= 2 {
		if e.Fields[i] == name {
			return e.Fields[i+1], true
		}
	}
	return "", false
}

// Values is the entry as go-redis hands entries out (later repeats win).
func (e ArchiveEntry) Values() map[string]any {
	m := make(map[string]any, len(e.Fields)/2)
	for i := 0; i+1 < len(e.Fields); i += 2 {
		m[e.Fields[i]] = e.Fields[i+1]
	}
	return m
}
