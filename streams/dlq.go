package streams

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"time"

	"claimsctl/streams/claims"
	"claimsctl/streams/redisconn"

	"github.com/redis/go-redis/v9"
)

// DeadLetter is one entry of claims:dlq: an entry of a source stream that
// a group gave up on, with why and its original fields.
type DeadLetter struct {
	ID           string // id in its dead-letter stream
	DLQStream    string // that stream (claims:dlq, or the partition's)
	SourceStream string
	Group        string
	SourceID     string // id of the original entry in SourceStream
	Error        string
	Deliveries   int64
	DeadAt       time.Time
	Type         string // the original's type field, if it had one
	ClaimID      string // the original's claim_id field, if it had one
	Fields       map[string]string
}

// DeadLetter moves a delivered entry to the DLQ: it appends the entry
// (error, delivery count, time, original fields as JSON) to the DLQ and
// acknowledges it in the group, atomically. An entry that is no longer
// pending in the group (someone acked or dead-lettered it first) is left
// alone.
func (s *Store) DeadLetter(ctx context.Context, group string, d Delivery, cause error, deliveries int64) error {
	if _, err := s.run(ctx, s.deadLetterEffect(group, d, cause, deliveries)); err != nil {
		return fmt.Errorf("dead-letter %s: %w", d.ID, err)
	}
	return nil
}

// deadLetterEffect is the deadletter.lua call for d.
func (s *Store) deadLetterEffect(group string, d Delivery, cause error, deliveries int64) Effect {
	raw := make(map[string]string, len(d.Fields))
	for k, v := range d.Fields {
		raw[k] = fmt.Sprint(v)
	}
	fields, _ := json.Marshal(raw) // a map of strings always encodes
	msg := "unknown error"
	if cause != nil {
		msg = cause.Error()
	}
	typ, claimID := raw[claims.FieldType], raw[claims.FieldClaimID]
	if d.Err == nil && d.Event.Type != "" {
		typ, claimID = string(d.Event.Type), d.Event.ClaimID
	}
	source := d.Stream
	if source == "" {
		source = s.keys.Events()
	}
	letter := []any{
		"source_stream", source,
		"group", group,
		"source_id", d.ID,
		"error", msg,
		"deliveries", strconv.FormatInt(deliveries, 10),
		"dead_at", s.now().Format(time.RFC3339),
	}
	if typ != "" {
		letter = append(letter, "type", typ)
	}
	if claimID != "" {
		letter = append(letter, "claim_id", claimID)
	}
	letter = append(letter, "fields", string(fields))
	return deadLetterCall{Source: source, DLQ: s.dlqOf(source), Group: group, ID: d.ID, Fields: letter}.effect()
}

// dlqOf is the dead-letter stream of the partition a source stream is in.
func (s *Store) dlqOf(source string) string {
	p, _ := s.keys.StreamPartition(source)
	return s.keys.Partition(p).DLQ()
}

// DLQ lists the dead letters of every partition, oldest first.
func (s *Store) DLQ(ctx context.Context) ([]DeadLetter, error) {
	pipe := s.rdb.Pipeline()
	var cmds []*redis.XMessageSliceCmd
	dlqs := make([]string, 0, s.keys.Partitions())
	for _, pk := range s.keys.All() {
		dlqs = append(dlqs, pk.DLQ())
		cmds = append(cmds, pipe.XRange(ctx, pk.DLQ(), "-", "+"))
	}
	if _, err := pipe.Exec(ctx); err != nil && !redisconn.Missing(err) {
		return nil, fmt.Errorf("read the dead letters: %w", err)
	}
	var out []DeadLetter
	for i, c := range cmds {
		for _, m := range c.Val() {
			dl := parseDeadLetter(m)
			dl.DLQStream = dlqs[i]
			out = append(out, dl)
		}
	}
	sort.SliceStable(out, func(a, b int) bool { return claims.CompareIDs(out[a].ID, out[b].ID) < 0 })
	return out, nil
}

func parseDeadLetter(m redis.XMessage) DeadLetter {
	str := func(k string) string { v, _ := m.Values[k].(string); return v }
	dl := DeadLetter{
		ID: m.ID, SourceStream: str("source_stream"), Group: str("group"), SourceID: str("source_id"),
		Error: str("error"), Type: str("type"), ClaimID: str("claim_id"), Fields: map[string]string{},
	}
	dl.Deliveries, _ = strconv.ParseInt(str("deliveries"), 10, 64)
	dl.DeadAt, _ = time.Parse(time.RFC3339, str("dead_at"))
	_ = json.Unmarshal([]byte(str("fields")), &dl.Fields)
	return dl
}

