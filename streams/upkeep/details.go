package upkeep

import (
	"claimsctl/streams"
	"claimsctl/streams/claims"
	"claimsctl/streams/redisconn"
	"claimsctl/streams/streamview"
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Stream maintenance (lab step 11): what each stream holds and costs.

// StreamDetail is one stream as info() shows it: the state view plus what
// XINFO STREAM and MEMORY USAGE tell.
type StreamDetail struct {
	streamview.StreamState
	// LastGeneratedID is the id the stream last handed out; it stays after
	// the entries themselves are trimmed, and XADD with an explicit id must
	// be above it.
	LastGeneratedID string
	// EntriesAdded counts every XADD ever made (0 when the server does not
	// report it: the embedded server).
	EntriesAdded int64
	// First and Last are the oldest and newest entries (nil when empty).
	First, Last *EntrySummary
	// MemoryBytes is MEMORY USAGE of the key. On the embedded server it is
	// an estimate of the Go memory the stream holds, not Redis's figure.
	MemoryBytes int64
}

// EntrySummary names one stream entry and, when it is a claim event (or
// carries an occurred_at field), when it happened.
type EntrySummary struct {
	ID         string
	Type       string    // the entry's "type" field, if any
	OccurredAt time.Time // zero when the entry has no readable occurred_at
}

// StreamDetails reads every stream's details: the state view (with lag
// counted where the server gives none, as State does) plus first and last
// entry, last generated id and memory usage, in one more pipelined trip.
func StreamDetails(ctx context.Context, store *streams.Store) ([]StreamDetail, error) {
	s := keeperOf(store)
	st, err := s.store.State(ctx)
	if err != nil {
		return nil, err
	}
	type cmds struct {
		info  *redis.XInfoStreamCmd
		first *redis.XMessageSliceCmd
		last  *redis.XMessageSliceCmd
		mem   *redis.IntCmd
	}
	keys := s.keys.Streams()
	cs := make([]cmds, len(keys))
	pipe := s.rdb.Pipeline()
	for i, key := range keys {
		cs[i].info = pipe.XInfoStream(ctx, key)
		// XINFO STREAM's first-entry/last-entry are missing on the
		// embedded server, so both ends are read with XRANGE everywhere.
		cs[i].first = pipe.XRangeN(ctx, key, "-", "+", 1)
		cs[i].last = pipe.XRevRangeN(ctx, key, "+", "-", 1)
		cs[i].mem = pipe.MemoryUsage(ctx, key)
	}
	if _, err := pipe.Exec(ctx); err != nil && !redisconn.Missing(err) {
		return nil, fmt.Errorf("stream details: %w", err)
	}
	out := make([]StreamDetail, 0, len(keys))
	for i, key := range keys {
		d := StreamDetail{StreamState: streamview.StreamState{Key: key}}
		if ss := st.Stream(key); ss != nil {
			d.StreamState = *ss
		}
		if info, err := cs[i].info.Result(); err == nil {
			d.LastGeneratedID, d.EntriesAdded = info.LastGeneratedID, info.EntriesAdded
		} else if !redisconn.Missing(err) {
			return nil, fmt.Errorf("details of %s: %w", key, err)
		}
		if msgs, err := cs[i].first.Result(); err == nil && len(msgs) > 0 {
			d.First = summarize(msgs[0])
			d.FirstID = msgs[0].ID
		}
		if msgs, err := cs[i].last.Result(); err == nil && len(msgs) > 0 {
			d.Last = summarize(msgs[0])
			d.LastID = msgs[0].ID
		}
		if n, err := cs[i].mem.Result(); err == nil {
			d.MemoryBytes = n
		} else if !redisconn.Missing(err) {
			return nil, fmt.Errorf("memory usage of %s: %w", key, err)
		}
		out = append(out, d)
	}
	return out, nil
}

func summarize(m redis.XMessage) *EntrySummary {
	e := &EntrySummary{ID: m.ID}
	e.Type, _ = m.Values[claims.FieldType].(string)
	at, _ := m.Values[claims.FieldOccurredAt].(string)
	e.OccurredAt = parseOccurredAt(at)
	return e
}

func parseOccurredAt(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}
