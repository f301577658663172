package streams

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"claimsctl/streams/claims"
	"claimsctl/streams/redisconn"

	"github.com/redis/go-redis/v9"
)

// ConsumeOptions tune one read of a consumer group.
type ConsumeOptions struct {
	// Count is the most entries to return (default 10).
	Count int64
	// Block waits up to this long for new entries; 0 returns at once.
	// Waiting happens in slices of at most a second so that cancelling ctx
	// stops it promptly (go-redis cannot interrupt a blocked XREADGROUP).
	Block time.Duration
	// Pending re-reads this consumer's own unacked entries ("0") instead of
	// new ones (">"). Note that it bumps their delivery counts.
	Pending bool
}

// EnsureGroup creates a consumer group on the event streams (every
// partition's; and the streams themselves) if missing. New groups start at
// the beginning of the stream, so a worker started late still sees every
// claim.
func (s *Store) EnsureGroup(ctx context.Context, group string) error {
	if err := claims.ValidName("group", group); err != nil {
		return err
	}
	pipe := s.rdb.Pipeline()
	streams := s.keys.EventStreams()
	cmds := make([]*redis.StatusCmd, len(streams))
	for i, stream := range streams {
		cmds[i] = pipe.XGroupCreateMkStream(ctx, stream, group, "0")
	}
	_, _ = pipe.Exec(ctx)
	for i, c := range cmds {
		if err := c.Err(); err != nil && redisconn.Classify(err) != redisconn.KindBusyGroup {
			return fmt.Errorf("create group %s on %s: %w", group, streams[i], err)
		}
	}
	return nil
}

// Consume reads entries of the event streams (every partition's) for one
// consumer of a group, creating the group if needed. What it hands out
// follows the workers' integrity rule: an entry the store did not write
// has Err set.
func (s *Store) Consume(ctx context.Context, group, consumer string, opts ConsumeOptions) ([]Delivery, error) {
	if err := claims.ValidName("consumer", consumer); err != nil {
		return nil, fmt.Errorf("consume %s/%s: %w", group, consumer, err)
	}
	if err := s.EnsureGroup(ctx, group); err != nil {
		return nil, fmt.Errorf("consume %s/%s: %w", group, consumer, err)
	}
	if opts.Count <= 0 {
		opts.Count = 10
	}
	start := ">"
	if opts.Pending {
		start = "0"
	}
	var ds []Delivery
	var err error
	if streams := s.keys.EventStreams(); len(streams) == 1 {
		ds, err = s.ReadGroup(ctx, GroupRead{Stream: streams[0], Group: group, Consumer: consumer, Start: start, Count: opts.Count, Block: opts.Block})
	} else {
		ds, err = consumePartitions(ctx, s, streams, GroupRead{Group: group, Consumer: consumer, Start: start, Count: opts.Count}, opts.Block)
	}
	if err == nil {
		err = vetAll(ctx, s, ds)
	}
	return ds, err
}

// consumePartitions reads up to r.Count entries from the partitions'
// streams, the partitions in turn (a group hands out no more than asked
// for: what it delivers is pending until acked). When none has any, it
// waits for a new entry anywhere with an XREAD, which takes nothing from
// the group, and reads again.
func consumePartitions(ctx context.Context, s *Store, streams []string, r GroupRead, block time.Duration) ([]Delivery, error) {
	var out []Delivery
	err := waitInSlices(ctx, block, func(slice time.Duration) (bool, error) {
		wait := slice >= 0 && r.Start == ">"
		var ends *TailCursor
		if wait {
			// Where the streams end before the group is read: the XREAD then
			// waits for entries after these, so one appended while it is on
			// its way wakes it ("$" would be read at its arrival, too late).
			var err error
			if ends, err = s.NewTailCursor(ctx, "$"); err != nil {
				return true, err
			}
		}
		for _, stream := range streams {
			if int64(len(out)) >= r.Count {
				break
			}
			rr := r
			rr.Stream, rr.Count = stream, r.Count-int64(len(out))
			ds, err := s.ReadGroup(ctx, rr)
			if err != nil {
				return true, err
			}
			out = append(out, ds...)
		}
		if len(out) > 0 || !wait {
			return true, nil
		}
		_, err := xread(ctx, s, streams, ends, 1, slice)
		return false, err
	})
	if err != nil {
		return nil, fmt.Errorf("consume %s/%s: %w", r.Group, r.Consumer, err)
	}
	return out, nil
}

