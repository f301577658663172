package redisconn

import (
	"context"
	"testing"

	"claimsctl/streams/redistest"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Redis 6 has no CLUSTER SHARDS; its CLUSTER SLOTS must give the same map.
func TestShardsAndSlotsAgree(t *testing.T) {
	t.Parallel()
	c := redistest.StartCluster(t, 3, 0)
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Seeds(), Protocol: 2})
	t.Cleanup(func() { _ = rdb.Close() })
	ctx := context.Background()
	fromShards, err := ReadShards(ctx, rdb)
	require.NoError(t, err)
	fromSlots, err := readSlots(ctx, rdb)
	require.NoError(t, err)
	require.NotEmpty(t, fromShards.Masters)
	assert.Equal(t, fromShards.Masters, fromSlots.Masters)
	assert.Equal(t, fromShards.Replicas, fromSlots.Replicas)
	for _, m := range fromShards.Masters {
		assert.ElementsMatch(t, fromShards.Slots[m], fromSlots.Slots[m], "slots of %s", m)
	}
}
