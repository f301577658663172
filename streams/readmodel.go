package streams

import (
	"context"
	"errors"
	"fmt"
	"strings"

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
// adjuster.
func (s *Store) AdjusterLoads(ctx context.Context) (map[string]int64, error) {
	zs, err := s.rdb.ZRangeWithScores(ctx, s.keys.AdjusterLoad(), 0, -1).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("adjuster load: %w", err)
	}
	out := make(map[string]int64, len(zs))
	for _, z := range zs {
		name, _ := z.Member.(string)
		out[name] = int64(z.Score)
	}
	return out, nil
}

// ReadModelResult says what RebuildReadModel did.
type ReadModelResult struct {
	Deleted int // read-model hashes (claim:<id>) removed first
	Events  int // events projected again
	Claims  int // read-model hashes written
	Gaps    int // events skipped because the claim's earlier events are gone (trimmed)
}

// RebuildReadModel throws the processor's projection away (the claim:<id>
// hashes and the adjusters' load) and projects every event of
// claims:events again, a page at a time in one pipeline each: the CQRS read
// side is disposable, the events are the truth. Stop the processor first;
// it would race with the rebuild.
func (s *Store) RebuildReadModel(ctx context.Context) (ReadModelResult, error) {
	var res ReadModelResult
	views, err := s.ScanKeys(ctx, strings.TrimPrefix(s.keys.ReadModel("*"), s.keys.Prefix))
	if err != nil {
		return res, fmt.Errorf("rebuild read model: %w", err)
	}
	stale := []string{s.keys.AdjusterLoad()}
	for _, k := range views {
		stale = append(stale, s.keys.Prefix+k)
	}
	for len(stale) > 0 {
		n := min(len(stale), 500)
		if err := s.rdb.Del(ctx, stale[:n]...).Err(); err != nil {
			return res, fmt.Errorf("rebuild read model: %w", err)
		}
		stale = stale[n:]
	}
	res.Deleted = len(views)
	seen := map[string]bool{}
	var page []claims.Event
	flush := func() error {
		effects := make([]Effect, len(page))
		for i, e := range page {
			allowed, op, adjuster, fields := claims.ReadModelUpdate(e)
			effects[i] = projectCall{
				ReadModel: s.keys.ReadModel(e.ClaimID), AdjusterLoad: s.keys.AdjusterLoad(),
				Version: e.Version, Allowed: allowed, Op: op, Adjuster: adjuster, Fields: fields,
			}.effect()
		}
		replies, errs, err := s.runAll(ctx, nil, effects)
		if err != nil {
			return err
		}
		for i, e := range page {
			switch {
			case errs[i] != nil:
				return errs[i]
			case replies[i].Status == "gap":
				res.Gaps++
			case replies[i].Status == "ok":
				res.Events++
				if !seen[e.ClaimID] {
					seen[e.ClaimID] = true
					res.Claims++
				}
			}
		}
		page = page[:0]
		return nil
	}
	err = s.Replay(ctx, ReplayOptions{}, func(d Delivery) error {
		if d.Err != nil {
			return nil
		}
		page = append(page, d.Event)
		if len(page) == rebuildChunk {
			return flush()
		}
		return nil
	})
	if err == nil && len(page) > 0 {
		err = flush()
	}
	if err != nil {
		return res, fmt.Errorf("rebuild read model: %w", err)
	}
	return res, nil
}
