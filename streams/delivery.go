package streams

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"claimsctl/streams/claims"
	"claimsctl/streams/redisconn"
)

// Delivery is one entry handed to a consumer. Err is set when the entry is
// not a claim event the store wrote (a *claims.MalformedError); it still
// has to be acked or dead-lettered.
type Delivery struct {
	Stream string // the stream the entry is in
	ID     string
	Event  claims.Event
	Fields map[string]any
	Err    error
	// Deliveries is how often the group has handed this entry out (0 when
	// unknown).
	Deliveries int64
	// RetryOf is set when the entry is in the group's retry stream (see
	// RetryDLQ): the id of the event stream's entry it hands back, which is
	// Event.ID. ID is then the retry entry's, acked and deleted there.
	RetryOf string
	// Attempts counts how often this consumer handled it without a new
	// delivery (an event that arrived before its predecessor is tried
	// again with the next batch).
	Attempts int
}

// decode turns a stream entry into a Delivery.
func decode(stream string, m redis.XMessage) Delivery {
	d := Delivery{Stream: stream, ID: m.ID, Fields: m.Values}
	d.Event, d.Err = claims.DecodeEvent(m.ID, m.Values)
	if d.Err != nil {
		d.Event = claims.Event{ID: m.ID}
	}
	return d
}

// FieldRetryOf names, in a retry stream's entry, the event stream's entry
// that it hands back to one group.
const FieldRetryOf = "retry_of"

// DecodeDelivery is decode for an entry a group read: an entry of a retry
// stream is the event it names in retry_of, the rest of its fields being
// that event's.
func (s *Store) DecodeDelivery(stream string, m redis.XMessage) Delivery {
	if _, ok := s.keys.RetryGroup(stream); !ok {
		return decode(stream, m)
	}
	fields := maps.Clone(m.Values)
	of, _ := fields[FieldRetryOf].(string)
	delete(fields, FieldRetryOf)
	d := Delivery{Stream: stream, ID: m.ID, Fields: fields, Event: claims.Event{ID: m.ID}}
	if !claims.ValidStreamID(of) {
		d.Err = &claims.MalformedError{ID: m.ID, NotWritten: true, Reason: fmt.Sprintf("a retry entry must name the entry it hands back (%s=%q)", FieldRetryOf, of)}
		return d
	}
	d.RetryOf = of
	if d.Event, d.Err = claims.DecodeEvent(of, fields); d.Err != nil {
		d.Event = claims.Event{ID: of}
	}
	return d
}

// GroupRead is one XREADGROUP.
type GroupRead struct {
	Stream          string   // one stream, or
	Streams         []string // several (every partition), read together
	Group, Consumer string
	// Start is ">" for entries never delivered to the group, or an id: this
	// consumer's own pending entries after it (each read of a pending entry
	// counts as a delivery and resets its idle time).
	Start string
	Count int64
	// Block waits up to this long for new entries (Start ">" only); 0 or
	// less returns at once.
	Block time.Duration
}

// MaxBlock bounds one blocking call: go-redis cannot interrupt a
// blocked read when its context is cancelled, so waiting happens in slices
// and a cancelled caller is back within this long.
const MaxBlock = time.Second

// ReadGroup is the one place that reads a consumer group: workers,
// consume() and the own-pending pass of recovery all use it. A long Block
// waits in slices of at most a second, so cancelling ctx stops it promptly.
func (s *Store) ReadGroup(ctx context.Context, r GroupRead) ([]Delivery, error) {
	streams := r.Streams
	if r.Stream != "" {
		streams = []string{r.Stream}
	}
	var out []Delivery
	err := waitInSlices(ctx, r.Block, func(block time.Duration) (bool, error) {
		if r.Start != ">" {
			block = -1
		}
		res, err := xreadgroup(ctx, s, streams, r, block)
		if err != nil {
			return true, err
		}
		for _, st := range res {
			for _, m := range st.Messages {
				d := s.DecodeDelivery(st.Stream, m)
				if r.Start == ">" {
					d.Deliveries = 1 // a first delivery by definition
				}
				out = append(out, d)
			}
		}
		return len(out) > 0, nil
	})
	if err != nil {
		return nil, fmt.Errorf("consume %s/%s: %w", r.Group, r.Consumer, err)
	}
	return out, nil
}

// xreadgroup reads several streams of one group at once: one XREADGROUP on
// one server; on a cluster, whose streams live on several nodes, one per
// stream at the same time (a blocking read ends when its own stream has
// entries or the block is over, so together they wait no longer).
func xreadgroup(ctx context.Context, s *Store, streams []string, r GroupRead, block time.Duration) ([]redis.XStream, error) {
	read := func(streams []string) ([]redis.XStream, error) {
		args := make([]string, 0, 2*len(streams))
		args = append(args, streams...)
		for range streams {
			args = append(args, r.Start)
		}
		res, err := s.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
			Group: r.Group, Consumer: r.Consumer, Streams: args, Count: r.Count, Block: block,
		}).Result()
		if redisconn.Classify(err) == redisconn.KindNil {
			err = nil
		}
		return res, err
	}
	if !cluster(s) || len(streams) == 1 {
		return read(streams)
	}
	type result struct {
		res []redis.XStream
		err error
	}
	results := make([]result, len(streams))
	var wg sync.WaitGroup
	for i, st := range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i].res, results[i].err = read([]string{st})
		}()
	}
	wg.Wait()
	var out []redis.XStream
	for _, r := range results {
		if r.err != nil {
			return out, r.err
		}
		out = append(out, r.res...)
	}
	return out, nil
}

// waitInSlices calls read with a block of at most MaxBlock until it
// reports done, the total has passed, or ctx is cancelled. A total of 0 or
// less makes one non-blocking call (block -1: go-redis then sends no BLOCK
// at all, where BLOCK 0 would wait forever).
func waitInSlices(ctx context.Context, total time.Duration, read func(block time.Duration) (done bool, err error)) error {
	deadline := time.Now().Add(total)
	for {
		block := time.Duration(-1)
		// Under a millisecond would be sent as BLOCK 0, which waits forever.
		if remaining := time.Until(deadline); remaining >= time.Millisecond {
			block = min(remaining, MaxBlock)
		}
		done, err := read(block)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		if done || block < 0 || time.Until(deadline) <= 0 {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}
