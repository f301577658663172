package streams

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"claimsctl/streams/claims"

	"github.com/redis/go-redis/v9"
)

// Defaults of recovery and the dead-letter limit.
const (
	defaultRecoverCount = 100
	// pendingListLimit bounds the entries Pending lists; the summary still
	// counts them all.
	pendingListLimit = 1000
	// maxAutoClaimCalls bounds one Recover: XAUTOCLAIM scans at most
	// 10×COUNT entries of the PEL per call and hands back a cursor.
	maxAutoClaimCalls = 10
)

// PendingSummary is XPENDING's summary form: how many entries of a group
// are delivered but not acknowledged, and by whom.
type PendingSummary struct {
	Count     int64
	Lower     string           // smallest pending id ("" when none)
	Higher    string           // greatest pending id
	Consumers map[string]int64 // consumer -> pending entries
}

// PendingEntry is one delivered, unacknowledged entry (XPENDING extended form).
type PendingEntry struct {
	ID         string
	Consumer   string
	Idle       time.Duration // since its last delivery
	Deliveries int64         // how often the group handed it out
}

// Pending reads a group's pending entries on the event streams (every
// partition's, summed): the summary and the first 1000 entries, in one
// round trip. A group that does not exist yet has nothing pending.
func (s *Store) Pending(ctx context.Context, group string) (PendingSummary, []PendingEntry, error) {
	streams := s.keys.EventStreams()
	pipe := s.rdb.Pipeline()
	sums := make([]*redis.XPendingCmd, len(streams))
	exts := make([]*redis.XPendingExtCmd, len(streams))
	for i, stream := range streams {
		sums[i] = pipe.XPending(ctx, stream, group)
		exts[i] = pipe.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: stream, Group: group, Start: "-", End: "+", Count: pendingListLimit})
	}
	_, _ = pipe.Exec(ctx)
	out := PendingSummary{Consumers: map[string]int64{}}
	var entries []PendingEntry
	for i := range streams {
		if err := sums[i].Err(); err != nil {
			if missing(err) {
				continue
			}
			return PendingSummary{}, nil, fmt.Errorf("pending %s: %w", group, err)
		}
		v := sums[i].Val()
		out.Count += v.Count
		if v.Count > 0 {
			if out.Lower == "" || claims.CompareIDs(v.Lower, out.Lower) < 0 {
				out.Lower = v.Lower
			}
			if claims.CompareIDs(v.Higher, out.Higher) > 0 {
				out.Higher = v.Higher
			}
		}
		for c, n := range v.Consumers {
			out.Consumers[c] += n
		}
		entries = append(entries, pendingEntries(exts[i].Val())...)
	}
	sort.Slice(entries, func(a, b int) bool { return claims.CompareIDs(entries[a].ID, entries[b].ID) < 0 })
	if len(entries) > pendingListLimit {
		entries = entries[:pendingListLimit]
	}
	return out, entries, nil
}

func pendingEntries(in []redis.XPendingExt) []PendingEntry {
	out := make([]PendingEntry, len(in))
	for i, p := range in {
		out[i] = PendingEntry{ID: p.ID, Consumer: p.Consumer, Idle: p.Idle, Deliveries: p.RetryCount}
	}
	return out
}

// RecoverOptions tune one take-over of idle pending entries.
type RecoverOptions struct {
	// MinIdle: only entries not delivered for at least this long are taken
	// (default 30s; use time.Millisecond to take everything pending). Their
	// consumer is presumed dead; a small value steals work from a consumer
	// that is merely slow.
	MinIdle time.Duration
	// Count is the most entries to take (default 100).
	Count int64
}

// RecoverResult is what a take-over got.
type RecoverResult struct {
	// Claimed entries now belong to the caller, each with its delivery
	// count (the take-over counts as a delivery).
	Claimed []Delivery
	// DeletedIDs were pending but deleted from the stream (XDEL, trim);
	// Redis dropped them from the PEL. The embedded server never reports
	// them (they stay in its PEL).
	DeletedIDs []string
}

