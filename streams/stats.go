package streams

import (
	"context"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"

	"claimsctl/streams/claims"
)

// Stats reads the analytics counters: every partition's, summed.
func (s *Store) Stats(ctx context.Context) (claims.Stats, error) {
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, s.keys.Partitions())
	for p, pk := range s.keys.All() {
		cmds[p] = pipe.HGetAll(ctx, pk.Stats())
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return claims.Stats{}, fmt.Errorf("read the analytics counters: %w", err)
	}
	sum := map[string]float64{}
	for _, c := range cmds {
		for k, v := range c.Val() {
			f, _ := strconv.ParseFloat(v, 64)
			sum[k] += f
		}
	}
	raw := make(map[string]string, len(sum))
	for k, f := range sum {
		raw[k] = strconv.FormatFloat(f, 'f', -1, 64)
	}
	return claims.ParseStats(raw), nil
}
