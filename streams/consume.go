package streams

import (
	"context"
	"fmt"
	"time"

	"claimsctl/streams/claims"
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

// EnsureGroup creates a consumer group on claims:events (and the stream
// itself) if missing. New groups start at the beginning of the stream, so
// a worker started late still sees every claim.
func (s *Store) EnsureGroup(ctx context.Context, group string) error {
	return s.ensureGroup(ctx, s.keys.Events(), group)
}

func (s *Store) ensureGroup(ctx context.Context, stream, group string) error {
	if err := claims.ValidName("group", group); err != nil {
		return err
	}
	err := s.rdb.XGroupCreateMkStream(ctx, stream, group, "0").Err()
	if err != nil && classify(err) != errBusyGroup {
		return fmt.Errorf("create group %s on %s: %w", group, stream, err)
	}
	return nil
}

// Consume reads entries of claims:events for one consumer of a group,
// creating the group if needed.
func (s *Store) Consume(ctx context.Context, group, consumer string, opts ConsumeOptions) ([]Delivery, error) {
	return s.consumeStream(ctx, s.keys.Events(), group, consumer, opts)
}

func (s *Store) consumeStream(ctx context.Context, stream, group, consumer string, opts ConsumeOptions) ([]Delivery, error) {
	if err := claims.ValidName("consumer", consumer); err != nil {
		return nil, fmt.Errorf("consume %s/%s: %w", group, consumer, err)
	}
	if err := s.ensureGroup(ctx, stream, group); err != nil {
		return nil, fmt.Errorf("consume %s/%s: %w", group, consumer, err)
	}
	if opts.Count <= 0 {
		opts.Count = 10
	}
	start := ">"
	if opts.Pending {
		start = "0"
	}
	ds, err := s.readGroup(ctx, groupRead{Stream: stream, Group: group, Consumer: consumer, Start: start, Count: opts.Count, Block: opts.Block})
	if err == nil && stream == s.keys.Events() {
		// What a student's consumer sees follows the workers' rule.
		err = s.vetAll(ctx, ds)
	}
	return ds, err
}

// Ack acknowledges entries for a group and returns how many were pending.
func (s *Store) Ack(ctx context.Context, group string, ids ...string) (int64, error) {
	return s.ackStream(ctx, s.keys.Events(), group, ids...)
}

func (s *Store) ackStream(ctx context.Context, stream, group string, ids ...string) (int64, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	for _, id := range ids {
		if !claims.ValidStreamID(id) {
			return 0, fmt.Errorf("ack %s: %q is not a stream id like 1795597353284-0: %w", group, id, claims.ErrInvalid)
		}
	}
	n, err := s.rdb.XAck(ctx, stream, group, ids...).Result()
	if err != nil {
		return 0, fmt.Errorf("ack %s: %w", group, err)
	}
	return n, nil
}
