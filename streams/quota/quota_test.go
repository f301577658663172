package quota_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"claimsctl/streams/quota"
	"claimsctl/streams/redistest"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func client(t *testing.T) *redis.Client {
	t.Helper()
	srv := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// guarded is a client of rdb's server with the quota's hook on it.
func guarded(t *testing.T, rdb *redis.Client, prefix string, l quota.Limits) (*redis.Client, *quota.Guard, *atomic.Int32) {
	t.Helper()
	c := redis.NewClient(rdb.Options())
	t.Cleanup(func() { c.Close() })
	var calls atomic.Int32
	g := quota.New(c, prefix, l, func(error) { calls.Add(1) })
	require.NoError(t, g.Start(context.Background()))
	c.AddHook(g.Hook())
	return c, g, &calls
}

// TestHookRefusesTheWriteThatWouldPassTheQuota: 1 MiB appends under a 4
// MiB quota; the one that would pass it is not sent, every write after it
// is refused, onExceed is called once, and the server holds at most the
// quota. Keys of other prefixes do not count.
func TestHookRefusesTheWriteThatWouldPassTheQuota(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := client(t)
	require.NoError(t, rdb.Set(ctx, "other:big", strings.Repeat("o", 8<<20), 0).Err())
	c, g, calls := guarded(t, rdb, "f:", quota.Limits{Bytes: 4 << 20})
	chunk := strings.Repeat("x", 1<<20)
	var err error
	n := 0
	for ; n < 10 && err == nil; n++ {
		err = c.Append(ctx, "f:big", chunk).Err()
	}
	var ex *quota.ExceededError
	require.ErrorAs(t, err, &ex)
	assert.Equal(t, "bytes", ex.Kind)
	assert.True(t, ex.Refused)
	assert.Contains(t, err.Error(), "over its quota of 4.0 MiB")
	stored, err := rdb.StrLen(ctx, "f:big").Result()
	require.NoError(t, err)
	assert.LessOrEqual(t, stored, int64(4<<20), "the write that would pass it was not sent")
	assert.GreaterOrEqual(t, stored, int64(3<<20))

	err = c.Set(ctx, "f:small", "v", 0).Err()
	assert.ErrorAs(t, err, &ex, "past the quota, every write is refused")
	assert.NoError(t, c.Get(ctx, "f:big").Err(), "reads still go")
	assert.Equal(t, int32(1), calls.Load())
	assert.Equal(t, g.Err(), ex)
}

// TestOverwritesDoNotCount: the hook counts each write as new, then asks
// the server: writing the same key again and again stays under the quota.
func TestOverwritesDoNotCount(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := client(t)
	c, g, _ := guarded(t, rdb, "f:", quota.Limits{Bytes: 4 << 20, Keys: 3})
	chunk := strings.Repeat("x", 1<<20)
	for i := 0; i < 20; i++ {
		require.NoError(t, c.Set(ctx, "f:same", chunk, 0).Err(), "write %d", i)
		require.NoError(t, c.HSet(ctx, "f:hash", "field", i).Err(), "write %d", i)
	}
	require.NoError(t, g.Err())
}

// TestManyKeys: the key quota holds, whatever their size.
func TestManyKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := client(t)
	c, _, _ := guarded(t, rdb, "f:", quota.Limits{Keys: 100})
	var err error
	for i := 0; i < 1000 && err == nil; i++ {
		err = c.Set(ctx, "f:k"+strings.Repeat("x", i%7)+string(rune('a'+i%26))+string(rune('a'+i/26)), "v", 0).Err()
	}
	var ex *quota.ExceededError
	require.ErrorAs(t, err, &ex)
	assert.Equal(t, "keys", ex.Kind)
	keys, err := rdb.Keys(ctx, "f:*").Result()
	require.NoError(t, err)
	assert.LessOrEqual(t, len(keys), 101)
}

// TestWatchSeesWritesThatDodgeTheHook: a client without the hook writes
// under the prefix; the server-side measurement stops it all the same.
func TestWatchSeesWritesThatDodgeTheHook(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	rdb := client(t)
	g := quota.New(rdb, "f:", quota.Limits{Bytes: 1 << 20}, cancel)
	require.NoError(t, g.Start(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		g.Watch(ctx)
	}()
	require.NoError(t, rdb.Set(context.Background(), "f:dodge", strings.Repeat("x", 2<<20), 0).Err())
	<-done
	var ex *quota.ExceededError
	require.ErrorAs(t, context.Cause(ctx), &ex, "onExceed cancelled the file")
	assert.False(t, ex.Refused)
	assert.Greater(t, ex.Reached, int64(2<<20))
}

// TestBaseline: a keyspace that held data before (run --sandbox on a
// student's own prefix) is bounded in what it adds.
func TestBaseline(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := client(t)
	require.NoError(t, rdb.Set(ctx, "f:old", strings.Repeat("o", 3<<20), 0).Err())
	c, g, _ := guarded(t, rdb, "f:", quota.Limits{Bytes: 2 << 20})
	require.NoError(t, c.Set(ctx, "f:new", strings.Repeat("n", 1<<20), 0).Err())
	require.NoError(t, g.Check(ctx))
	require.Error(t, c.Set(ctx, "f:more", strings.Repeat("n", 2<<20), 0).Err())
}

// TestEmbeddedEstimate: the embedded server has no MEMORY USAGE; the
// guard estimates from the sizes of the keys.
func TestEmbeddedEstimate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { rdb.Close() })
	g := quota.New(rdb, "f:", quota.Limits{Bytes: 1 << 20}, nil)
	require.NoError(t, g.Start(ctx))
	require.NoError(t, rdb.Set(ctx, "f:s", strings.Repeat("x", 1<<19), 0).Err())
	require.NoError(t, rdb.XAdd(ctx, &redis.XAddArgs{Stream: "f:stream", Values: []string{"a", "b"}}).Err())
	require.NoError(t, g.Check(ctx))
	require.NoError(t, rdb.Set(ctx, "f:t", strings.Repeat("x", 1<<19), 0).Err())
	var ex *quota.ExceededError
	require.True(t, errors.As(g.Check(ctx), &ex))
}

// TestCluster measures a prefix spread over every master of a cluster.
func TestCluster(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := redistest.StartCluster(t, 3, 0)
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Seeds()})
	t.Cleanup(func() { rdb.Close() })
	g := quota.New(rdb, "f:", quota.Limits{Keys: 50}, nil)
	require.NoError(t, g.Start(ctx))
	for i := 0; i < 50; i++ {
		require.NoError(t, rdb.Set(ctx, "f:{"+string(rune('a'+i%26))+"}"+string(rune('a'+i/26)), "v", 0).Err())
	}
	require.NoError(t, g.Check(ctx), "50 keys over three masters: at the quota, not past it")
	require.NoError(t, rdb.Set(ctx, "f:{z}last", "v", 0).Err())
	var ex *quota.ExceededError
	require.ErrorAs(t, g.Check(ctx), &ex)
	assert.Equal(t, int64(51), ex.Reached)
}
