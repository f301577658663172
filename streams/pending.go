package streams

import (
	"context"
	"fmt"
	"sort"
	"time"

	"claimsctl/streams/claims"
	"claimsctl/streams/redisconn"
	"claimsctl/streams/streamview"

	"github.com/redis/go-redis/v9"
)

// A group's pending entries (pending()), and when a consumer counts as
// idle for long. Taking entries over (recovery) is streams/workers'.

const (
	// DefaultMinIdle is how long an entry must have been pending before
	// recovery takes it over from its consumer, presumed dead.
	DefaultMinIdle = 30 * time.Second
	// pendingListLimit bounds the entries Pending lists; the summary still
	// counts them all.
	pendingListLimit = 1000
	// LongIdle is when a consumer counts as idle for long (see
	// streamview.LongIdle); Running says whether a worker runs it.
	LongIdle = streamview.LongIdle
)

// PendingSummary is XPENDING's summary form: how many entries of a group
// are delivered but not acknowledged, and by whom.
type PendingSummary struct {
	Count     int64
	Lower     string           // smallest pending id ("" when none)
	Higher    string           // greatest pending id
	Consumers map[string]int64 // consumer -> pending entries
}

// PendingEntry is one delivered, unacknowledged entry (XPENDING extended form).
type PendingEntry struct {
	ID         string
	Consumer   string
	Idle       time.Duration // since its last delivery
	Deliveries int64         // how often the group handed it out
}

// Pending reads a group's pending entries on the event streams (every
// partition's, summed): the summary and the first 1000 entries, in one
// round trip. A group that does not exist yet has nothing pending.
func (s *Store) Pending(ctx context.Context, group string) (PendingSummary, []PendingEntry, error) {
	streams := s.keys.EventStreams()
	pipe := s.rdb.Pipeline()
	sums := make([]*redis.XPendingCmd, len(streams))
	exts := make([]*redis.XPendingExtCmd, len(streams))
	for i, stream := range streams {
		sums[i] = pipe.XPending(ctx, stream, group)
		exts[i] = pipe.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: stream, Group: group, Start: "-", End: "+", Count: pendingListLimit})
	}
	_, _ = pipe.Exec(ctx)
	out := PendingSummary{Consumers: map[string]int64{}}
	var entries []PendingEntry
	for i := range streams {
		if err := sums[i].Err(); err != nil {
			if redisconn.Missing(err) {
				continue
			}
			return PendingSummary{}, nil, fmt.Errorf("pending %s: %w", group, err)
		}
		v := sums[i].Val()
		out.Count += v.Count
		if v.Count > 0 {
			if out.Lower == "" || claims.CompareIDs(v.Lower, out.Lower) < 0 {
				out.Lower = v.Lower
			}
			if claims.CompareIDs(v.Higher, out.Higher) > 0 {
				out.Higher = v.Higher
			}
		}
		for c, n := range v.Consumers {
			out.Consumers[c] += n
		}
		entries = append(entries, pendingEntries(exts[i].Val())...)
	}
	sort.Slice(entries, func(a, b int) bool { return claims.CompareIDs(entries[a].ID, entries[b].ID) < 0 })
	if len(entries) > pendingListLimit {
		entries = entries[:pendingListLimit]
	}
	return out, entries, nil
}

func pendingEntries(in []redis.XPendingExt) []PendingEntry {
	out := make([]PendingEntry, len(in))
	for i, p := range in {
		out[i] = PendingEntry{ID: p.ID, Consumer: p.Consumer, Idle: p.Idle, Deliveries: p.RetryCount}
	}
	return out
}
