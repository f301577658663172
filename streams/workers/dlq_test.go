package workers_test

import (
	"context"
	"testing"

	"claimsctl/streams"
	"claimsctl/streams/claims"
	"claimsctl/streams/streamstest"
	"claimsctl/streams/workers"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestACopysDeadLetterIsNotRetried: an exact copy of a claim's entry, under
// its id, in a partition that is not the claim's, is an entry the store
// did not write (streams' TestACopyInAnotherPartitionIsNotWritten); its
// dead letter is not put back: into its stream it would make the copy the
// claim's v1, and on a cluster the retry would span two slots.
func TestACopysDeadLetterIsNotRetried(t *testing.T) {
	t.Parallel()
	streamstest.ForEachServer(t, streams.Options{Partitions: 6}, func(t *testing.T, s *streams.Store) {
		ctx := context.Background()
		_, c, err := s.Submit(ctx, streams.Submission{CustomerID: "CUST-0001", PolicyID: "POL-0001", Amount: 2500, ClaimType: "auto",
			IncidentDate: "2026-01-15", Description: "rear-ended at a light"}, streams.EmitOptions{})
		require.NoError(t, err)
		real := streams.EntryRef{Stream: s.Keys().ForClaim(c.ID).Events(), ID: c.Entries[0]}
		msgs, err := s.Client().XRange(ctx, real.Stream, real.ID, real.ID).Result()
		require.NoError(t, err)
		require.Len(t, msgs, 1)
		other := s.Keys().Partition((s.Keys().PartitionOf(c.ID) + 1) % s.Keys().Partitions()).Events()
		require.NoError(t, s.Client().XAdd(ctx, &redis.XAddArgs{Stream: other, ID: real.ID, Values: msgs[0].Values}).Err())
		copied := streams.EntryRef{Stream: other, ID: real.ID}

		got, err := s.Consume(ctx, streams.GroupAudit, "a1", streams.ConsumeOptions{Count: 10})
		require.NoError(t, err)
		require.Len(t, got, 2)
		for _, d := range got {
			if d.Ref() == copied {
				require.NoError(t, workers.ToDLQ(ctx, s, streams.GroupAudit, d, d.Err, 1))
			}
		}

		n, err := workers.RetryDLQ(ctx, s, "all")
		assert.ErrorIs(t, err, claims.ErrInvalid)
		assert.ErrorContains(t, err, "claim "+claims.Short(c.ID)+"'s events are in "+real.Stream)
		assert.Zero(t, n)
		stored, err := s.Claim(ctx, c.ID)
		require.NoError(t, err)
		assert.Equal(t, c.Entries, stored.Entries)
		var total int64
		for _, key := range s.Keys().EventStreams() {
			n, err := s.Client().XLen(ctx, key).Result()
			require.NoError(t, err)
			total += n
		}
		assert.Equal(t, int64(2), total, "nothing appended")
		dlq, err := workers.DLQ(ctx, s)
		require.NoError(t, err)
		assert.Len(t, dlq, 1, "the dead letter stays")
	})
}
