package streams

import (
	"context"
	"errors"
	"fmt"

	"claimsctl/streams/claims"

	"github.com/redis/go-redis/v9"
)

// ClaimView reads a claim's read model, the processor's projection
// (claim:<id>), or ErrNotFound if the processor has not seen the claim.
func (s *Store) ClaimView(ctx context.Context, claimID string) (map[string]string, error) {
	fields, err := s.rdb.HGetAll(ctx, s.keys.ReadModel(claimID)).Result()
	if err != nil {
		return nil, fmt.Errorf("read model of %s: %w", claimID, err)
	}
	if len(fields) == 0 {
		return nil, fmt.Errorf("read model of %s: %w", claimID, claims.ErrNotFound)
	}
	return fields, nil
}

// AdjusterLoads reads the processor's adjuster workload: open claims per
// adjuster, summed over the partitions.
func (s *Store) AdjusterLoads(ctx context.Context) (map[string]int64, error) {
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.ZSliceCmd, s.keys.Partitions())
	for p, pk := range s.keys.All() {
		cmds[p] = pipe.ZRangeWithScores(ctx, pk.AdjusterLoad(), 0, -1)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("adjuster load: %w", err)
	}
	out := map[string]int64{}
	for _, c := range cmds {
		for _, z := range c.Val() {
			name, _ := z.Member.(string)
			out[name] += int64(z.Score)
		}
	}
	return out, nil
}
