package workers_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"claimsctl/streams"
	"claimsctl/streams/claims"
	"claimsctl/streams/redistest"
	"claimsctl/streams/workers"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestProcessorAssignsAndRejects(t *testing.T) {
	onBackends(t, func(t *testing.T, s *streams.Store) {
		ctx := context.Background()
		loadSample(t, s)
		var valid []string
		for range 5 {
			valid = append(valid, submit(t, s, "POL-0001", "auto", 1000))
		}
		rejected := map[string]string{
			submit(t, s, "POL-9999", "auto", 1000):      "policy_not_found",
			submit(t, s, "POL-0005", "property", 1000):  "policy_inactive",
			submit(t, s, "POL-0001", "auto", 9_000_000): "exceeds_coverage",
			submit(t, s, "POL-0001", "home", 1000):      "not_covered",
		}
		log := &logLines{}
		startWorker(t, s, workers.NewProcessor(s), workers.Options{Consumer: "w1", Log: log.add})

		all := append([]string(nil), valid...)
		for id := range rejected {
			all = append(all, id)
		}
		waitFor(t, "every claim decided and projected", func() bool {
			for _, id := range all {
				v, err := s.ClaimView(ctx, id)
				if err != nil || v["version"] != "2" {
					return false
				}
			}
			return true
		})

		adjusters := map[string]bool{}
		for _, id := range valid {
			c, err := s.Claim(ctx, id)
			require.NoError(t, err)
			assert.Equal(t, claims.StatusAssigned, c.Status)
			adjusters[c.Adjuster] = true
			view, err := s.ClaimView(ctx, id)
			require.NoError(t, err)
			assert.Equal(t, "assigned", view["status"])
			assert.Equal(t, c.Adjuster, view["adjuster"])
			assert.Equal(t, "1000", view["amount"])
			assert.Equal(t, "POL-0001", view["policy_id"])
			assert.NotEmpty(t, view["submitted_at"])
		}
		assert.Len(t, adjusters, 5, "five claims go to five different least-loaded adjusters")
		loads, err := s.AdjusterLoads(ctx)
		require.NoError(t, err)
		for _, a := range claims.DefaultAdjusters {
			assert.Equal(t, int64(1), loads[a], a)
		}

		for id, code := range rejected {
			c, err := s.Claim(ctx, id)
			require.NoError(t, err)
			assert.Equal(t, claims.StatusRejected, c.Status, id)
			assert.Equal(t, code, c.RejectionCode)
			assert.NotEmpty(t, c.RejectionReason)
			view, err := s.ClaimView(ctx, id)
			require.NoError(t, err)
			assert.Equal(t, code, view["rejection_code"])
			assert.NotEmpty(t, view["decided_at"])
		}
		// A batch is logged once it is acknowledged.
		waitFor(t, "the batch's log lines", func() bool {
			return log.has(fmt.Sprintf("claim.submitted  %s v1 -> assigned to ADJ-00", claims.Short(valid[0]))) && log.has("policy POL-0005 is lapsed")
		})
		waitFor(t, "everything acked", func() bool { return pendingCount(t, s, streams.GroupProcessors) == 0 })
	})
}

func TestProcessorReleasesAdjusterOnFinalStatus(t *testing.T) {
	onBackends(t, func(t *testing.T, s *streams.Store) {
		ctx := context.Background()
		loadSample(t, s)
		id := submit(t, s, "POL-0001", "auto", 1000)
		startWorker(t, s, workers.NewProcessor(s), workers.Options{Consumer: "w1"})
		waitFor(t, "assigned", func() bool { return claimVersion(s, id) == 2 })
		_, _, err := s.Emit(ctx, id, claims.ClaimRejected, map[string]any{"reason": "fraud suspected", "code": "fraud"}, streams.EmitOptions{})
		require.NoError(t, err)
		waitFor(t, "rejection projected", func() bool {
			v, err := s.ClaimView(ctx, id)
			return err == nil && v["status"] == "rejected"
		})
		loads, err := s.AdjusterLoads(ctx)
		require.NoError(t, err)
		for a, n := range loads {
			assert.Zero(t, n, a)
		}
	})
}

