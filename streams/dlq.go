package streams

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"claimsctl/streams/claims"

	"github.com/redis/go-redis/v9"
)

// DeadLetter is one entry of claims:dlq: an entry of a source stream that
// a group gave up on, with why and its original fields.
type DeadLetter struct {
	ID           string // id in claims:dlq
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

// deadLetterScript acks the entry and, only if it was still pending in the
// group, appends it to the DLQ: one atomic step, so an entry is never both
// pending and dead, and two consumers racing to give up on the same entry
// (one took it over from the other) write one dead letter, not two.
//
// KEYS[1] source stream, KEYS[2] dlq; ARGV[1] group, ARGV[2] entry id,
// ARGV[3..] the dead letter's field/value pairs.
var deadLetterScript = redis.NewScript(`
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return false end
return redis.call('XADD', KEYS[2], '*', unpack(ARGV, 3))
`)

// DeadLetter moves a delivered entry of claims:events to claims:dlq: it
// appends the entry (error, delivery count, time, original fields as JSON)
// to the DLQ and acknowledges it in the group, atomically. An entry that is
// no longer pending in the group (someone acked or dead-lettered it first)
// is left alone.
func (s *Store) DeadLetter(ctx context.Context, group string, d Delivery, cause error, deliveries int64) error {
	raw := make(map[string]string, len(d.Fields))
	for k, v := range d.Fields {
		raw[k] = fmt.Sprint(v)
	}
	fields, err := json.Marshal(raw)
	if err != nil {
		return fmt.Errorf("dead-letter %s: encode fields: %w", d.ID, err)
	}
	msg := "unknown error"
	if cause != nil {
		msg = cause.Error()
	}
	typ, claimID := raw[claims.FieldType], raw[claims.FieldClaimID]
	if d.Err == nil && d.Event.Type != "" {
		typ, claimID = string(d.Event.Type), d.Event.ClaimID
	}
	args := []any{group, d.ID,
		"source_stream", s.keys.Events(),
		"group", group,
		"source_id", d.ID,
		"error", msg,
		"deliveries", strconv.FormatInt(deliveries, 10),
		"dead_at", s.now().Format(time.RFC3339),
	}
	if typ != "" {
		args = append(args, "type", typ)
	}
	if claimID != "" {
		args = append(args, "claim_id", claimID)
	}
	args = append(args, "fields", string(fields))
	err = deadLetterScript.Run(ctx, s.rdb, []string{s.keys.Events(), s.keys.DLQ()}, args...).Err()
	if err != nil && err != redis.Nil {
		return fmt.Errorf("dead-letter %s: %w", d.ID, err)
	}
	return nil
}

// DLQ lists the dead letters, oldest first.
func (s *Store) DLQ(ctx context.Context) ([]DeadLetter, error) {
	msgs, err := s.rdb.XRange(ctx, s.keys.DLQ(), "-", "+").Result()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", s.keys.DLQ(), err)
	}
	out := make([]DeadLetter, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, parseDeadLetter(m))
	}
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

// retryScript re-appends a dead letter's original fields to its source
// stream and deletes it, and the other groups' dead letters of the same
// source entry, from the DLQ: atomically, and only if the first one is
// still there, so a retry racing another retry appends the entry once.
//
// KEYS[1] dlq, KEYS[2] source stream; ARGV[1] n, ARGV[2..n+1] dlq ids (the
// first one decides), ARGV[n+2..] fields.
var retryScript = redis.NewScript(`
if #redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2]) == 0 then return false end
local n = tonumber(ARGV[1])
local id = redis.call('XADD', KEYS[2], '*', unpack(ARGV, n + 2))
redis.call('XDEL', KEYS[1], unpack(ARGV, 2, n + 1))
return id
`)

// RetryDLQ gives dead letters another chance: the original fields are
// appended to the source stream as a new entry and the dead letter is
// deleted from the DLQ, atomically. id is a DLQ entry id or "all". It
// returns how many entries were re-appended.
//
// The new entry is delivered to every group of the stream again (Redis
// cannot re-deliver an acked entry to one group only), so the dead letters
// other groups wrote for the same source entry are retried — deleted — with
// it, and the entry is appended once, not once per group. The built-in
// workers are idempotent per event: groups that handled it before skip it.
// A malformed original is re-appended as it was, still malformed, and comes
// back to the DLQ (once per group): that is expected — fix the producer,
// not the DLQ.
func (s *Store) RetryDLQ(ctx context.Context, id string) (int, error) {
	if id != "all" && !claims.ValidStreamID(id) {
		return 0, fmt.Errorf("retry dlq: %q is neither \"all\" nor a stream id like 1795597353284-0: %w", id, claims.ErrInvalid)
	}
	all, err := s.DLQ(ctx)
	if err != nil {
		return 0, fmt.Errorf("retry dlq: %w", err)
	}
	// One retry per source entry: its dead letters, in DLQ order.
	type source struct{ stream, id string }
	var order []source
	bySource := map[source][]DeadLetter{}
	for _, dl := range all {
		src := source{dl.SourceStream, dl.SourceID}
		if src.stream == "" {
			src.stream = s.keys.Events()
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
			return 0, fmt.Errorf("retry dlq: no dead letter %s in %s: %w", id, s.keys.DLQ(), claims.ErrNotFound)
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
		args := []any{len(letters)}
		for _, dl := range letters {
			args = append(args, dl.ID)
		}
		for _, k := range claims.WireOrder(first.Fields) {
			args = append(args, k, first.Fields[k])
		}
		err := retryScript.Run(ctx, s.rdb, []string{s.keys.DLQ(), src.stream}, args...).Err()
		switch {
		case errors.Is(err, redis.Nil): // retried meanwhile by someone else
		case err != nil:
			return n, fmt.Errorf("retry dlq %s: %w", first.ID, err)
		default:
			n++
		}
	}
	return n, errors.Join(skipped...)
}
