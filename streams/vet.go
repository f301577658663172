package streams

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"claimsctl/streams/claims"

	"github.com/redis/go-redis/v9"
)

// vetDeliveries marks, before any handler sees them, the well-formed
// entries that the event store did not write: another tool's XADD of an
// event whose payload breaks its schema, or of a claim (or a version of
// one) the store has no record of. Such an entry gets Err set, so the
// worker dead-letters it at once instead of counting it in analytics or
// retrying it for minutes. One pipelined round trip per batch.
func (s *Store) vetDeliveries(ctx context.Context, ds []Delivery) {
	pipe := s.rdb.Pipeline()
	versions := make([]*redis.StringCmd, len(ds))
	for i, d := range ds {
		if d.Err == nil && len(d.Fields) > 0 {
			versions[i] = pipe.HGet(ctx, s.keys.Aggregate(d.Event.ClaimID), "version")
		}
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return // Redis trouble: the handlers meet it and retry
	}
	for i := range ds {
		d := &ds[i]
		if versions[i] == nil {
			continue
		}
		if err := claims.ValidateData(d.Event.Type, d.Event.Data, s.now()); err != nil {
			d.Err = &claims.MalformedError{ID: d.ID, Reason: "its payload is invalid: " + strings.TrimSuffix(err.Error(), " (nothing written)")}
			continue
		}
		raw, err := versions[i].Result()
		known, _ := strconv.ParseInt(raw, 10, 64)
		switch {
		case errors.Is(err, redis.Nil):
			d.Err = &claims.MalformedError{ID: d.ID, Reason: fmt.Sprintf("claim %s was never written through the event store (no %s)", claims.Short(d.Event.ClaimID), s.keys.Aggregate(d.Event.ClaimID))}
		case err == nil && d.Event.Version > known:
			d.Err = &claims.MalformedError{ID: d.ID, Reason: fmt.Sprintf("claim %s is at version %d in the event store; this entry says version %d", claims.Short(d.Event.ClaimID), known, d.Event.Version)}
		}
	}
}
