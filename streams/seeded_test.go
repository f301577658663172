package streams_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"claimsctl/streams"
	"claimsctl/streams/claims"
	"claimsctl/streams/streamstest"
	"claimsctl/streams/upkeep"
	"claimsctl/streams/workers"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// seededRun is a small lab run on a fresh keyspace of a store seeded with
// 7: sample data, a claim, three more in bulk, and a processor and a
// notifier stepped in turn until neither has work. It returns every entry
// of the event and notification streams, id and fields, as text.
func seededRun(t *testing.T, s *streams.Store) []string {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, upkeep.CheckFresh(ctx, s))
	_, err := upkeep.LoadSampleData(ctx, s, claims.SampleOptions{Customers: 10, Policies: 20, Seed: 1})
	require.NoError(t, err)
	incident := s.Now().AddDate(0, 0, -3).Format("2006-01-02")
	sub := streams.Submission{CustomerID: "CUST-0001", PolicyID: "POL-0001", Amount: 12500, ClaimType: "auto", IncidentDate: incident, Description: "d"}
	_, _, err = s.Submit(ctx, sub, streams.EmitOptions{})
	require.NoError(t, err)
	var more []streams.NewClaim
	for _, p := range []string{"POL-0002", "POL-0005", "POL-0008"} {
		sub.PolicyID = p
		more = append(more, sub.NewClaim())
	}
	_, err = s.SubmitMany(ctx, more, streams.BulkOptions{})
	require.NoError(t, err)
	processor, err := workers.NewStepper(s, workers.NewProcessor(s), workers.Options{Consumer: "p"})
	require.NoError(t, err)
	notifier, err := workers.NewStepper(s, workers.NewNotifier(s, workers.NotifyOptions{}), workers.Options{Consumer: "n"})
	require.NoError(t, err)
	for {
		a, err := processor.Step(ctx)
		require.NoError(t, err)
		b, err := notifier.Step(ctx)
		require.NoError(t, err)
		if a+b == 0 {
			break
		}
	}
	var out []string
	for _, key := range []string{s.Keys().Events(), s.Keys().Notifications()} {
		entries, err := s.Client().XRange(ctx, key, "-", "+").Result()
		require.NoError(t, err)
		for _, e := range entries {
			out = append(out, fmt.Sprintf("%s %s %v", strings.TrimPrefix(key, s.Keys().Prefix), e.ID, e.Values))
		}
	}
	return out
}

// TestSeededRunRepeats: two runs seeded alike, each on a fresh keyspace,
// write the same claims, events, times and entry ids, dated by the clock
// from claims.LabEpoch, whatever the wall clock says; the processor and
// notifier stepped in turn decide and alert alike.
func TestSeededRunRepeats(t *testing.T) {
	t.Parallel()
	streamstest.ForEachBackend(t, func(t *testing.T, newStore streamstest.NewStore) {
		first := seededRun(t, newStore(t, streams.Options{Seeded: claims.NewSeeded(7)}))
		second := seededRun(t, newStore(t, streams.Options{Seeded: claims.NewSeeded(7)}))
		assert.Equal(t, first, second)
		other := seededRun(t, newStore(t, streams.Options{Seeded: claims.NewSeeded(8)}))
		assert.NotEqual(t, first, other, "another seed, other uuids")

		epoch := claims.LabEpoch.UnixMilli()
		require.Len(t, first, 4+4+6, "4 submissions, 4 decisions, 4 high-value alerts and 2 rejections")
		// The clock was read twice before (the sample data, the test's
		// incident date): the first claim is dated 2 ms after the epoch,
		// its entry id with it.
		at := claims.LabEpoch.Add(2 * time.Millisecond)
		assert.True(t, strings.HasPrefix(first[0], fmt.Sprintf("claims:events %d-0 ", at.UnixMilli())), first[0])
		assert.Contains(t, first[0], "occurred_at:"+at.Format(claims.TimeLayout))
		// The processor's batch is dated once: its decisions share a
		// millisecond, numbered within it as Redis numbers them.
		assert.True(t, strings.HasPrefix(first[7], fmt.Sprintf("claims:events %d-3 ", at.UnixMilli()+4)), first[7])
		for _, line := range first {
			var key, id string
			_, err := fmt.Sscan(line, &key, &id)
			require.NoError(t, err)
			var ms, seq int64
			_, err = fmt.Sscanf(id, "%d-%d", &ms, &seq)
			require.NoError(t, err)
			assert.Less(t, ms-epoch, int64(1000), "%s: dated by the lab clock", line)
		}
	})
}

// TestSeededRunIsRefusedOnAKeyspaceWithEvents: CheckFresh names the stream
// that holds entries and why a seeded run cannot add to it; an append of
// a seeded store that meets a stream past its clock still lands (with an
// id of Redis's clock) instead of failing.
func TestSeededRunIsRefusedOnAKeyspaceWithEvents(t *testing.T) {
	t.Parallel()
	streamstest.ForEachBackend(t, func(t *testing.T, newStore streamstest.NewStore) {
		ctx := context.Background()
		s := newStore(t, streams.Options{})
		sub := streams.Submission{CustomerID: "C", PolicyID: "P", Amount: 1, ClaimType: "auto", IncidentDate: "2025-12-01", Description: "d"}
		ev, _, err := s.Submit(ctx, sub, streams.EmitOptions{})
		require.NoError(t, err)

		seeded := streams.New(s.Client(), streams.Options{Prefix: s.Keys().Prefix, Seeded: claims.NewSeeded(7)})
		err = upkeep.CheckFresh(ctx, seeded)
		require.ErrorIs(t, err, upkeep.ErrNotFresh)
		assert.Contains(t, err.Error(), s.Keys().Events()+" holds 1 entry (the last id "+ev.ID+")")
		assert.Contains(t, err.Error(), "2026-01-05 09:00:00 UTC")

		late, _, err := seeded.Submit(ctx, sub, streams.EmitOptions{})
		require.NoError(t, err)
		assert.Greater(t, late.ID, ev.ID, "an id after the stream's last one")

		// A stream emptied by XTRIM remembers its last id: still refused.
		require.NoError(t, s.Client().XTrimMaxLen(ctx, s.Keys().Events(), 0).Err())
		require.ErrorIs(t, upkeep.CheckFresh(ctx, seeded), upkeep.ErrNotFresh)
		require.NoError(t, s.Client().Del(ctx, s.Keys().Events()).Err())
		require.NoError(t, upkeep.CheckFresh(ctx, seeded))
	})
}