func TestRedeliveryIsIdempotent(t *testing.T) {
	onBackends(t, func(t *testing.T, s *streams.Store) {
		ctx := context.Background()
		loadSample(t, s)
		id := submit(t, s, "POL-0001", "auto", 20000) // high value: notified
		handlers := []workers.Handler{workers.NewProcessor(s), workers.NewAnalytics(s, workers.AnalyticsOptions{}), workers.NewNotifier(s, workers.NotifyOptions{}), workers.NewAuditor(s)}

		// First delivery, not acked: as if the consumer died before XACK.
		for _, h := range handlers {
			ds, err := s.Consume(ctx, h.Group(), "w1", streams.ConsumeOptions{Count: 1})
			require.NoError(t, err)
			require.Len(t, ds, 1)
			_, err = workers.HandleOne(ctx, s, h, ds[0])
			require.NoError(t, err)
		}
		check := func() {
			t.Helper()
			assert.Equal(t, int64(2), streamLen(t, s, s.Keys().Events()), "submitted + one decision")
			assert.Equal(t, int64(2), claimVersion(s, id))
			st, err := s.Stats(ctx)
			require.NoError(t, err)
			assert.Equal(t, int64(1), st.Events)
			assert.Equal(t, int64(1), st.Claims)
			assert.Equal(t, 20000.0, st.ClaimedTotal)
			assert.Equal(t, int64(1), st.ByStatus["submitted"])
			assert.Equal(t, int64(1), streamLen(t, s, s.Keys().Notifications()))
			trail, err := s.AuditTrail(ctx, id)
			require.NoError(t, err)
			assert.Len(t, trail, 1)
			loads, err := s.AdjusterLoads(ctx)
			require.NoError(t, err)
			assert.Equal(t, int64(1), loads["ADJ-001"])
		}
		check()

		// Redelivered to another consumer once idle: same effects.
		for _, h := range handlers {
			waitFor(t, h.Group()+" entry idle", func() bool { return allIdle(t, s, h.Group(), 50*time.Millisecond) })
			res, err := workers.Recover(ctx, s, h.Group(), "w2", workers.RecoverOptions{MinIdle: 50 * time.Millisecond})
			require.NoError(t, err)
			require.Len(t, res.Claimed, 1, h.Group())
			assert.Equal(t, int64(2), res.Claimed[0].Deliveries)
			summary, err := workers.HandleOne(ctx, s, h, res.Claimed[0])
			require.NoError(t, err)
			assert.Contains(t, summary, "already", h.Group())
			// And the same delivery handed twice to the same handler.
			_, err = workers.HandleOne(ctx, s, h, res.Claimed[0])
			require.NoError(t, err)
		}
		check()

		// Every group catches up (the processor's decision)...
		for _, h := range handlers {
			ds, err := s.Consume(ctx, h.Group(), "w1", streams.ConsumeOptions{Count: 10})
			require.NoError(t, err)
			for _, d := range ds {
				_, err := workers.HandleOne(ctx, s, h, d)
				require.NoError(t, err)
			}
		}
		// ...and a copy another tool appended counts nowhere.
		var fields map[string]any
		require.NoError(t, s.Replay(ctx, streams.ReplayOptions{}, func(d streams.Delivery) error {
			if fields == nil {
				fields = d.Fields
			}
			return nil
		}))
		forged, err := s.Client().XAdd(ctx, &redis.XAddArgs{Stream: s.Keys().Events(), Values: fields}).Result()
		require.NoError(t, err)
		for _, h := range handlers {
			ds, err := s.Consume(ctx, h.Group(), "w1", streams.ConsumeOptions{Count: 10})
			require.NoError(t, err)
			require.Len(t, ds, 1)
			require.Equal(t, forged, ds[0].ID)
			_, err = workers.HandleOne(ctx, s, h, ds[0])
			assert.ErrorContains(t, err, "it claims to be v1 of claim "+claims.Short(id)+", but the store wrote v1 as ")
		}
		assert.Equal(t, int64(3), streamLen(t, s, s.Keys().Events()), "the copy, but no new decision")
		st, err := s.Stats(ctx)
		require.NoError(t, err)
		assert.Equal(t, int64(2), st.Events, "the decision counted, the copy not")
		assert.Equal(t, int64(1), st.Claims)
		assert.Equal(t, int64(1), streamLen(t, s, s.Keys().Notifications()))
	})
}

