package workers

import (
	"encoding/json"
	"strconv"

	"context"
	"fmt"
	"github.com/redis/go-redis/v9"
	"sync"

	"claimsctl/streams"
	"claimsctl/streams/claims"
	"claimsctl/streams/scripts"
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
	s     *streams.Store
	every int
	mu    sync.Mutex
	since int // events counted since the last snapshot
}

// NewAnalytics returns the analytics worker's handler.
func NewAnalytics(s *streams.Store, o AnalyticsOptions) *Analytics {
	if o.SnapshotEvery <= 0 {
		o.SnapshotEvery = DefaultSnapshotEvery
	}
	return &Analytics{s: s, every: o.SnapshotEvery}
}

// Group is analytics.
func (a *Analytics) Group() string { return streams.GroupAnalytics }

// Label names the worker in the log.
func (a *Analytics) Label() string { return "analytics" }

// Needs nothing: count.lua reads what it moves.
func (a *Analytics) Needs([]streams.Delivery) []streams.Read { return nil }

// Decide counts each event once (count.lua skips what it counted before).
func (a *Analytics) Decide(_ context.Context, batch []streams.Delivery, _ *streams.Snapshot) []Decision {
	out := make([]Decision, len(batch))
	for i, d := range batch {
		e := d.Event
		tally := claims.TallyOf(e)
		pk := a.s.Keys().ForClaim(e.ClaimID)
		eff := scripts.CountCall{
			Stats: pk.Stats(), StatsClaims: pk.StatsClaims(),
			ClaimID: e.ClaimID, Version: e.Version, AtMillis: e.OccurredAt.UnixMilli(), Tally: tally,
		}.Effect()
		out[i] = Decision{Effects: []scripts.Effect{eff}, Explain: func(r []scripts.Reply) (string, error) {
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

// AfterBatch appends a snapshot once enough events were counted.
func (a *Analytics) AfterBatch(ctx context.Context, _ int) string {
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
	id, err := snapshotStats(ctx, a.s)
	if err != nil {
		return "", err
	}
	a.mu.Lock()
	a.since = 0
	a.mu.Unlock()
	return id, nil
}

// snapshotStats appends the current counters to claims:analytics: the
// headline figures as flat fields (readable in redis-cli and Redis
// Insight) and everything as JSON in the field stats. It returns the id.
func snapshotStats(ctx context.Context, s *streams.Store) (string, error) {
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
	args := &redis.XAddArgs{Stream: s.Keys().Analytics(), Values: []any{
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
		id, err = s.Client().XAdd(ctx, args).Result()
		args.ID = ""
	}
	if id == "" {
		id, err = s.Client().XAdd(ctx, args).Result()
	}
	if err != nil {
		return "", fmt.Errorf("snapshot to %s: %w", s.Keys().Analytics(), err)
	}
	return id, nil
}
