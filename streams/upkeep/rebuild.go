package upkeep

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"

	"claimsctl/streams"
	"claimsctl/streams/claims"

	"github.com/redis/go-redis/v9"
)

// Rebuilding the aggregates (rebuild()): the write side, folded again from
// the events.

// rebuildChunk is how many aggregates (or read-model events) one pipeline
// writes.
const rebuildChunk = 500

// maxRebuildProblems bounds the claims listed by name in a result.
const maxRebuildProblems = 20

// RebuildResult says what Rebuild did.
type RebuildResult struct {
	Claims    int // aggregates written
	Events    int // events folded into them
	Malformed int // entries that are not claim events, skipped
	// NotWritten counts entries of claims the store records that it did
	// not write (another tool's), skipped.
	NotWritten int
	// Broken counts claims whose events do not fold from the start (their
	// first events were trimmed, or an entry written by hand breaks the
	// sequence); their aggregates are left as they were.
	Broken int
	// Skipped counts the events of broken claims.
	Skipped int
	// Newer counts claims a command changed while the rebuild ran; their
	// aggregate, already newer, was left alone.
	Newer int
	// Payments counts the payment ids recorded in claims:payments for the
	// claims rebuilt (an import into an empty keyspace has none);
	// SharedPayments those another claim already held, each a problem.
	Payments, SharedPayments int
	// Problems names broken claims and shared payment ids (at most 20)
	// and why.
	Problems []string
}

// Rebuild recomputes every claim's write-side aggregate (version, folded
// state, entry ids: what the append script keeps) by folding claims:events
// from the start. It restores aggregates after an import into
// claims:events or after they were deleted. It never deletes one.
func Rebuild(ctx context.Context, store *streams.Store) (RebuildResult, error) {
	s := keeperOf(store)
	var res RebuildResult
	type fold struct {
		claim  *claims.Claim
		broken error
		order  int
		last   string // event_id of the last event folded
		// ahead holds events read before an earlier version of their claim
		// (an imported stream need not be in version order): each claim is
		// folded in version order.
		ahead map[int64]claims.Event
	}
	apply := func(f *fold, e claims.Event) bool {
		if err := f.claim.Apply(e); err != nil {
			f.broken = fmt.Errorf("event %s (v%d, %s): %w", e.ID, e.Version, e.Type, err)
			res.Skipped += 1 + len(f.ahead)
			f.ahead = nil
			return false
		}
		f.last = e.EventID
		res.Events++
		return true
	}
	folds := map[string]*fold{}
	err := store.Replay(ctx, streams.ReplayOptions{}, func(d streams.Delivery) error {
		// Where the store still records a claim, only the entries it wrote
		// count; a claim it has no record of is folded from what is there.
		var mal *claims.MalformedError
		if d.Err != nil && !(errors.As(d.Err, &mal) && mal.UnknownClaim) {
			if errors.Is(d.Err, claims.ErrNotWritten) {
				res.NotWritten++
			} else {
				res.Malformed++
			}
			return nil
		}
		e := d.Event
		f := folds[e.ClaimID]
		if f == nil {
			f = &fold{claim: &claims.Claim{}, order: len(folds)}
			folds[e.ClaimID] = f
		}
		if f.broken != nil {
			res.Skipped++
			return nil
		}
		if _, twice := f.ahead[e.Version]; e.Version > f.claim.Version+1 && !twice {
			if f.ahead == nil {
				f.ahead = map[int64]claims.Event{}
			}
			f.ahead[e.Version] = e
			return nil
		}
		for ok := apply(f, e); ok; {
			next, held := f.ahead[f.claim.Version+1]
			if !held {
				break
			}
			delete(f.ahead, next.Version)
			ok = apply(f, next)
		}
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("rebuild: %w", err)
	}
	for _, f := range folds {
		if f.broken == nil && len(f.ahead) > 0 {
			// A version never came: the first event after the gap says so.
			first := f.ahead[slices.Min(slices.Collect(maps.Keys(f.ahead)))]
			delete(f.ahead, first.Version)
			apply(f, first)
		}
	}
	ids := make([]string, 0, len(folds))
	for id := range folds {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(a, b int) bool { return folds[ids[a]].order < folds[ids[b]].order })

	var writes []streams.FoldedAggregate
	for _, id := range ids {
		f := folds[id]
		if f.broken != nil {
			res.Broken++
			// Events of a broken claim folded before the break are not
			// written either: they are not the claim's whole story.
			res.Events -= int(f.claim.Version)
			res.Skipped += int(f.claim.Version)
			if len(res.Problems) < maxRebuildProblems {
				res.Problems = append(res.Problems, fmt.Sprintf("claim %s left as it was: %v", claims.Short(id), f.broken))
			}
			continue
		}
		writes = append(writes, streams.FoldedAggregate{Claim: f.claim, LastEvent: f.last})
	}
	if len(writes) == 0 {
		return res, nil
	}
	for start := 0; start < len(writes); start += rebuildChunk {
		written, err := store.RestoreAggregates(ctx, writes[start:min(start+rebuildChunk, len(writes))])
		if err != nil {
			return res, fmt.Errorf("rebuild: %w", err)
		}
		for _, ok := range written {
			if ok {
				res.Claims++
			} else {
				res.Newer++
			}
		}
	}
	var paid []string
	for _, w := range writes {
		if w.Claim.PaymentID != "" {
			paid = append(paid, w.Claim.ID)
		}
	}
	for start := 0; start < len(paid); start += rebuildChunk {
		chunk := paid[start:min(start+rebuildChunk, len(paid))]
		owners := make([]*redis.StringCmd, len(chunk))
		pipe := s.rdb.Pipeline()
		for i, id := range chunk {
			pipe.HSetNX(ctx, s.keys.Payments(), folds[id].claim.PaymentID, id)
			owners[i] = pipe.HGet(ctx, s.keys.Payments(), folds[id].claim.PaymentID)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return res, fmt.Errorf("rebuild: record payment ids in %s: %w", s.keys.Payments(), err)
		}
		for i, id := range chunk {
			if owner := owners[i].Val(); owner != id {
				res.SharedPayments++
				if len(res.Problems) < maxRebuildProblems {
					res.Problems = append(res.Problems, fmt.Sprintf("claim %s paid with %s, which claim %s holds", claims.Short(id), claims.Quote(folds[id].claim.PaymentID), claims.Short(owner)))
				}
				continue
			}
			res.Payments++
		}
	}
	return res, nil
}