func TestMalformedEntriesGoToDLQAndBack(t *testing.T) {
	onBackends(t, func(t *testing.T, s *streams.Store) {
		ctx := context.Background()
		loadSample(t, s)
		rdb := s.Client()
		bad, err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: s.Keys().Events(), Values: []any{"hello", "world"}}).Result()
		require.NoError(t, err)
		badVersion, err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: s.Keys().Events(), Values: []any{
			"type", "claim.submitted", "claim_id", "x", "version", "one"}}).Result()
		require.NoError(t, err)
		good := submit(t, s, "POL-0001", "auto", 500)

		log := &logLines{}
		startWorker(t, s, workers.NewProcessor(s), workers.Options{Consumer: "w1", Log: log.add})
		waitFor(t, "valid claim decided after the malformed ones", func() bool { return claimVersion(s, good) == 2 })
		waitFor(t, "two dead letters", func() bool { return streamLen(t, s, s.Keys().DLQ()) == 2 })

		dlq, err := workers.DLQ(ctx, s)
		require.NoError(t, err)
		require.Len(t, dlq, 2)
		assert.Equal(t, bad, dlq[0].SourceID)
		assert.Equal(t, streams.GroupProcessors, dlq[0].Group)
		assert.Equal(t, s.Keys().Events(), dlq[0].SourceStream)
		assert.Contains(t, dlq[0].Error, `field "type" is missing`)
		assert.Equal(t, int64(1), dlq[0].Deliveries)
		assert.Equal(t, map[string]string{"hello": "world"}, dlq[0].Fields)
		assert.False(t, dlq[0].DeadAt.IsZero())
		assert.Equal(t, badVersion, dlq[1].SourceID)
		assert.Equal(t, "claim.submitted", dlq[1].Type)
		assert.Equal(t, "x", dlq[1].ClaimID)
		// The worker logs a batch once it is acknowledged, after the DLQ write.
		waitFor(t, "the dead letters logged", func() bool { return log.has("dead-lettered") })
		waitFor(t, "nothing pending", func() bool { return pendingCount(t, s, streams.GroupProcessors) == 0 })

		// A malformed entry is not put back: it would only come back.
		length := streamLen(t, s, s.Keys().Events())
		n, err := workers.RetryDLQ(ctx, s, dlq[0].ID)
		assert.ErrorIs(t, err, claims.ErrInvalid)
		assert.Contains(t, err.Error(), "not retried")
		assert.Zero(t, n)
		n, err = workers.RetryDLQ(ctx, s, "all")
		assert.ErrorIs(t, err, claims.ErrInvalid)
		assert.Zero(t, n)
		assert.Equal(t, length, streamLen(t, s, s.Keys().Events()), "nothing re-appended")
		assert.Equal(t, int64(2), streamLen(t, s, s.Keys().DLQ()), "the dead letters stay")

		_, err = workers.RetryDLQ(ctx, s, "1-1")
		assert.ErrorIs(t, err, claims.ErrNotFound)
		_, err = workers.RetryDLQ(ctx, s, "bogus")
		assert.ErrorIs(t, err, claims.ErrInvalid)
	})
}

func TestDeadLetterOnlyOnce(t *testing.T) {
	onBackends(t, func(t *testing.T, s *streams.Store) {
		ctx := context.Background()
		submit(t, s, "POL-0001", "auto", 500)
		ds, err := s.Consume(ctx, streams.GroupAudit, "w1", streams.ConsumeOptions{})
		require.NoError(t, err)
		require.Len(t, ds, 1)
		require.NoError(t, workers.ToDLQ(ctx, s, streams.GroupAudit, ds[0], fmt.Errorf("nope"), 1))
		require.NoError(t, workers.ToDLQ(ctx, s, streams.GroupAudit, ds[0], fmt.Errorf("nope"), 1))
		dlq, err := workers.DLQ(ctx, s)
		require.NoError(t, err)
		require.Len(t, dlq, 1, "the second call finds the entry acked and writes nothing")
		assert.Equal(t, "claim.submitted", dlq[0].Type)
		assert.Equal(t, ds[0].Event.ClaimID, dlq[0].ClaimID)
		assert.Equal(t, "nope", dlq[0].Error)
		assert.Zero(t, pendingCount(t, s, streams.GroupAudit))
	})
}

// TestRetryDLQHandsBackToItsGroupOnly: a retried dead letter reaches the
// group that gave up on it, through that group's retry stream, while its
// worker runs; the event stream keeps the event once, the other groups
// never see it again, and the letter of another group stays.
func TestRetryDLQHandsBackToItsGroupOnly(t *testing.T) {
	onBackends(t, func(t *testing.T, s *streams.Store) {
		ctx := context.Background()
		id := submit(t, s, "POL-0001", "auto", 500)
		// Two groups give up on the same event, one handles it.
		var original streams.Delivery
		for _, g := range []string{streams.GroupAudit, "flaky"} {
			ds, err := s.Consume(ctx, g, "w1", streams.ConsumeOptions{})
			require.NoError(t, err)
			require.Len(t, ds, 1)
			original = ds[0]
			require.NoError(t, workers.ToDLQ(ctx, s, g, ds[0], fmt.Errorf("bug in %s", g), 1))
		}
		ds, err := s.Consume(ctx, "steady", "w1", streams.ConsumeOptions{})
		require.NoError(t, err)
		require.Len(t, ds, 1)
		_, err = s.Ack(ctx, "steady", ds[0].ID)
		require.NoError(t, err)

		log := &logLines{}
		startWorker(t, s, workers.NewAuditor(s), workers.Options{Consumer: "a1", Log: log.add})
		dlq, err := workers.DLQ(ctx, s)
		require.NoError(t, err)
		require.Len(t, dlq, 2)
		audit := slices.IndexFunc(dlq, func(dl workers.DeadLetter) bool { return dl.Group == streams.GroupAudit })
		n, err := workers.RetryDLQ(ctx, s, dlq[audit].ID)
		require.NoError(t, err)
		assert.Equal(t, 1, n)

		waitFor(t, "the running auditor handles what was handed back", func() bool {
			trail, _ := s.AuditTrail(ctx, id) // not found until then
			return len(trail) == 1
		})
		trail, err := s.AuditTrail(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, original.ID, trail[0].EntryID, "audited as the log's entry")
		assert.True(t, log.has("handed back by retry_dlq: 1 entry"), log.String())
		retry := s.Keys().ForClaim(id).Retry(streams.GroupAudit)
		waitFor(t, "the handled retry entry deleted", func() bool { return streamLen(t, s, retry) == 0 })

		entries, err := s.Client().XRange(ctx, s.Keys().Events(), "-", "+").Result()
		require.NoError(t, err)
		require.Len(t, entries, 1, "the log holds the event once")
		assert.Equal(t, original.ID, entries[0].ID)
		history, err := s.History(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, original.ID, history[0].ID, "the claim's v1 is the entry it was")
		for _, g := range []string{"flaky", "steady"} {
			ds, err := s.Consume(ctx, g, "w1", streams.ConsumeOptions{})
			require.NoError(t, err)
			assert.Empty(t, ds, "group %s never sees the event again", g)
		}
		left, err := workers.DLQ(ctx, s)
		require.NoError(t, err)
		require.Len(t, left, 1)
		assert.Equal(t, "flaky", left[0].Group, "the other group's letter stays")
		st, err := s.State(ctx)
		require.NoError(t, err)
		assert.Zero(t, st.Events().Group(streams.GroupAudit).Retries)
	})
}

