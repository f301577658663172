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
// line, {"id":"1795597353284-0","fields":{"type":"claim.submitted",...}},
// fields in the order the stream stored them and always strings, so that
// jq, a node script or this tool read it and import puts back exactly what
// was there.

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

// ReadArchive reads a whole archive and checks every line before returning
// anything, so an import of a damaged file writes nothing. Blank lines are
// skipped; ids must ascend, as they did in the stream.
func ReadArchive(r io.Reader) ([]ArchiveEntry, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxArchiveLine)
	var out []ArchiveEntry
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		e, err := parseArchiveLine(text)
		if err != nil {
			return nil, &ArchiveLineError{Line: line, Reason: err.Error()}
		}
		if n := len(out); n > 0 && CompareIDs(out[n-1].ID, e.ID) >= 0 {
			return nil, &ArchiveLineError{Line: line, Reason: fmt.Sprintf("id %s does not come after the previous line's %s (ids must ascend)", e.ID, out[n-1].ID)}
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, &ArchiveLineError{Line: line + 1, Reason: fmt.Sprintf("longer than %d bytes", maxArchiveLine)}
		}
		return nil, fmt.Errorf("read archive: %w", err)
	}
	return out, nil
}

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
			return e, fmt.Errorf("unknown key %q (an entry has id and fields)", key)
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
	ID     string
	Fields []string // name, value, name, value ...
}

// Values is the entry as go-redis hands entries out (later repeats win).
func (e ArchiveEntry) Values() map[string]any {
	m := make(map[string]any, len(e.Fields)/2)
	for i := 0; i+1 < len(e.Fields); i += 2 {
		m[e.Fields[i]] = e.Fields[i+1]
	}
	return m
}
