package streams

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"

	"claimsctl/streams/claims"

	"github.com/redis/go-redis/v9"
)

// analyticsScript counts one event into claims:stats, once. Next to the
// counters it keeps, per claim, the last counted version, status,
// submission time and adjuster (claims:stats:claims): the version makes a
// redelivery a no-op (the same guard as the read model, and unlike a set of
// entry ids it also recognises an event re-appended from the DLQ under a
// new id), and the rest is what moving a claim between status counters and
// timing it needs.
//
// KEYS[1] stats hash, KEYS[2] per-claim state hash
// ARGV[1] claim id, ARGV[2] version, ARGV[3] new status ("" unchanged),
// ARGV[4] occurred_at in ms, ARGV[5] adjuster ("" unless assigned),
// ARGV[6] "1" if this decides the claim, ARGV[7] "1" if it pays it,
// ARGV[8] "1" if it closes it (rejected, paid),
// ARGV[9..] triples of kind (i|f), field, increment.
// Reply: {'ok', previous status} | {'skip'|'gap', counted version}.
var analyticsScript = redis.NewScript(`
local ver, status, sub, adj = 0, '', '', ''
local st = redis.call('HGET', KEYS[2], ARGV[1])
if st then
  local a, b, c, d = string.match(st, '^(%d+)|([^|]*)|([^|]*)|(.*)$')
  ver, status, sub, adj = tonumber(a), b, c, d
end
local v = tonumber(ARGV[2])
if v <= ver then return {'skip', tostring(ver)} end
if v > ver + 1 then return {'gap', tostring(ver)} end
local prev = status
local at = tonumber(ARGV[4])
if ARGV[3] ~= '' and ARGV[3] ~= status then
  if status ~= '' then redis.call('HINCRBY', KEYS[1], 'status:' .. status, -1) end
  redis.call('HINCRBY', KEYS[1], 'status:' .. ARGV[3], 1)
  status = ARGV[3]
end
if v == 1 then sub = ARGV[4] end
if ARGV[5] ~= '' and ARGV[5] ~= adj then
  if adj ~= '' then redis.call('HINCRBY', KEYS[1], 'adjuster:' .. adj .. ':open', -1) end
  redis.call('HINCRBY', KEYS[1], 'adjuster:' .. ARGV[5] .. ':assigned', 1)
  redis.call('HINCRBY', KEYS[1], 'adjuster:' .. ARGV[5] .. ':open', 1)
  adj = ARGV[5]
end
if sub ~= '' and ARGV[6] == '1' then
  redis.call('HINCRBY', KEYS[1], 'processing_ms:sum', at - tonumber(sub))
  redis.call('HINCRBY', KEYS[1], 'processing:count', 1)
end
if sub ~= '' and ARGV[7] == '1' then
  redis.call('HINCRBY', KEYS[1], 'resolution_ms:sum', at - tonumber(sub))
  redis.call('HINCRBY', KEYS[1], 'resolution:count', 1)
end
if adj ~= '' and ARGV[8] == '1' then
  redis.call('HINCRBY', KEYS[1], 'adjuster:' .. adj .. ':open', -1)
  redis.call('HINCRBY', KEYS[1], 'adjuster:' .. adj .. ':resolved', 1)
end
for i = 9, #ARGV, 3 do
  if ARGV[i] == 'f' then
    redis.call('HINCRBYFLOAT', KEYS[1], ARGV[i + 1], ARGV[i + 2])
  else
    redis.call('HINCRBY', KEYS[1], ARGV[i + 1], ARGV[i + 2])
  end
end
redis.call('HSET', KEYS[2], ARGV[1], v .. '|' .. status .. '|' .. sub .. '|' .. adj)
return {'ok', prev}
`)

// AnalyticsOptions tune the analytics worker.
type AnalyticsOptions struct {
	// SnapshotEvery appends a snapshot to claims:analytics after this many
	// counted events (default 10); one more is appended when the worker stops.
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
		o.SnapshotEvery = 10
	}
	return &Analytics{s: s, every: o.SnapshotEvery}
}

