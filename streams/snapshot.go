package streams

import (
	"context"
	"fmt"
	"sync"

	"github.com/redis/go-redis/v9"

	"claimsctl/streams/claims"
	"claimsctl/streams/redisconn"
)

// What a worker's batch reads before its handler decides: the claims'
// aggregates and the keys the handler asks for (a Snapshot), and the vet
// that sets aside entries the store did not write.

// ReadSnapshot reads, in one pipeline, the aggregates of claimIDs and reads.
// A Read.LastKnown key whose node is unreachable is taken from known if it
// is there (and known is updated with what was read).
func (s *Store) ReadSnapshot(ctx context.Context, claimIDs []string, reads []Read, known *LastKnown) (*Snapshot, error) {
	snap := &Snapshot{
		keys:   s.keys,
		hashes: map[string]map[string]string{}, members: map[string][]string{},
		scores: map[string]map[string]float64{}, aggregates: map[string]aggregate{},
	}
	if len(claimIDs) == 0 && len(reads) == 0 {
		return snap, nil
	}
	pipe := s.rdb.Pipeline()
	// Only what the integrity rule reads, not the whole aggregate.
	aggs := make([]*redis.SliceCmd, len(claimIDs))
	for i, id := range claimIDs {
		aggs[i] = pipe.HMGet(ctx, s.keys.Aggregate(id), "version", "entries")
	}
	cmds := make([]redis.Cmder, len(reads))
	for i, r := range reads {
		switch r.Kind {
		case readHash:
			cmds[i] = pipe.HGetAll(ctx, r.Key)
		case readMembers:
			cmds[i] = pipe.SMembers(ctx, r.Key)
		case readScores:
			cmds[i] = pipe.ZRangeWithScores(ctx, r.Key, 0, -1)
		}
	}
	fromKnown := map[string]any{}
	if _, err := pipe.Exec(ctx); err != nil && redisconn.Classify(err) != redisconn.KindNil {
		for _, c := range aggs {
			if failed(c.Err()) {
				return nil, fmt.Errorf("read for the batch: %w", c.Err())
			}
		}
		for i, r := range reads {
			e := cmds[i].Err()
			if !failed(e) {
				continue
			}
			v, ok := known.get(r.Key)
			if !ok || !r.LastKnown || !redisconn.Transient(e) {
				return nil, fmt.Errorf("read %s for the batch: %w", r.Key, e)
			}
			fromKnown[r.Key] = v
			snap.lastKnown = append(snap.lastKnown, r.Key)
			snap.why = e.Error()
		}
	}
	for i, id := range claimIDs {
		fields := map[string]string{}
		for j, name := range []string{"version", "entries"} {
			if v, ok := aggs[i].Val()[j].(string); ok {
				fields[name] = v
			}
		}
		snap.aggregates[id] = parseAggregateFields(fields)
	}
	for i, r := range reads {
		var v any
		switch c := cmds[i].(type) {
		case *redis.MapStringStringCmd:
			v = c.Val()
		case *redis.StringSliceCmd:
			v = c.Val()
		case *redis.ZSliceCmd:
			m := map[string]float64{}
			for _, z := range c.Val() {
				name, _ := z.Member.(string)
				m[name] = z.Score
			}
			v = m
		}
		if old, ok := fromKnown[r.Key]; ok {
			v = old
		} else if r.LastKnown {
			known.remember(r.Key, v)
		}
		switch v := v.(type) {
		case map[string]string:
			snap.hashes[r.Key] = v
		case []string:
			snap.members[r.Key] = v
		case map[string]float64:
			snap.scores[r.Key] = v
		}
	}
	return snap, nil
}

// LastKnown is the last value read of each Read.LastKnown key, by key.
// A nil *LastKnown knows nothing.
type LastKnown struct {
	mu     sync.Mutex
	values map[string]any
}

// maxLastKnown bounds lastKnown (policies are the many): past it, keys not
// yet known are not remembered.
const maxLastKnown = 10000

func NewLastKnown() *LastKnown { return &LastKnown{values: map[string]any{}} }

func (k *LastKnown) get(key string) (any, bool) {
	if k == nil {
		return nil, false
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	v, ok := k.values[key]
	return v, ok
}

func (k *LastKnown) remember(key string, v any) {
	if k == nil {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.values[key]; ok || len(k.values) < maxLastKnown {
		k.values[key] = v
	}
}

// Vet applies the integrity rule (see vet) to d, a delivery of the batch
// the snapshot was read for.
func (s *Snapshot) Vet(d Delivery) error { return s.keys.vet(d, s.aggregates[d.Event.ClaimID]) }

// Stale names the Read.LastKnown keys the snapshot took from memory, their
// node being unreachable, and why (none: every read is current).
func (s *Snapshot) Stale() (keys []string, why string) { return s.lastKnown, s.why }

// failed reports an error that is more than "nothing there".
func failed(err error) bool { return err != nil && redisconn.Classify(err) != redisconn.KindNil }

// vetAll applies the integrity rule to deliveries read outside a worker
// (replay, report), reading their claims' aggregates in one pipeline.
func vetAll(ctx context.Context, s *Store, ds []Delivery) error {
	var ids []string
	seen := map[string]bool{}
	for _, d := range ds {
		if d.Err == nil && !seen[d.Event.ClaimID] {
			seen[d.Event.ClaimID] = true
			ids = append(ids, d.Event.ClaimID)
		}
	}
	snap, err := s.ReadSnapshot(ctx, ids, nil, nil)
	if err != nil {
		return err
	}
	for i := range ds {
		if ds[i].Err == nil {
			ds[i].Err = s.keys.vet(ds[i], snap.aggregates[ds[i].Event.ClaimID])
		}
	}
	return nil
}

// vet applies the integrity rule before any handler sees an entry: an
// entry counts only if the store wrote it, that is if its entry id is the
// one the claim's aggregate recorded for its version (for an entry of a
// retry stream, the entry it hands back). Another tool's XADD (a claim, a
// version or an entry the store has no record of) is refused with the
// reason and goes to the DLQ; it is never projected, counted, notified or
// audited. With partitions the entry must also be in its claim's stream:
// another partition may hold an entry under the same id.
func (k Keys) vet(d Delivery, agg aggregate) error {
	e := d.Event
	home := k.ForClaim(e.ClaimID)
	stream := home.Events()
	if d.RetryOf != "" {
		group, _ := k.RetryGroup(d.Stream)
		stream = home.Retry(group)
	}
	switch rec := agg.recorded(e.Version); {
	case d.Stream != "" && d.Stream != stream:
		return &claims.MalformedError{ID: d.ID, NotWritten: true, Reason: fmt.Sprintf("claim %s's events are in %s, not %s", claims.Short(e.ClaimID), stream, d.Stream)}
	case rec == e.ID:
		return nil
	case !agg.exists:
		return &claims.MalformedError{ID: d.ID, NotWritten: true, UnknownClaim: true, Reason: fmt.Sprintf("claim %s was never written through the event store (no %s)", claims.Short(e.ClaimID), k.Aggregate(e.ClaimID))}
	case rec == "":
		return &claims.MalformedError{ID: d.ID, NotWritten: true, Reason: fmt.Sprintf("it claims to be v%d of claim %s, but the store wrote that claim only up to v%d", e.Version, claims.Short(e.ClaimID), agg.version)}
	default:
		return &claims.MalformedError{ID: d.ID, NotWritten: true, Reason: fmt.Sprintf("it claims to be v%d of claim %s, but the store wrote v%d as %s", e.Version, claims.Short(e.ClaimID), e.Version, rec)}
	}
}
