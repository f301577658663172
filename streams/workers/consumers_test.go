package workers_test

import (
	"context"
	"testing"
	"time"

	"claimsctl/streams"
	"claimsctl/streams/streamview"
	"claimsctl/streams/workers"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// consumersOf reads a group's consumers as the state view does.
func consumersOf(t *testing.T, s *streams.Store, group string) map[string]streamview.ConsumerState {
	t.Helper()
	st, err := s.State(context.Background())
	require.NoError(t, err)
	out := map[string]streamview.ConsumerState{}
	if g := st.Stream(s.Keys().Events()).Group(group); g != nil {
		for _, c := range g.Consumers {
			out[c.Name] = c
		}
	}
	return out
}

func TestKeepAliveMarksARunningConsumer(t *testing.T) {
	onBackends(t, func(t *testing.T, s *streams.Store) {
		ctx := context.Background()
		stopP := workers.KeepAlive(ctx, s, "processors", "p@host")
		stopQ := workers.KeepAlive(ctx, s, "processors", "q@host")
		stopA := workers.KeepAlive(ctx, s, "analytics", "a@host")
		defer stopA()
		running, err := workers.Running(ctx, s, "processors")
		require.NoError(t, err)
		assert.Equal(t, []string{"p@host", "q@host"}, running, "listed before they read anything")
		stopP()
		running, err = workers.Running(ctx, s, "processors")
		require.NoError(t, err)
		assert.Equal(t, []string{"q@host"}, running, "a stopped worker's mark is gone at once")
		stopQ()
		running, err = workers.Running(ctx, s, "processors")
		require.NoError(t, err)
		assert.Empty(t, running)
	})
}

func TestDeleteIdleConsumers(t *testing.T) {
	onBackends(t, func(t *testing.T, s *streams.Store) {
		ctx := context.Background()
		const group = "g"
		submit(t, s, "POL-0001", "auto", 100)
		submit(t, s, "POL-0001", "auto", 200)
		submit(t, s, "POL-0001", "auto", 300)
		submit(t, s, "POL-0001", "auto", 400)
		// done read one entry and acked it; holder reads two and dies with
		// them; live is a running worker with nothing pending.
		read := func(consumer string, n int64) []streams.Delivery {
			ds, err := s.Consume(ctx, group, consumer, streams.ConsumeOptions{Count: n})
			require.NoError(t, err)
			require.Len(t, ds, int(n))
			return ds
		}
		_, err := s.Ack(ctx, group, read("done", 1)[0].ID)
		require.NoError(t, err)
		held := read("holder", 2)
		_, err = s.Ack(ctx, group, read("live", 1)[0].ID)
		require.NoError(t, err)
		stopLive := workers.KeepAlive(ctx, s, group, "live")
		defer stopLive()
		const idle = 30 * time.Millisecond
		waitFor(t, "the consumers to be idle", func() bool {
			for _, c := range consumersOf(t, s, group) {
				if c.Idle >= 0 && c.Idle < idle {
					return false
				}
			}
			return true
		})

		res, err := workers.DeleteIdleConsumers(ctx, s, group, workers.ForgetOptions{Idle: idle})
		require.NoError(t, err)
		assert.Equal(t, []string{"done"}, res.Deleted)
		assert.Equal(t, []workers.KeptConsumer{
			{Name: "holder", Reason: "it holds pending entries (give to= to hand them over)"},
			{Name: "live", Reason: "a worker runs as it"},
		}, res.Kept)
		assert.Zero(t, res.HandedOver)
		sum, _, err := s.Pending(ctx, group)
		require.NoError(t, err)
		assert.Equal(t, int64(2), sum.Consumers["holder"], "nothing pending was dropped")

		res, err = workers.DeleteIdleConsumers(ctx, s, group, workers.ForgetOptions{Idle: idle, To: "heir"})
		require.NoError(t, err)
		assert.Equal(t, []string{"holder"}, res.Deleted)
		assert.Equal(t, int64(2), res.HandedOver)
		sum, entries, err := s.Pending(ctx, group)
		require.NoError(t, err)
		assert.Equal(t, map[string]int64{"heir": 2}, sum.Consumers, "the heir holds the entries now")
		for i, e := range entries {
			assert.Equal(t, held[i].ID, e.ID)
			assert.Equal(t, int64(2), e.Deliveries, "a hand-over counts as a delivery")
		}
		assert.NotContains(t, consumersOf(t, s, group), "holder")
		assert.Contains(t, consumersOf(t, s, group), "live")
	})
}

func TestDeleteIdleConsumersKeepsRecentOnes(t *testing.T) {
	onBackends(t, func(t *testing.T, s *streams.Store) {
		ctx := context.Background()
		submit(t, s, "POL-0001", "auto", 100)
		ds, err := s.Consume(ctx, "g", "w1", streams.ConsumeOptions{Count: 1})
		require.NoError(t, err)
		_, err = s.Ack(ctx, "g", ds[0].ID)
		require.NoError(t, err)
		res, err := workers.DeleteIdleConsumers(ctx, s, "g", workers.ForgetOptions{})
		require.NoError(t, err)
		if c := consumersOf(t, s, "g"); len(c) == 1 {
			// Real Redis: idle for milliseconds, far from LongIdle.
			assert.Empty(t, res.Deleted)
			require.Len(t, res.Kept, 1)
			assert.Contains(t, res.Kept[0].Reason, "idle for")
			assert.False(t, c["w1"].LongIdle())
		} else {
			// The embedded server does not know w1's idle time: with nothing
			// pending and no worker running as it, it counts as idle.
			assert.Equal(t, []string{"w1"}, res.Deleted)
		}
	})
}

func TestDeleteIdleConsumersOfAMissingGroup(t *testing.T) {
	onBackends(t, func(t *testing.T, s *streams.Store) {
		_, err := workers.DeleteIdleConsumers(context.Background(), s, "nobody", workers.ForgetOptions{})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "forget consumers of nobody")
	})
}

func TestLongIdle(t *testing.T) {
	t.Parallel()
	assert.True(t, streamview.ConsumerState{Idle: streams.LongIdle}.LongIdle())
	assert.False(t, streamview.ConsumerState{Idle: streams.LongIdle - time.Millisecond}.LongIdle())
	assert.False(t, streamview.ConsumerState{Idle: -time.Millisecond}.LongIdle(), "unknown idle is not long idle")
}
