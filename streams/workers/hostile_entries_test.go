package workers_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"claimsctl/streams"
	"claimsctl/streams/claims"
	"claimsctl/streams/workers"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hostileEntry is one case of testdata/entries/hostile.json.
type hostileEntry struct {
	Name   string   `json:"name"`
	Fields []string `json:"fields"`
	Reason string   `json:"reason"`
}

func hostileEntries(t *testing.T) []hostileEntry {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "entries", "hostile.json"))
	require.NoError(t, err)
	var file struct {
		Entries []hostileEntry `json:"entries"`
	}
	require.NoError(t, json.Unmarshal(raw, &file))
	require.NotEmpty(t, file.Entries)
	return file.Entries
}

// TestHostileEntriesCountNowhere: what another tool or an attacker writes
// into a claim's stream (testdata/entries/hostile.json) is dead-lettered
// by every group with its reason, and nothing of it is projected, counted,
// notified, audited or reported; the claim's real next event still applies.
func TestHostileEntriesCountNowhere(t *testing.T) {
	cases := hostileEntries(t)
	onBackends(t, func(t *testing.T, s *streams.Store) {
		ctx := context.Background()
		loadSample(t, s)
		id := submit(t, s, "POL-0001", "auto", 20000) // high value: one notification
		handlers := []workers.Handler{workers.NewProcessor(s), workers.NewAnalytics(s, workers.AnalyticsOptions{}), workers.NewNotifier(s, workers.NotifyOptions{}), workers.NewAuditor(s)}
		for _, h := range handlers {
			startWorker(t, s, h, workers.Options{Consumer: "w1"})
		}
		settled := func() bool {
			st, err := s.State(ctx)
			if err != nil || st.Events() == nil {
				return false
			}
			groups := st.Events().Groups
			for _, g := range groups {
				if g.Pending != 0 || g.Lag != 0 {
					return false
				}
			}
			return len(groups) == len(handlers)
		}
		waitFor(t, "the claim assigned and every group idle", func() bool { return claimVersion(s, id) == 2 && settled() })

		before, err := s.Claim(ctx, id)
		require.NoError(t, err)
		view, err := s.ClaimView(ctx, id)
		require.NoError(t, err)
		stats, err := s.Stats(ctx)
		require.NoError(t, err)
		trail, err := s.AuditTrail(ctx, id)
		require.NoError(t, err)
		notified := streamLen(t, s, s.Keys().Notifications())
		require.Equal(t, int64(1), notified)

		first, err := s.Client().XRange(ctx, s.Keys().ForClaim(id).Events(), before.Entries[0], before.Entries[0]).Result()
		require.NoError(t, err)
		require.Len(t, first, 1)
		other := uuid.NewString()
		reasons := map[string]hostileEntry{}
		for _, c := range cases {
			var values []any
			stream := s.Keys().ForClaim(id).Events()
			for _, f := range c.Fields {
				switch f {
				case "{copy:1}":
					for k, v := range first[0].Values {
						values = append(values, k, v)
					}
					continue
				case "{other}":
					stream = s.Keys().ForClaim(other).Events()
				}
				f = strings.NewReplacer("{claim}", id, "{other}", other, "{uuid}", uuid.NewString()).Replace(f)
				values = append(values, f)
			}
			entry, err := s.Client().XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: values}).Result()
			require.NoError(t, err, c.Name)
			c.Reason = strings.ReplaceAll(c.Reason, "{short}", claims.Short(id))
			reasons[entry] = c
		}

		want := len(cases) * len(handlers)
		waitFor(t, "every hostile entry dead-lettered by every group", func() bool {
			dlq, err := workers.DLQ(ctx, s)
			return err == nil && len(dlq) == want && settled()
		})
		dlq, err := workers.DLQ(ctx, s)
		require.NoError(t, err)
		groups := map[string][]string{}
		for _, d := range dlq {
			c, ok := reasons[d.SourceID]
			require.True(t, ok, "a dead letter of an entry the test did not write: %s", d.SourceID)
			assert.Contains(t, d.Error, c.Reason, "%s, group %s", c.Name, d.Group)
			groups[c.Name] = append(groups[c.Name], d.Group)
		}
		for _, c := range cases {
			assert.ElementsMatch(t, []string{streams.GroupProcessors, streams.GroupAnalytics, streams.GroupNotifications, streams.GroupAudit}, groups[c.Name], c.Name)
		}

		after, err := s.Claim(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, before, after, "the aggregate")
		viewAfter, err := s.ClaimView(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, view, viewAfter, "the read model")
		statsAfter, err := s.Stats(ctx)
		require.NoError(t, err)
		assert.Equal(t, stats, statsAfter, "analytics")
		trailAfter, err := s.AuditTrail(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, trail, trailAfter, "the audit trail")
		assert.Equal(t, notified, streamLen(t, s, s.Keys().Notifications()), "notifications")
		r, err := s.Report(ctx)
		require.NoError(t, err)
		assert.Equal(t, 1, r.Claims)
		assert.Equal(t, 2, r.Events)
		assert.Equal(t, len(cases), r.Malformed+r.NotWritten, "the report says what it skipped")
		assert.Equal(t, map[string]int{"assigned": 1}, r.ByStatus)
		_, err = s.ClaimView(ctx, other)
		assert.ErrorIs(t, err, claims.ErrNotFound, "no read model for the claim never submitted")

		// The real v3, after a forged v3, still applies everywhere.
		_, _, err = s.Emit(ctx, id, claims.ClaimRejected, map[string]any{"reason": "fraud suspected", "code": "fraud"}, streams.EmitOptions{})
		require.NoError(t, err)
		waitFor(t, "the real v3 projected", func() bool {
			v, err := s.ClaimView(ctx, id)
			return err == nil && v["status"] == "rejected" && v["version"] == "3"
		})
		waitFor(t, "the real v3 audited", func() bool {
			trail, err := s.AuditTrail(ctx, id)
			return err == nil && len(trail) == 3
		})
	})
}
