package workers

import (
	"context"
	"errors"
	"fmt"
	"time"

	"claimsctl/streams"
	"claimsctl/streams/claims"
	"claimsctl/streams/redisconn"

	"github.com/redis/go-redis/v9"
)

// Defaults of recovery and the dead-letter limit.
const (
	defaultRecoverCount = 100
	// maxAutoClaimCalls bounds one Recover: XAUTOCLAIM scans at most
	// 10×COUNT entries of the PEL per call and hands back a cursor.
	maxAutoClaimCalls = 10
)

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
	Claimed []streams.Delivery
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
func Recover(ctx context.Context, s *streams.Store, group, consumer string, o RecoverOptions) (RecoverResult, error) {
	var res RecoverResult
	for _, stream := range s.Keys().EventStreams() {
		part, err := recoverStream(ctx, s, stream, group, consumer, o)
		if err != nil {
			return res, err
		}
		res.Claimed = append(res.Claimed, part.Claimed...)
		res.DeletedIDs = append(res.DeletedIDs, part.DeletedIDs...)
	}
	return res, nil
}

// recoverStream is Recover on one partition's stream.
func recoverStream(ctx context.Context, s *streams.Store, stream, group, consumer string, o RecoverOptions) (RecoverResult, error) {
	fail := func(err error) (RecoverResult, error) {
		return RecoverResult{}, fmt.Errorf("recover %s/%s: %w", group, consumer, err)
	}
	if err := claims.ValidName("consumer", consumer); err != nil {
		return fail(err)
	}
	if o.MinIdle <= 0 {
		o.MinIdle = streams.DefaultMinIdle
	}
	if o.Count <= 0 {
		o.Count = defaultRecoverCount
	}
	idle, err := s.Client().XPendingExt(ctx, &redis.XPendingExtArgs{
		Stream: stream, Group: group, Idle: o.MinIdle, Start: "-", End: "+", Count: 1,
	}).Result()
	if err != nil {
		if redisconn.Missing(err) {
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
		msgs, next, deleted, err := s.Client().XAutoClaimWithDeleted(ctx, &redis.XAutoClaimArgs{
			Stream: stream, Group: group, Consumer: consumer,
			MinIdle: o.MinIdle, Start: start, Count: o.Count - int64(len(res.Claimed)),
		}).Result()
		if err != nil {
			return fail(err)
		}
		for _, m := range msgs {
			res.Claimed = append(res.Claimed, s.DecodeDelivery(stream, m))
		}
		res.DeletedIDs = append(res.DeletedIDs, deleted...)
		if next == "0-0" || int64(len(res.Claimed)) >= o.Count {
			break
		}
		start = next
	}
	if err := setDeliveries(ctx, s, group, consumer, res.Claimed); err != nil {
		return fail(err)
	}
	return res, nil
}

// setDeliveries fills in each delivery's count from XPENDING (XAUTOCLAIM
// and XREADGROUP 0 do not report it), one pipelined XPENDING per entry.
func setDeliveries(ctx context.Context, s *streams.Store, group, consumer string, ds []streams.Delivery) error {
	if len(ds) == 0 {
		return nil
	}
	pipe := s.Client().Pipeline()
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
func readOwnPending(ctx context.Context, s *streams.Store, stream, group, consumer, after string, count int64) ([]streams.Delivery, error) {
	out, err := s.ReadGroup(ctx, streams.GroupRead{Stream: stream, Group: group, Consumer: consumer, Start: after, Count: count})
	if err != nil {
		return nil, fmt.Errorf("read pending %s/%s: %w", group, consumer, err)
	}
	if err := setDeliveries(ctx, s, group, consumer, out); err != nil {
		return nil, fmt.Errorf("read pending %s/%s: %w", group, consumer, err)
	}
	return out, nil
}
