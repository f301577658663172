package streams

import (
	"context"
	"encoding/json"
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

// SnapshotStats appends the current counters to claims:analytics: the
// headline figures as flat fields (readable in redis-cli and Redis
// Insight) and everything as JSON in the field stats. It returns the id.
func (s *Store) SnapshotStats(ctx context.Context) (string, error) {
	st, err := s.Stats(ctx)
	if err != nil {
		return "", fmt.Errorf("snapshot: %w", err)
	}
	blob, err := json.Marshal(st)
	if err != nil {
		return "", fmt.Errorf("snapshot: encode: %w", err)
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	now := s.Now()
	args := &redis.XAddArgs{Stream: s.keys.Analytics(), Values: []any{
		"at", now.Format(claims.TimeLayout),
		"events", st.Events,
		"claims", st.Claims,
		"decided", st.Decided,
		"rejected", st.ByStatus[string(claims.StatusRejected)],
		"resolved", st.Resolved,
		"claimed_total", f(st.ClaimedTotal),
		"approved_total", f(st.ApprovedTotal),
		"paid_total", f(st.PaidTotal),
		"avg_processing_seconds", f(st.AvgProcessingSec),
		"avg_resolution_seconds", f(st.AvgResolutionSec),
		"stats", string(blob),
	}}
	var id string
	if at := s.EntryAt(now); at != "" {
		// A seeded run dates the entry as the scripts do (xadd in lib.lua),
		// and falls back to Redis's clock when the stream has passed it.
		args.ID = at + "-*"
		id, err = s.rdb.XAdd(ctx, args).Result()
		args.ID = ""
	}
	if id == "" {
		id, err = s.rdb.XAdd(ctx, args).Result()
	}
	if err != nil {
		return "", fmt.Errorf("snapshot to %s: %w", s.keys.Analytics(), err)
	}
	return id, nil
}
