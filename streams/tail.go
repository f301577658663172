package streams

import (
	"claimsctl/streams/claims"
	"claimsctl/streams/redisconn"
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/redis/go-redis/v9"
)

// TailCursor is where a tail of the event streams stands: the last id
// read in each.
type TailCursor struct {
	after map[string]string
}

// NewTailCursor starts a tail at the end of the event streams ("$"), or
// after the entry id from in every one of them.
func (s *Store) NewTailCursor(ctx context.Context, from string) (*TailCursor, error) {
	c := &TailCursor{after: map[string]string{}}
	streams := s.keys.EventStreams()
	if from != "$" {
		if !claims.ValidStreamID(from) {
			return nil, fmt.Errorf("tail: from %q is not a stream id like 1795597353284-0 (or $ for the end)", from)
		}
		for _, st := range streams {
			c.after[st] = from
		}
		return c, nil
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.XMessageSliceCmd, len(streams))
	for i, st := range streams {
		cmds[i] = pipe.XRevRangeN(ctx, st, "+", "-", 1)
	}
	if _, err := pipe.Exec(ctx); err != nil && !redisconn.Missing(err) {
		return nil, fmt.Errorf("tail: %w", err)
	}
	for i, st := range streams {
		c.after[st] = "0-0"
		if last := cmds[i].Val(); len(last) > 0 {
			c.after[st] = last[0].ID
		}
	}
	return c, nil
}

// TailCursorAfter starts a tail after one entry id per event stream, in
// partition order (as XREAD takes one id per stream): with partitions an
// entry id orders only its own stream's entries.
func (s *Store) TailCursorAfter(ids []string) (*TailCursor, error) {
	streams := s.keys.EventStreams()
	if len(ids) != len(streams) {
		return nil, fmt.Errorf("tail: %d ids for %d event streams: give one per partition", len(ids), len(streams))
	}
	c := &TailCursor{after: map[string]string{}}
	for i, st := range streams {
		if !claims.ValidStreamID(ids[i]) {
			return nil, fmt.Errorf("tail: %q is not a stream id like 1795597353284-0", ids[i])
		}
		c.after[st] = ids[i]
	}
	return c, nil
}

// Tail reads the event streams after the cursor with XREAD (no group:
// nothing is recorded as delivered), waiting up to block for new entries in
// slices of at most a second so that cancelling ctx stops it promptly, and
// moves the cursor on. Entries of several partitions come in id order.
func (s *Store) Tail(ctx context.Context, cur *TailCursor, count int64, block time.Duration) ([]Delivery, error) {
	streams := s.keys.EventStreams()
	var out []Delivery
	err := waitInSlices(ctx, block, func(slice time.Duration) (bool, error) {
		res, err := xread(ctx, s, streams, cur, count, slice)
		if err != nil {
			return true, err
		}
		for _, st := range res {
			for _, m := range st.Messages {
				out = append(out, decode(st.Stream, m))
				cur.after[st.Stream] = m.ID
			}
		}
		return len(out) > 0, nil
	})
	if err != nil {
		return nil, fmt.Errorf("tail: %w", err)
	}
	sort.SliceStable(out, func(a, b int) bool { return claims.CompareIDs(out[a].ID, out[b].ID) < 0 })
	return out, nil
}

// xread is one XREAD of several streams after the cursor. On a cluster,
// whose streams live on several nodes, it is one XREAD per stream at the
// same time, and a blocking one ends as soon as one stream has entries or
// ctx is cancelled: the reads still blocked are left to end with their
// block, their replies dropped. That loses nothing: XREAD takes nothing
// from anyone, and the cursor moves only by what is returned.
func xread(ctx context.Context, s *Store, streams []string, cur *TailCursor, count int64, block time.Duration) ([]redis.XStream, error) {
	read := func(streams, after []string) ([]redis.XStream, error) {
		args := append(append([]string(nil), streams...), after...)
		res, err := s.rdb.XRead(ctx, &redis.XReadArgs{Streams: args, Count: count, Block: block}).Result()
		if redisconn.Classify(err) == redisconn.KindNil {
			err = nil
		}
		return res, err
	}
	after := make([]string, len(streams))
	for i, st := range streams {
		after[i] = cur.after[st]
	}
	if !cluster(s) || len(streams) == 1 {
		return read(streams, after)
	}
	type reply struct {
		i   int
		res []redis.XStream
		err error
	}
	replies := make(chan reply, len(streams)) // a dropped read never blocks
	for i, st := range streams {
		go func() {
			res, err := read([]string{st}, after[i:i+1])
			replies <- reply{i, res, err}
		}()
	}
	results := make([][]redis.XStream, len(streams))
wait:
	for range streams {
		select {
		case r := <-replies:
			if r.err != nil {
				return nil, r.err
			}
			results[r.i] = r.res
			if len(r.res) > 0 && block >= 0 {
				break wait
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	var out []redis.XStream
	for _, res := range results {
		out = append(out, res...)
	}
	return out, nil
}