// TestARetryThatFailsAgainIsADeadLetterAgain: the letter names the log's
// entry, not the retry stream's, so it can be retried once more.
func TestARetryThatFailsAgainIsADeadLetterAgain(t *testing.T) {
	onBackends(t, func(t *testing.T, s *streams.Store) {
		ctx := context.Background()
		id := submit(t, s, "POL-0001", "auto", 500)
		startWorker(t, s, failing{group: "flaky"}, workers.Options{
			Consumer: "w1", MinIdle: 20 * time.Millisecond, RecoverEvery: 10 * time.Millisecond, MaxDeliveries: 2,
		})
		waitFor(t, "dead letter", func() bool { return streamLen(t, s, s.Keys().DLQ()) == 1 })
		first, err := workers.DLQ(ctx, s)
		require.NoError(t, err)
		n, err := workers.RetryDLQ(ctx, s, "all")
		require.NoError(t, err)
		require.Equal(t, 1, n)
		waitFor(t, "dead again", func() bool { return streamLen(t, s, s.Keys().DLQ()) == 1 })
		again, err := workers.DLQ(ctx, s)
		require.NoError(t, err)
		require.Len(t, again, 1)
		assert.NotEqual(t, first[0].ID, again[0].ID)
		assert.Equal(t, first[0].SourceID, again[0].SourceID, "the letter names the log's entry")
		assert.Equal(t, s.Keys().Events(), again[0].SourceStream)
		assert.Equal(t, id, again[0].ClaimID)
		waitFor(t, "the retry stream empty", func() bool {
			return streamLen(t, s, s.Keys().ForClaim(id).Retry("flaky")) == 0
		})
		assert.Equal(t, int64(1), streamLen(t, s, s.Keys().Events()))
	})
}

// TestForgedRetryEntriesAreDeadLettered: what another tool writes into a
// group's retry stream counts no more than what it writes into the log.
func TestForgedRetryEntriesAreDeadLettered(t *testing.T) {
	onBackends(t, func(t *testing.T, s *streams.Store) {
		ctx := context.Background()
		id := submit(t, s, "POL-0001", "auto", 500)
		h := workers.NewAuditor(s)
		log := &logLines{}
		startWorker(t, s, h, workers.Options{Consumer: "a1", Log: log.add})
		waitFor(t, "audited", func() bool { trail, _ := s.AuditTrail(ctx, id); return len(trail) == 1 })
		var fields map[string]any
		require.NoError(t, s.Replay(ctx, streams.ReplayOptions{}, func(d streams.Delivery) error {
			fields = d.Fields
			return nil
		}))
		retry := s.Keys().ForClaim(id).Retry(h.Group())
		rdb := s.Client()
		require.NoError(t, rdb.XGroupCreateMkStream(ctx, retry, h.Group(), "0").Err())
		noOrigin, err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: retry, Values: fields}).Result()
		require.NoError(t, err)
		wrong := map[string]any{"retry_of": "1-1"}
		for k, v := range fields {
			wrong[k] = v
		}
		require.NoError(t, rdb.XAdd(ctx, &redis.XAddArgs{Stream: retry, Values: wrong}).Err())
		waitFor(t, "both dead-lettered", func() bool { return streamLen(t, s, s.Keys().DLQ()) == 2 })
		dlq, err := workers.DLQ(ctx, s)
		require.NoError(t, err)
		assert.Equal(t, noOrigin, dlq[0].SourceID)
		assert.Contains(t, dlq[0].Error, "must name the entry it hands back")
		assert.Equal(t, "1-1", dlq[1].SourceID, "named by the entry it claims to hand back")
		assert.Contains(t, dlq[1].Error, "but the store wrote v1 as")
		trail, err := s.AuditTrail(ctx, id)
		require.NoError(t, err)
		assert.Len(t, trail, 1, "audited once")
		n, err := workers.RetryDLQ(ctx, s, "all")
		assert.ErrorIs(t, err, claims.ErrInvalid)
		assert.Zero(t, n)
		waitFor(t, "the forged entries gone from the retry stream", func() bool { return streamLen(t, s, retry) == 0 })
	})
}

