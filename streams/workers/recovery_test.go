package workers_test

import (
	"context"
	"testing"
	"time"

	"claimsctl/streams"
	"claimsctl/streams/streamstest"
	"claimsctl/streams/streamview"
	"claimsctl/streams/workers"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDeleteIdleConsumersCoversEveryPartition: a consumer is one name
// over the partitions, as the state view shows it. One whose pending
// entries are all outside partition 0 is kept; handed over, its entries
// leave every partition, and so does it.
func TestDeleteIdleConsumersCoversEveryPartition(t *testing.T) {
	t.Parallel()
	streamstest.ForEachServer(t, streams.Options{Partitions: 6}, func(t *testing.T, s *streams.Store) {
		ctx := context.Background()
		const group = "g"
		for _, p := range []int{2, 4} {
			for _, id := range streamstest.ClaimIDsIn(s, p, 2) {
				sub := streams.Submission{CustomerID: "CUST-0001", PolicyID: "POL-0001", Amount: 2500, ClaimType: "auto",
					IncidentDate: "2026-01-15", Description: "rear-ended at a light"}
				sub.ClaimID = id
				_, _, err := s.Submit(ctx, sub, streams.EmitOptions{})
				require.NoError(t, err)
			}
		}
		held, err := s.Consume(ctx, group, "holder", streams.ConsumeOptions{Count: 10})
		require.NoError(t, err)
		require.Len(t, held, 4)
		consumers := func() map[string]streamview.ConsumerState {
			st, err := s.State(ctx)
			require.NoError(t, err)
			out := map[string]streamview.ConsumerState{}
			for _, c := range st.Events().Group(group).Consumers {
				out[c.Name] = c
			}
			return out
		}
		const idle = 30 * time.Millisecond
		streamstest.WaitFor(t, "the consumer to be idle", func() bool {
			c := consumers()["holder"]
			return c.Idle < 0 || c.Idle >= idle
		})

		res, err := workers.DeleteIdleConsumers(ctx, s, group, workers.ForgetOptions{Idle: idle})
		require.NoError(t, err)
		assert.Empty(t, res.Deleted)
		assert.Equal(t, []workers.KeptConsumer{{Name: "holder", Reason: "it holds pending entries (give to= to hand them over)"}}, res.Kept)
		assert.Equal(t, int64(4), consumers()["holder"].Pending)

		res, err = workers.DeleteIdleConsumers(ctx, s, group, workers.ForgetOptions{Idle: idle, To: "heir"})
		require.NoError(t, err)
		assert.Equal(t, []string{"holder"}, res.Deleted)
		assert.Equal(t, int64(4), res.HandedOver)
		after := consumers()
		assert.Equal(t, map[string]streamview.ConsumerState{"heir": {Name: "heir", Pending: 4, Idle: after["heir"].Idle}}, after,
			"the heir holds every entry, and the holder is gone from every partition")
	})
}
