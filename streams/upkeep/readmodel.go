package upkeep

import (
	"context"
	"fmt"

	"claimsctl/streams"
	"claimsctl/streams/claims"
	"claimsctl/streams/redisconn"
	"claimsctl/streams/scripts"
)

// Rebuilding the processor's read model (rebuild_read_model()): the CQRS
// read side, projected again from the events.

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
func RebuildReadModel(ctx context.Context, store *streams.Store) (ReadModelResult, error) {
	s := keeperOf(store)
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
		effects := make([]scripts.Effect, len(page))
		for i, e := range page {
			allowed, op, adjuster, fields := claims.ReadModelUpdate(e)
			pk := s.keys.ForClaim(e.ClaimID)
			effects[i] = scripts.ProjectCall{
				ReadModel: pk.ReadModel(e.ClaimID), AdjusterLoad: pk.AdjusterLoad(),
				Version: e.Version, Allowed: allowed, Op: op, Adjuster: adjuster, Fields: fields,
			}.Effect()
		}
		replies, errs, err := store.RunAll(ctx, nil, effects)
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
	err := store.Replay(ctx, streams.ReplayOptions{}, func(d streams.Delivery) error {
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