func TestFailingHandlerIsDeadLetteredAfterMaxDeliveries(t *testing.T) {
	onBackends(t, func(t *testing.T, s *streams.Store) {
		ctx := context.Background()
		submit(t, s, "POL-0001", "auto", 500)
		log := &logLines{}
		startWorker(t, s, failing{group: "flaky"}, workers.Options{
			Consumer: "w1", MinIdle: 20 * time.Millisecond, RecoverEvery: 10 * time.Millisecond,
			MaxDeliveries: 3, Log: log.add,
		})
		waitFor(t, "dead letter", func() bool { return streamLen(t, s, s.Keys().DLQ()) == 1 })
		dlq, err := workers.DLQ(ctx, s)
		require.NoError(t, err)
		assert.Equal(t, int64(3), dlq[0].Deliveries)
		assert.Equal(t, "boom", dlq[0].Error)
		assert.Equal(t, "flaky", dlq[0].Group)
		assert.Zero(t, pendingCount(t, s, "flaky"))
		assert.True(t, log.has("delivery 1 of 3"), log.String())
		assert.True(t, log.has("delivery 2 of 3"), log.String())
	})
}

func TestTwoConsumersSplitTheWork(t *testing.T) {
	onBackends(t, func(t *testing.T, s *streams.Store) {
		ctx := context.Background()
		loadSample(t, s)
		var ids []string
		for range 10 {
			ids = append(ids, submit(t, s, "POL-0001", "auto", 100))
		}
		// Each consumer's first event waits until the other has one too,
		// so both surely take part however the scheduler runs them.
		var started sync.WaitGroup
		started.Add(2)
		arrive := func() {
			started.Done()
			started.Wait()
		}
		w1 := &recording{Handler: workers.NewProcessor(s), first: arrive}
		w2 := &recording{Handler: workers.NewProcessor(s), first: arrive}
		startWorker(t, s, w1, workers.Options{Consumer: "w1", Count: 1})
		startWorker(t, s, w2, workers.Options{Consumer: "w2", Count: 1})
		waitFor(t, "all claims decided", func() bool {
			for _, id := range ids {
				if claimVersion(s, id) != 2 {
					return false
				}
			}
			return true
		})
		waitFor(t, "all entries handled", func() bool { return len(w1.ids())+len(w2.ids()) == 20 })
		a, b := w1.ids(), w2.ids()
		assert.NotEmpty(t, a)
		assert.NotEmpty(t, b)
		seen := map[string]bool{}
		for _, id := range append(a, b...) {
			assert.False(t, seen[id], "entry %s handled twice", id)
			seen[id] = true
		}
		// Two processors deciding at the same moment may both pick the same
		// least-loaded adjuster (the pick is a heuristic, not a lock), but
		// every assignment is counted exactly once.
		loads, err := s.AdjusterLoads(ctx)
		require.NoError(t, err)
		var total int64
		for _, n := range loads {
			total += n
		}
		assert.Equal(t, int64(10), total, "%v", loads)
	})
}

