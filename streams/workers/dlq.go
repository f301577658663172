package workers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"time"

	"claimsctl/streams"
	"claimsctl/streams/claims"
	"claimsctl/streams/redisconn"
	"claimsctl/streams/scripts"

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

// ToDLQ moves a delivered entry to the DLQ: it appends the entry
// (error, delivery count, time, original fields as JSON) to the DLQ and
// acknowledges it in the group, atomically. An entry that is no longer
// pending in the group (someone acked or dead-lettered it first) is left
// alone.
func ToDLQ(ctx context.Context, s *streams.Store, group string, d streams.Delivery, cause error, deliveries int64) error {
	if _, err := s.Run(ctx, deadLetterEffect(s, group, d, cause, deliveries)); err != nil {
		return fmt.Errorf("dead-letter %s: %w", d.ID, err)
	}
	return nil
}

// deadLetterEffect is the deadletter.lua call for d.
func deadLetterEffect(s *streams.Store, group string, d streams.Delivery, cause error, deliveries int64) scripts.Effect {
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
		source = s.Keys().Events()
	}
	// A retry entry's letter names the event stream's entry it handed back,
	// so that it can be retried again like the first letter.
	origin, originID := source, d.ID
	if d.RetryOf != "" {
		p, _ := s.Keys().StreamPartition(source)
		origin, originID = s.Keys().Partition(p).Events(), d.RetryOf
	}
	letter := []any{
		"source_stream", origin,
		"group", group,
		"source_id", originID,
		"error", msg,
		"deliveries", strconv.FormatInt(deliveries, 10),
		"dead_at", s.Now().Format(time.RFC3339),
	}
	if typ != "" {
		letter = append(letter, "type", typ)
	}
	if claimID != "" {
		letter = append(letter, "claim_id", claimID)
	}
	letter = append(letter, "fields", string(fields))
	return scripts.DeadLetterCall{Source: source, DLQ: s.Keys().DLQOf(source), Group: group, ID: d.ID, Delete: s.Keys().IsRetry(source), Fields: letter}.Effect()
}

// DLQ lists the dead letters of every partition, oldest first.
func DLQ(ctx context.Context, s *streams.Store) ([]DeadLetter, error) {
	pipe := s.Client().Pipeline()
	var cmds []*redis.XMessageSliceCmd
	dlqs := make([]string, 0, s.Keys().Partitions())
	for _, pk := range s.Keys().All() {
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

// RetryDLQ hands dead letters back to the groups that gave up on them:
// each letter's event goes to its group's retry stream
// (claims:retry:<group>, see PartitionKeys.Retry), which that group's
// workers read beside the event stream, and the letter is deleted,
// atomically. The event stream is not written: the other groups, and
// every other reader of the log (redis-cli, another client's consumer),
// see the event once, as before. id is a DLQ entry id or "all". It returns
// how many letters were handed back.
//
// Only events the store wrote go back (the claim's aggregate records the
// letter's source entry for its version): a malformed entry, or one
// another tool wrote, would only come back to the DLQ. Those are reported
// and left where they are: fix the producer.
func RetryDLQ(ctx context.Context, s *streams.Store, id string) (int, error) {
	if id != "all" && !claims.ValidStreamID(id) {
		return 0, fmt.Errorf("retry dlq: %q is neither \"all\" nor a stream id like 1795597353284-0: %w", id, claims.ErrInvalid)
	}
	all, err := DLQ(ctx, s)
	if err != nil {
		return 0, fmt.Errorf("retry dlq: %w", err)
	}
	letters := slices.DeleteFunc(all, func(dl DeadLetter) bool { return id != "all" && dl.ID != id })
	if id != "all" && len(letters) == 0 {
		return 0, fmt.Errorf("retry dlq: no dead letter %s: %w", id, claims.ErrNotFound)
	}
	n := 0
	var skipped []error // "all" goes on past a letter it cannot retry
	for _, dl := range letters {
		done, err := retryLetter(ctx, s, dl)
		var refused *retryRefused
		switch {
		case errors.As(err, &refused):
			skipped = append(skipped, err)
		case err != nil:
			return n, err
		case done:
			n++
		} // not done: retried meanwhile by someone else
	}
	return n, errors.Join(skipped...)
}

// retryRefused is a dead letter RetryDLQ leaves where it is.
type retryRefused struct{ err error }

func (e *retryRefused) Error() string { return e.err.Error() }
func (e *retryRefused) Unwrap() error { return e.err }

// retryLetter hands one dead letter back to its group through
// ops/retry.lua. It reports false when the letter was gone already.
func retryLetter(ctx context.Context, s *streams.Store, dl DeadLetter) (bool, error) {
	refuse := func(format string, args ...any) (bool, error) {
		args = append([]any{dl.ID}, args...)
		return false, &retryRefused{fmt.Errorf("retry dlq %s: not retried: "+format+": %w", append(args, claims.ErrInvalid)...)}
	}
	if len(dl.Fields) == 0 {
		return refuse("the dead letter has no original fields to hand back")
	}
	if err := claims.ValidName("group", dl.Group); err != nil {
		return refuse("it names no group to hand it back to (%v)", err)
	}
	ev, err := claims.DecodeEvent(dl.SourceID, anyMap(dl.Fields))
	if err != nil {
		return refuse("%v; only events the store wrote are handed back (fix the producer)", err)
	}
	source := dl.SourceStream
	if source == "" {
		p, _ := s.Keys().StreamPartition(dl.DLQStream)
		source = s.Keys().Partition(p).Events()
	}
	home := s.Keys().ForClaim(ev.ClaimID)
	if source != home.Events() || dl.DLQStream != home.DLQ() {
		// Not from its claim's partition: the store never wrote it there,
		// and the retry would touch two partitions (two slots).
		return refuse("entry %s of %s is not an event the store wrote (claim %s's events are in %s); fix the producer",
			dl.SourceID, source, claims.Short(ev.ClaimID), home.Events())
	}
	var fields []any
	for _, k := range claims.WireOrder(dl.Fields) {
		if k != streams.FieldRetryOf {
			fields = append(fields, k, dl.Fields[k])
		}
	}
	fields = append(fields, streams.FieldRetryOf, dl.SourceID)
	reply, err := s.Run(ctx, scripts.RetryCall{
		DLQ: dl.DLQStream, Retry: home.Retry(dl.Group), Aggregate: home.Aggregate(ev.ClaimID),
		Version: ev.Version, Original: dl.SourceID, Letter: dl.ID, Group: dl.Group, Fields: fields,
	}.Effect())
	switch {
	case err != nil:
		return false, fmt.Errorf("retry dlq %s: %w", dl.ID, err)
	case reply.Status == "foreign":
		why := fmt.Sprintf("the store wrote v%d of claim %s as %s", ev.Version, claims.Short(ev.ClaimID), reply.Detail)
		if reply.Detail == "" {
			why = fmt.Sprintf("the store has no v%d of claim %s", ev.Version, claims.Short(ev.ClaimID))
		}
		return refuse("entry %s is not an event the store wrote (%s); fix the producer", dl.SourceID, why)
	}
	return reply.Status == "ok", nil
}

func anyMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