// RetryDLQ gives dead letters another chance: the original event is
// appended to its stream as a new entry, the claim's aggregate records the
// new entry id for that version, and the dead letter is deleted from the
// DLQ, atomically. id is a DLQ entry id or "all". It returns how many
// entries were re-appended.
//
// The new entry is delivered to every group of the stream again (Redis
// cannot re-deliver an acked entry to one group only), so the dead letters
// other groups wrote for the same source entry are retried — deleted — with
// it, and the entry is appended once, not once per group. An event never
// counts twice: groups that handled it before skip it by its version or
// event_id, and the old entry, if a group has yet to read it, is acked
// unhandled as superseded. Only events the store wrote are put back: a
// malformed entry, or one another tool wrote, would only come back to the
// DLQ. Those are reported and left where they are: fix the producer.
func (s *Store) RetryDLQ(ctx context.Context, id string) (int, error) {
	if id != "all" && !claims.ValidStreamID(id) {
		return 0, fmt.Errorf("retry dlq: %q is neither \"all\" nor a stream id like 1795597353284-0: %w", id, claims.ErrInvalid)
	}
	all, err := s.DLQ(ctx)
	if err != nil {
		return 0, fmt.Errorf("retry dlq: %w", err)
	}
	// One retry per source entry: its dead letters, in DLQ order.
	type source struct{ stream, id, dlq string }
	var order []source
	bySource := map[source][]DeadLetter{}
	for _, dl := range all {
		src := source{dl.SourceStream, dl.SourceID, dl.DLQStream}
		if src.stream == "" {
			p, _ := s.keys.StreamPartition(src.dlq)
			src.stream = s.keys.Partition(p).Events()
		}
		if src.id == "" {
			src.id = "dlq:" + dl.ID // unknown origin: retried on its own
		}
		if _, seen := bySource[src]; !seen {
			order = append(order, src)
		}
		bySource[src] = append(bySource[src], dl)
	}
	if id != "all" {
		order = slices.DeleteFunc(order, func(src source) bool {
			return !slices.ContainsFunc(bySource[src], func(dl DeadLetter) bool { return dl.ID == id })
		})
		if len(order) == 0 {
			return 0, fmt.Errorf("retry dlq: no dead letter %s: %w", id, claims.ErrNotFound)
		}
	}
	n := 0
	var skipped []error // "all" goes on past a letter it cannot retry
	for _, src := range order {
		letters := bySource[src]
		first := letters[0]
		if len(first.Fields) == 0 {
			skipped = append(skipped, fmt.Errorf("retry dlq %s: the dead letter has no original fields to re-append: %w", first.ID, claims.ErrInvalid))
			continue
		}
		ev, err := claims.DecodeEvent(first.SourceID, anyMap(first.Fields))
		if err != nil {
			skipped = append(skipped, fmt.Errorf("retry dlq %s: not retried: %w; only events the store wrote are put back (fix the producer): %w", first.ID, err, claims.ErrInvalid))
			continue
		}
		if home := s.keys.ForClaim(ev.ClaimID); src.stream != home.Events() || src.dlq != home.DLQ() {
			// Not from its claim's partition: the store never wrote it there,
			// and the retry would touch two partitions (two slots).
			skipped = append(skipped, fmt.Errorf("retry dlq %s: not retried: entry %s of %s is not an event the store wrote (claim %s's events are in %s); fix the producer: %w",
				first.ID, first.SourceID, src.stream, claims.Short(ev.ClaimID), home.Events(), claims.ErrInvalid))
			continue
		}
		ids := make([]string, len(letters))
		for i, dl := range letters {
			ids[i] = dl.ID
		}
		var fields []any
		for _, k := range claims.WireOrder(first.Fields) {
			fields = append(fields, k, first.Fields[k])
		}
		reply, err := s.run(ctx, retryCall{
			DLQ: src.dlq, Source: src.stream, Aggregate: s.keys.Aggregate(ev.ClaimID),
			Version: ev.Version, Original: first.SourceID, Letters: ids, Fields: fields,
		}.effect())
		switch {
		case err != nil:
			return n, fmt.Errorf("retry dlq %s: %w", first.ID, err)
		case reply.Status == "ok":
			n++
		case reply.Status == "foreign":
			why := fmt.Sprintf("the store wrote v%d of claim %s as %s", ev.Version, claims.Short(ev.ClaimID), reply.Detail)
			if reply.Detail == "" {
				why = fmt.Sprintf("the store has no v%d of claim %s", ev.Version, claims.Short(ev.ClaimID))
			}
			skipped = append(skipped, fmt.Errorf("retry dlq %s: not retried: entry %s is not an event the store wrote (%s); fix the producer: %w", first.ID, first.SourceID, why, claims.ErrInvalid))
		} // "gone": retried meanwhile by someone else
	}
	return n, errors.Join(skipped...)
}

func anyMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