func TestRecoverTakesOnlyIdleEntries(t *testing.T) {
	onBackends(t, func(t *testing.T, s *streams.Store) {
		ctx := context.Background()
		for range 3 {
			submit(t, s, "POL-0001", "auto", 100)
		}
		g := streams.GroupProcessors
		ds, err := s.Consume(ctx, g, "w1", streams.ConsumeOptions{})
		require.NoError(t, err)
		require.Len(t, ds, 3)

		res, err := workers.Recover(ctx, s, g, "w2", workers.RecoverOptions{MinIdle: 5 * time.Second})
		require.NoError(t, err)
		assert.Empty(t, res.Claimed, "entries just delivered are not idle")

		// Touched by its owner just now: not idle again, whatever the
		// backend's XCLAIM does with min-idle.
		const idle = 200 * time.Millisecond
		waitFor(t, "idle", func() bool { return allIdle(t, s, g, idle) })
		_, err = s.Consume(ctx, g, "w1", streams.ConsumeOptions{Pending: true})
		require.NoError(t, err)
		res, err = workers.Recover(ctx, s, g, "w2", workers.RecoverOptions{MinIdle: idle})
		require.NoError(t, err)
		assert.Empty(t, res.Claimed, "entries re-read by their owner are not idle")
		sum, _, err := s.Pending(ctx, g)
		require.NoError(t, err)
		assert.Equal(t, map[string]int64{"w1": 3}, sum.Consumers)

		waitFor(t, "idle again", func() bool { return allIdle(t, s, g, idle) })
		res, err = workers.Recover(ctx, s, g, "w2", workers.RecoverOptions{MinIdle: idle, Count: 2})
		require.NoError(t, err)
		require.Len(t, res.Claimed, 2, "Count bounds the take-over")
		for _, d := range res.Claimed {
			assert.Equal(t, int64(3), d.Deliveries, "read, re-read, taken over")
			assert.NoError(t, d.Err)
		}
		res, err = workers.Recover(ctx, s, g, "w2", workers.RecoverOptions{MinIdle: idle})
		require.NoError(t, err)
		require.Len(t, res.Claimed, 1)
		sum, entries, err := s.Pending(ctx, g)
		require.NoError(t, err)
		assert.Equal(t, int64(3), sum.Count)
		assert.Equal(t, map[string]int64{"w2": 3}, sum.Consumers)
		for _, e := range entries {
			assert.Equal(t, "w2", e.Consumer)
		}

		// Nothing pending anywhere: a group that does not exist is empty.
		sum, entries, err = s.Pending(ctx, "nobody")
		require.NoError(t, err)
		assert.Zero(t, sum.Count)
		assert.Empty(t, entries)
		res, err = workers.Recover(ctx, s, "nobody", "w2", workers.RecoverOptions{})
		require.NoError(t, err)
		assert.Empty(t, res.Claimed)
	})
}

func TestRecoverReportsDeletedEntries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storeOn(t, redistest.Start(t), "t:")
	a := submit(t, s, "POL-0001", "auto", 100)
	submit(t, s, "POL-0001", "auto", 100)
	ds, err := s.Consume(ctx, streams.GroupAudit, "w1", streams.ConsumeOptions{})
	require.NoError(t, err)
	require.Len(t, ds, 2)
	require.Equal(t, a, ds[0].Event.ClaimID)
	require.NoError(t, s.Client().XDel(ctx, s.Keys().Events(), ds[0].ID).Err())
	waitFor(t, "idle", func() bool { return allIdle(t, s, streams.GroupAudit, 20*time.Millisecond) })
	res, err := workers.Recover(ctx, s, streams.GroupAudit, "w2", workers.RecoverOptions{MinIdle: 20 * time.Millisecond})
	require.NoError(t, err)
	assert.Equal(t, []string{ds[0].ID}, res.DeletedIDs, "real Redis reports (and drops) deleted pending entries")
	require.Len(t, res.Claimed, 1)
	assert.Equal(t, ds[1].ID, res.Claimed[0].ID)
}

func TestWorkerSurvivesRedisRestartWithAOF(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := redistest.Start(t, redistest.WithAOF())
	s := storeOn(t, srv, "t:")
	loadSample(t, s)
	log := &logLines{}
	startWorker(t, s, workers.NewProcessor(s), workers.Options{
		Consumer: "w1", MinIdle: 200 * time.Millisecond, RecoverEvery: 50 * time.Millisecond, Log: log.add,
	})
	var ids []string
	for range 5 {
		ids = append(ids, submit(t, s, "POL-0001", "auto", 100))
	}
	// Stop Redis while the worker may still be busy with these claims.
	srv.Stop()
	waitFor(t, "the worker noticing", func() bool { return log.has("redis unavailable, retrying in") })
	srv.Restart(t)
	for range 5 {
		ids = append(ids, submit(t, s, "POL-0001", "auto", 100))
	}
	waitFor(t, "every claim decided", func() bool {
		for _, id := range ids {
			if claimVersion(s, id) != 2 {
				return false
			}
		}
		return true
	})
	waitFor(t, "every decision projected and acked", func() bool {
		for _, id := range ids {
			v, err := s.ClaimView(ctx, id)
			if err != nil || v["version"] != "2" {
				return false
			}
		}
		return pendingCount(t, s, streams.GroupProcessors) == 0
	})
	assert.Equal(t, int64(20), streamLen(t, s, s.Keys().Events()), "nothing lost, nothing doubled")
	loads, err := s.AdjusterLoads(ctx)
	require.NoError(t, err)
	var total int64
	for _, n := range loads {
		total += n
	}
	assert.Equal(t, int64(10), total)
}

