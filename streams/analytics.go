package streams

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"

	"github.com/redis/go-redis/v9"

	"claimsctl/streams/claims"
)

// DefaultSnapshotEvery is how many counted events the analytics worker
// lets pass between two snapshots.
const DefaultSnapshotEvery = 10

// AnalyticsOptions tune the analytics worker.
type AnalyticsOptions struct {
	// SnapshotEvery appends a snapshot to claims:analytics once this many
	// events were counted since the last one, at most one per batch
	// (default 10); one more is appended when the worker stops.
	SnapshotEvery int
}

// Analytics is the analytics group's worker: it counts events into
// claims:stats (per type, status, claim type, hour; amounts; processing
// and resolution times; adjuster workload) and appends snapshots to
// claims:analytics.
type Analytics struct {
	s     *Store
	every int
	mu    sync.Mutex
	since int // events counted since the last snapshot
}

// NewAnalytics returns the analytics worker's handler.
func (s *Store) NewAnalytics(o AnalyticsOptions) *Analytics {
	if o.SnapshotEvery <= 0 {
		o.SnapshotEvery = DefaultSnapshotEvery
	}
	return &Analytics{s: s, every: o.SnapshotEvery}
}

// Group is analytics.
func (a *Analytics) Group() string { return GroupAnalytics }

// Label names the worker in the log.
func (a *Analytics) Label() string { return "analytics" }

// Needs nothing: count.lua reads what it moves.
func (a *Analytics) Needs([]Delivery) []Read { return nil }

// Decide counts each event once (count.lua skips what it counted before).
func (a *Analytics) Decide(_ context.Context, batch []Delivery, _ *Snapshot) []Decision {
	out := make([]Decision, len(batch))
	for i, d := range batch {
		e := d.Event
		tally := claims.TallyOf(e)
		pk := a.s.keys.ForClaim(e.ClaimID)
		eff := countCall{
			Stats: pk.Stats(), StatsClaims: pk.StatsClaims(),
			ClaimID: e.ClaimID, Version: e.Version, AtMillis: e.OccurredAt.UnixMilli(), Tally: tally,
		}.effect()
		out[i] = Decision{Effects: []Effect{eff}, Explain: func(r []Reply) (string, error) {
			switch r[0].Status {
			case "skip":
				return fmt.Sprintf("already counted (claim counted up to v%s)", r[0].Detail), nil
			case "gap":
				return "", fmt.Errorf("count %s v%d of %s: counted up to v%s: %w", e.Type, e.Version, claims.Short(e.ClaimID), r[0].Detail, claims.ErrOutOfOrder)
			case "ok":
				a.counted(1)
				if prev := claims.Status(r[0].Detail); tally.NewStatus != claims.StatusNone && prev != tally.NewStatus {
					return fmt.Sprintf("counted; status %s -> %s", prev, tally.NewStatus), nil
				}
				return "counted", nil
			}
			return "", fmt.Errorf("count %s: unexpected script reply %v", e.ID, r[0])
		}}
	}
	return out
}

func (a *Analytics) counted(n int) {
	a.mu.Lock()
	a.since += n
	a.mu.Unlock()
}

// afterBatch appends a snapshot once enough events were counted.
func (a *Analytics) afterBatch(ctx context.Context, _ int) string {
	a.mu.Lock()
	due := a.since >= a.every
	a.mu.Unlock()
	if !due {
		return ""
	}
	id, err := a.snapshot(ctx)
	if err != nil {
		// The events are counted; the next batch tries the snapshot again.
		return "snapshot failed: " + err.Error()
	}
	return "snapshot " + id
}

// Flush appends a last snapshot if anything was counted since the previous one.
func (a *Analytics) Flush(ctx context.Context) error {
	a.mu.Lock()
	pending := a.since > 0
	a.mu.Unlock()
	if !pending {
		return nil
	}
	_, err := a.snapshot(ctx)
	return err
}

func (a *Analytics) snapshot(ctx context.Context) (string, error) {
	id, err := a.s.SnapshotStats(ctx)
	if err != nil {
		return "", err
	}
	a.mu.Lock()
	a.since = 0
	a.mu.Unlock()
	return id, nil
}

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
	now := s.now()
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
	if at := s.entryAt(now); at != "" {
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