// Name is the group: analytics.
func (a *Analytics) Name() string { return GroupAnalytics }

// Label names the worker in the log.
func (a *Analytics) Label() string { return "analytics" }

// Handle counts the event unless it was counted before.
func (a *Analytics) Handle(ctx context.Context, d Delivery) (string, error) {
	e := d.Event
	newStatus := claims.NextStatus(claims.StatusNone, e)
	flag := func(b bool) string {
		if b {
			return "1"
		}
		return "0"
	}
	adjuster := ""
	if e.Type == claims.ClaimAssigned {
		adjuster = e.String("adjuster")
	}
	num := func(k string) string { return strconv.FormatFloat(e.Number(k), 'f', -1, 64) }
	args := []any{
		e.ClaimID, e.Version, string(newStatus), e.OccurredAt.UnixMilli(), adjuster,
		flag(e.Type == claims.ClaimApproved || e.Type == claims.ClaimRejected),
		flag(e.Type == claims.PaymentCompleted),
		flag(newStatus.Final()),
		"i", "events", 1,
		"i", "event:" + string(e.Type), 1,
	}
	switch e.Type {
	case claims.ClaimSubmitted:
		args = append(args,
			"i", "claims", 1,
			"i", "claim_type:"+e.String("claim_type"), 1,
			"i", "hour:"+e.OccurredAt.UTC().Format("2006-01-02T15"), 1,
			"f", "amount:claimed", num("amount"))
	case claims.ClaimApproved:
		args = append(args, "f", "amount:approved", num("approved_amount"))
	case claims.ClaimRejected:
		if c := e.String("code"); c != "" {
			args = append(args, "i", "rejection:"+c, 1)
		}
	case claims.PaymentCompleted:
		args = append(args, "f", "amount:paid", num("amount"))
	}
	reply, err := analyticsScript.Run(ctx, a.s.rdb, []string{a.s.keys.Stats(), a.s.keys.StatsClaims()}, args...).StringSlice()
	if err != nil {
		return "", fmt.Errorf("count %s v%d of %s: %w", e.Type, e.Version, claims.Short(e.ClaimID), err)
	}
	if len(reply) != 2 {
		return "", fmt.Errorf("count %s: unexpected script reply %v", e.ID, reply)
	}
	switch reply[0] {
	case "skip":
		return fmt.Sprintf("already counted (claim counted up to v%s)", reply[1]), nil
	case "gap":
		return "", fmt.Errorf("count %s v%d of %s: counted up to v%s: %w", e.Type, e.Version, claims.Short(e.ClaimID), reply[1], claims.ErrOutOfOrder)
	}
	summary := "counted"
	if newStatus != claims.StatusNone && claims.Status(reply[1]) != newStatus {
		summary = fmt.Sprintf("counted; status %s -> %s", claims.Status(reply[1]), newStatus)
	}
	a.mu.Lock()
	a.since++
	due := a.since >= a.every
	a.mu.Unlock()
	if due {
		id, err := a.snapshot(ctx)
		if err != nil {
			// The event is counted; the next one tries the snapshot again.
			return summary + "; snapshot failed: " + err.Error(), nil
		}
		summary += "; snapshot " + id
	}
	return summary, nil
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

// Stats reads the analytics counters.
func (s *Store) Stats(ctx context.Context) (claims.Stats, error) {
	raw, err := s.rdb.HGetAll(ctx, s.keys.Stats()).Result()
	if err != nil {
		return claims.Stats{}, fmt.Errorf("read %s: %w", s.keys.Stats(), err)
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
	id, err := s.rdb.XAdd(ctx, &redis.XAddArgs{Stream: s.keys.Analytics(), Values: []any{
		"at", s.now().Format(claims.TimeLayout),
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
	}}).Result()
	if err != nil {
		return "", fmt.Errorf("snapshot to %s: %w", s.keys.Analytics(), err)
	}
	return id, nil
}