func TestCancelledWorkerLeavesEntriesAnotherRecovers(t *testing.T) {
	onBackends(t, func(t *testing.T, s *streams.Store) {
		ctx := context.Background()
		loadSample(t, s)
		var ids []string
		for range 6 {
			ids = append(ids, submit(t, s, "POL-0001", "auto", 100))
		}
		// First workers die after 3 events, in the middle of their first batch.
		for _, h := range []workers.Handler{workers.NewProcessor(s), workers.NewAnalytics(s, workers.AnalyticsOptions{})} {
			wctx, cancel := context.WithCancel(ctx)
			done := make(chan error)
			go func() {
				done <- workers.Run(wctx, s, &crashing{Handler: h, after: 3, cancel: cancel}, workers.Options{Consumer: "w1"})
			}()
			require.NoError(t, <-done)
			assert.NotZero(t, pendingCount(t, s, h.Group()), "the crashed worker left unacked entries")
		}
		// Their successors take the work over once it is idle.
		o := workers.Options{Consumer: "w2", MinIdle: 50 * time.Millisecond, RecoverEvery: 20 * time.Millisecond}
		startWorker(t, s, workers.NewProcessor(s), o)
		startWorker(t, s, workers.NewAnalytics(s, workers.AnalyticsOptions{}), o)
		waitFor(t, "all decided, projected, counted and acked", func() bool {
			for _, id := range ids {
				v, err := s.ClaimView(ctx, id)
				if err != nil || v["version"] != "2" {
					return false
				}
			}
			st, err := s.Stats(ctx)
			require.NoError(t, err)
			return st.Events == 12 && pendingCount(t, s, streams.GroupProcessors) == 0 && pendingCount(t, s, streams.GroupAnalytics) == 0
		})
		assert.Equal(t, int64(12), streamLen(t, s, s.Keys().Events()), "one decision per claim")
		for _, id := range ids {
			assert.Equal(t, int64(2), claimVersion(s, id))
		}
		loads, err := s.AdjusterLoads(ctx)
		require.NoError(t, err)
		var total int64
		for _, n := range loads {
			total += n
		}
		assert.Equal(t, int64(6), total, "each assignment counted once: %v", loads)
		st, err := s.Stats(ctx)
		require.NoError(t, err)
		assert.Equal(t, int64(6), st.Claims)
		assert.Equal(t, map[string]int64{"submitted": 0, "assigned": 6}, st.ByStatus)
		assert.Equal(t, int64(6), st.ByEventType["claim.assigned"])
	})
}

// lifecycle takes a claim from submission to payment; the processor must
// have assigned it already.
func lifecycle(t *testing.T, s *streams.Store, id string, amount float64) {
	t.Helper()
	ctx := context.Background()
	steps := []struct {
		t    claims.EventType
		data map[string]any
	}{
		{claims.DocumentUploaded, map[string]any{"document_type": "photo", "filename": "dent.jpg"}},
		{claims.ClaimInvestigated, map[string]any{"phase": "started"}},
		{claims.ClaimInvestigated, map[string]any{"phase": "completed", "findings": "consistent"}},
		{claims.ClaimApproved, map[string]any{"approved_amount": amount}},
		{claims.PaymentInitiated, map[string]any{}},
		{claims.PaymentCompleted, map[string]any{}},
	}
	for _, st := range steps {
		_, _, err := s.Emit(ctx, id, st.t, st.data, streams.EmitOptions{Actor: "adjuster"})
		require.NoError(t, err, st.t)
	}
}

