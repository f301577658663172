package streams

import (
	"context"
	"errors"
	"fmt"

	"claimsctl/streams/claims"
	"claimsctl/streams/redisconn"

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

// rebuildChunk is how many events one pipeline of RebuildReadModel
// projects.
const rebuildChunk = 500

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
	var stale []string
	views := 0
	for _, pk := range s.keys.All() {
		found, err := redisconn.ScanAll(ctx, s.rdb, redisconn.GlobEscape(pk.ReadModel(""))+"*")
		if err != nil {
			return res, fmt.Errorf("rebuild read model: %w", err)
		}
		views += len(found)
		stale = append(append(stale, found...), pk.AdjusterLoad())
	}
	if _, err := redisconn.Unlink(ctx, s.rdb, stale); err != nil {
		return res, fmt.Errorf("rebuild read model: %w", err)
	}
	res.Deleted = views
	seen := map[string]bool{}
	var page []claims.Event
	flush := func() error {
		effects := make([]Effect, len(page))
		for i, e := range page {
			allowed, op, adjuster, fields := claims.ReadModelUpdate(e)
			pk := s.keys.ForClaim(e.ClaimID)
			effects[i] = ProjectCall{
				ReadModel: pk.ReadModel(e.ClaimID), AdjusterLoad: pk.AdjusterLoad(),
				Version: e.Version, Allowed: allowed, Op: op, Adjuster: adjuster, Fields: fields,
			}.Effect()
		}
		replies, errs, err := s.RunAll(ctx, nil, effects)
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
	err := s.Replay(ctx, ReplayOptions{}, func(d Delivery) error {
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