// EntryRef names one entry of one stream. Stream "" is "the event stream
// it is pending in": with partitions two streams may hold the same id.
type EntryRef struct{ Stream, ID string }

// Ref is where a delivery came from.
func (d Delivery) Ref() EntryRef { return EntryRef{Stream: d.Stream, ID: d.ID} }

// Ack acknowledges entries of the event streams by id and returns how many
// were pending; see AckEntries.
func (s *Store) Ack(ctx context.Context, group string, ids ...string) (int64, error) {
	refs := make([]EntryRef, len(ids))
	for i, id := range ids {
		refs[i] = EntryRef{ID: id}
	}
	return s.AckEntries(ctx, group, refs)
}

// AckEntries acknowledges entries for a group and returns how many were
// pending. An entry without its stream is looked up among the partitions'
// pending entries; one pending in two partitions under the same id is
// refused, acking nothing: only its stream says which was meant.
func (s *Store) AckEntries(ctx context.Context, group string, refs []EntryRef) (int64, error) {
	if len(refs) == 0 {
		return 0, nil
	}
	events := s.keys.EventStreams()
	var unplaced []int
	for i, r := range refs {
		switch {
		case !claims.ValidStreamID(r.ID):
			return 0, fmt.Errorf("ack %s: %q is not a stream id like 1795597353284-0: %w", group, r.ID, claims.ErrInvalid)
		case r.Stream == "" && len(events) == 1:
			refs[i].Stream = events[0]
		case r.Stream == "":
			unplaced = append(unplaced, i)
		case !slices.Contains(events, r.Stream):
			return 0, fmt.Errorf("ack %s: %s is not an event stream of this keyspace: %w", group, r.Stream, claims.ErrInvalid)
		}
	}
	if err := placePending(ctx, s, group, refs, unplaced); err != nil {
		return 0, err
	}
	byStream := map[string][]string{}
	for _, r := range refs {
		if r.Stream != "" {
			byStream[r.Stream] = append(byStream[r.Stream], r.ID)
		}
	}
	pipe := s.rdb.Pipeline()
	var cmds []*redis.IntCmd
	for _, stream := range events {
		if ids := byStream[stream]; len(ids) > 0 {
			cmds = append(cmds, pipe.XAck(ctx, stream, group, ids...))
		}
	}
	if len(cmds) == 0 {
		return 0, nil
	}
	if _, err := pipe.Exec(ctx); err != nil && !redisconn.Missing(err) {
		return 0, fmt.Errorf("ack %s: %w", group, err)
	}
	var n int64
	for _, c := range cmds {
		n += c.Val()
	}
	return n, nil
}

// placePending finds the stream of each refs[i], i in which, among the
// partitions where the group has it pending (XPENDING of that one id).
// One pending nowhere stays unplaced: acking it would do nothing.
func placePending(ctx context.Context, s *Store, group string, refs []EntryRef, which []int) error {
	if len(which) == 0 {
		return nil
	}
	events := s.keys.EventStreams()
	pipe := s.rdb.Pipeline()
	cmds := make([][]*redis.XPendingExtCmd, len(which))
	for j, i := range which {
		for _, stream := range events {
			cmds[j] = append(cmds[j], pipe.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: stream, Group: group, Start: refs[i].ID, End: refs[i].ID, Count: 1}))
		}
	}
	if _, err := pipe.Exec(ctx); err != nil && !redisconn.Missing(err) {
		return fmt.Errorf("ack %s: find the partitions: %w", group, err)
	}
	for j, i := range which {
		var in []string
		for p, c := range cmds[j] {
			if len(c.Val()) > 0 {
				in = append(in, events[p])
			}
		}
		if len(in) > 1 {
			return fmt.Errorf("ack %s: %s is pending in %d partitions (%s): give the delivery itself (it names its stream), nothing acked: %w",
				group, refs[i].ID, len(in), strings.Join(in, ", "), claims.ErrInvalid)
		}
		if len(in) == 1 {
			refs[i].Stream = in[0]
		}
	}
	return nil
}