func TestAnalyticsNotificationsAudit(t *testing.T) {
	onBackends(t, func(t *testing.T, s *streams.Store) {
		ctx := context.Background()
		loadSample(t, s)
		paid := submit(t, s, "POL-0001", "auto", 20000)
		lapsed := submit(t, s, "POL-0005", "property", 300)
		startWorker(t, s, workers.NewProcessor(s), workers.Options{Consumer: "w1"})
		waitFor(t, "decisions", func() bool { return claimVersion(s, paid) == 2 && claimVersion(s, lapsed) == 2 })
		lifecycle(t, s, paid, 15000)

		log := &logLines{}
		stopAnalytics := startWorker(t, s, workers.NewAnalytics(s, workers.AnalyticsOptions{SnapshotEvery: 4}), workers.Options{Consumer: "w1", Log: log.add})
		startWorker(t, s, workers.NewNotifier(s, workers.NotifyOptions{}), workers.Options{Consumer: "w1", Log: log.add})
		startWorker(t, s, workers.NewAuditor(s), workers.Options{Consumer: "w1", Log: log.add})
		const events = 10 // 8 for the paid claim, 2 for the rejected one
		waitFor(t, "all counted", func() bool {
			st, err := s.Stats(ctx)
			require.NoError(t, err)
			return st.Events == events
		})
		stopAnalytics()

		st, err := s.Stats(ctx)
		require.NoError(t, err)
		assert.Equal(t, int64(2), st.Claims)
		assert.Equal(t, map[string]int64{"submitted": 0, "assigned": 0, "investigating": 0, "investigated": 0,
			"approved": 0, "payment_initiated": 0, "paid": 1, "rejected": 1}, st.ByStatus)
		assert.Equal(t, int64(2), st.ByEventType["claim.investigated"])
		assert.Equal(t, map[string]int64{"auto": 1, "property": 1}, st.ByClaimType)
		assert.Equal(t, map[string]int64{"policy_inactive": 1}, st.ByRejection)
		var hours int64
		for h, n := range st.ByHour {
			assert.Regexp(t, `^\d{4}-\d\d-\d\dT\d\d$`, h)
			hours += n
		}
		assert.Equal(t, int64(2), hours)
		assert.Equal(t, 20300.0, st.ClaimedTotal)
		assert.Equal(t, 15000.0, st.ApprovedTotal)
		assert.Equal(t, 15000.0, st.PaidTotal)
		assert.Equal(t, int64(2), st.Decided)
		assert.Equal(t, int64(1), st.Resolved)
		assert.GreaterOrEqual(t, st.AvgResolutionSec, 0.0)
		require.Len(t, st.Adjusters, 1)
		assert.Equal(t, claims.AdjusterLoad{Adjuster: "ADJ-001", Assigned: 1, Open: 0, Resolved: 1}, st.Adjusters[0])

		// The replayed report agrees with the live counters.
		rep, err := s.Report(ctx)
		require.NoError(t, err)
		assert.Equal(t, rep.Claims, int(st.Claims))
		assert.Equal(t, rep.Paid.Total, st.PaidTotal)
		assert.Equal(t, rep.ByStatus["paid"], int(st.ByStatus["paid"]))

		// Snapshots: at most one per batch once 4 events were counted, and
		// one more on stop if anything was counted since.
		snaps, err := s.Client().XRange(ctx, s.Keys().Analytics(), "-", "+").Result()
		require.NoError(t, err)
		require.NotEmpty(t, snaps)
		last := snaps[len(snaps)-1].Values
		assert.Equal(t, "10", last["events"])
		assert.Equal(t, "15000", last["paid_total"])
		assert.Contains(t, last["stats"], `"by_status"`)

		waitFor(t, "notifications", func() bool { return streamLen(t, s, s.Keys().Notifications()) == 4 })
		notes, err := s.Client().XRange(ctx, s.Keys().Notifications(), "-", "+").Result()
		require.NoError(t, err)
		var kinds []string
		for _, n := range notes {
			kinds = append(kinds, n.Values["kind"].(string))
			assert.NotEmpty(t, n.Values["message"])
			assert.NotEmpty(t, n.Values["source_id"])
		}
		assert.ElementsMatch(t, []string{"high_value", "decision", "decision", "payment"}, kinds)

		waitFor(t, "audit trail", func() bool {
			trail, err := s.AuditTrail(ctx, paid)
			return err == nil && len(trail) == 8
		})
		trail, err := s.AuditTrail(ctx, paid)
		require.NoError(t, err)
		for i, r := range trail {
			assert.Equal(t, int64(i+1), r.Version)
			assert.NotEmpty(t, r.EntryID)
			assert.False(t, r.At.IsZero())
		}
		assert.Equal(t, claims.ClaimSubmitted, trail[0].Type)
		assert.Equal(t, "processor", trail[1].Actor)
		assert.Equal(t, "assigned to ADJ-001", trail[1].Detail)
		assert.Equal(t, claims.PaymentCompleted, trail[7].Type)
		_, err = s.AuditTrail(ctx, "no-such-claim")
		assert.ErrorIs(t, err, claims.ErrNotFound)

		// Replaying every event through the handlers again changes nothing.
		n, a := workers.NewNotifier(s, workers.NotifyOptions{}), workers.NewAuditor(s)
		require.NoError(t, s.Replay(ctx, streams.ReplayOptions{}, func(d streams.Delivery) error {
			for _, h := range []workers.Handler{n, a} {
				if _, err := workers.HandleOne(ctx, s, h, d); err != nil {
					return err
				}
			}
			return nil
		}))
		assert.Equal(t, int64(4), streamLen(t, s, s.Keys().Notifications()))
		trail, err = s.AuditTrail(ctx, paid)
		require.NoError(t, err)
		assert.Len(t, trail, 8)
	})
}

func TestNewWorker(t *testing.T) {
	t.Parallel()
	s := streams.New(redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}), streams.Options{})
	for _, name := range workers.Names {
		h, err := workers.New(s, name)
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(h.Group(), name[:5]), "%s reads group %s", name, h.Group())
	}
	_, err := workers.New(s, "nope")
	assert.ErrorIs(t, err, claims.ErrInvalid)
	err = workers.Run(context.Background(), s, workers.NewAuditor(s), workers.Options{Consumer: "has space"})
	assert.ErrorIs(t, err, claims.ErrInvalid)
}