// Recover takes over entries of a group that have been pending for at
// least MinIdle, whoever holds them (XAUTOCLAIM), so that the work of a
// crashed consumer is finished by another one.
//
// It never takes an entry that is not idle enough: XPENDING IDLE first
// says whether anything is idle and where to start, and XAUTOCLAIM itself
// re-checks min-idle atomically on both backends (the embedded server
// ignores min-idle in XCLAIM, which is why XCLAIM is not used here), so an
// entry its owner touched in between stays with the owner.
func (s *Store) Recover(ctx context.Context, group, consumer string, o RecoverOptions) (RecoverResult, error) {
	var res RecoverResult
	for _, stream := range s.keys.EventStreams() {
		part, err := s.recoverStream(ctx, stream, group, consumer, o)
		if err != nil {
			return res, err
		}
		res.Claimed = append(res.Claimed, part.Claimed...)
		res.DeletedIDs = append(res.DeletedIDs, part.DeletedIDs...)
	}
	return res, nil
}

// recoverStream is Recover on one partition's stream.
func (s *Store) recoverStream(ctx context.Context, stream, group, consumer string, o RecoverOptions) (RecoverResult, error) {
	fail := func(err error) (RecoverResult, error) {
		return RecoverResult{}, fmt.Errorf("recover %s/%s: %w", group, consumer, err)
	}
	if err := claims.ValidName("consumer", consumer); err != nil {
		return fail(err)
	}
	if o.MinIdle <= 0 {
		o.MinIdle = DefaultMinIdle
	}
	if o.Count <= 0 {
		o.Count = defaultRecoverCount
	}
	idle, err := s.rdb.XPendingExt(ctx, &redis.XPendingExtArgs{
		Stream: stream, Group: group, Idle: o.MinIdle, Start: "-", End: "+", Count: 1,
	}).Result()
	if err != nil {
		if missing(err) {
			return RecoverResult{}, nil
		}
		return fail(err)
	}
	if len(idle) == 0 {
		return RecoverResult{}, nil
	}
	var res RecoverResult
	start := idle[0].ID
	for range maxAutoClaimCalls {
		msgs, next, deleted, err := s.rdb.XAutoClaimWithDeleted(ctx, &redis.XAutoClaimArgs{
			Stream: stream, Group: group, Consumer: consumer,
			MinIdle: o.MinIdle, Start: start, Count: o.Count - int64(len(res.Claimed)),
		}).Result()
		if err != nil {
			return fail(err)
		}
		for _, m := range msgs {
			res.Claimed = append(res.Claimed, decode(stream, m))
		}
		res.DeletedIDs = append(res.DeletedIDs, deleted...)
		if next == "0-0" || int64(len(res.Claimed)) >= o.Count {
			break
		}
		start = next
	}
	if err := s.setDeliveries(ctx, group, consumer, res.Claimed); err != nil {
		return fail(err)
	}
	return res, nil
}

// setDeliveries fills in each delivery's count from XPENDING (XAUTOCLAIM
// and XREADGROUP 0 do not report it), one pipelined XPENDING per entry.
func (s *Store) setDeliveries(ctx context.Context, group, consumer string, ds []Delivery) error {
	if len(ds) == 0 {
		return nil
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.XPendingExtCmd, len(ds))
	for i, d := range ds {
		cmds[i] = pipe.XPendingExt(ctx, &redis.XPendingExtArgs{
			Stream: d.Stream, Group: group, Start: d.ID, End: d.ID, Count: 1, Consumer: consumer,
		})
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("delivery counts: %w", err)
	}
	for i := range ds {
		if p := cmds[i].Val(); len(p) == 1 {
			ds[i].Deliveries = p[0].RetryCount
		}
	}
	return nil
}

// readOwnPending re-reads a consumer's own pending entries with ids after
// `after` (XREADGROUP with an id), with their delivery counts. Each read
// counts as a delivery and resets the idle time, which hides the entry
// from other consumers' recovery: call it once per page at start-up, never
// in a loop (see DESIGN "Known traps").
func (s *Store) readOwnPending(ctx context.Context, stream, group, consumer, after string, count int64) ([]Delivery, error) {
	out, err := s.readGroup(ctx, groupRead{Stream: stream, Group: group, Consumer: consumer, Start: after, Count: count})
	if err != nil {
		return nil, fmt.Errorf("read pending %s/%s: %w", group, consumer, err)
	}
	if err := s.setDeliveries(ctx, group, consumer, out); err != nil {
		return nil, fmt.Errorf("read pending %s/%s: %w", group, consumer, err)
	}
	return out, nil
}
