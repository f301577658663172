package classroom_test

import (
	"context"
	"strings"
	"testing"

	"claimsctl/streams/classroom"
	"claimsctl/streams/quota"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// status is name's line of a watch's measurement.
func status(t *testing.T, statuses []classroom.Status, name string) classroom.Status {
	t.Helper()
	for _, s := range statuses {
		if s.Name == name {
			return s
		}
	}
	require.Failf(t, "not watched", "%s is not among the statuses", name)
	return classroom.Status{}
}

// TestWatcherHoldsStudentsToTheirQuota: a student past its recorded
// quota loses its writes, in its own commands and in its scripts, at
// once on the connections it has open, but may still delete, and gets
// them back under it; another student is not touched; a watch started
// afresh gives back the writes an earlier one took from a student now
// under its quota; class remove forgets the quota.
func TestWatcherHoldsStudentsToTheirQuota(t *testing.T) {
	t.Parallel()
	forEachServer(t, func(t *testing.T, srv server, name func(string) string) {
		ctx := context.Background()
		alice, bob := name("alice"), name("bob")
		res, err := classroom.Add(ctx, srv.admin, []string{alice, bob}, false)
		require.NoError(t, err)
		require.NoError(t, classroom.SetQuota(ctx, srv.admin, []string{alice, bob}, quota.Limits{Bytes: 1 << 20, Keys: 50}))
		quotas, err := classroom.Quotas(ctx, srv.admin)
		require.NoError(t, err)
		assert.Equal(t, quota.Limits{Bytes: 1 << 20, Keys: 50}, quotas[alice])
		asAlice := srv.as(t, alice, res.Students[0].Password)
		asBob := srv.as(t, bob, res.Students[1].Password)

		w := classroom.NewWatcher(srv.admin, quota.Limits{})
		statuses, err := w.Tick(ctx)
		require.NoError(t, err)
		assert.False(t, status(t, statuses, alice).Blocked)

		chunk := strings.Repeat("x", 400<<10)
		for i := range 3 {
			require.NoError(t, asAlice.Set(ctx, alice+":big"+string(rune('a'+i)), chunk, 0).Err())
		}
		require.NoError(t, asBob.Set(ctx, bob+":small", "x", 0).Err())
		statuses, err = w.Tick(ctx)
		require.NoError(t, err)
		s := status(t, statuses, alice)
		assert.True(t, s.Blocked && s.Changed, "%+v", s)
		assert.Equal(t, "bytes", s.Over())
		assert.GreaterOrEqual(t, s.Usage.Bytes, int64(1200<<10))
		assert.EqualValues(t, 3, s.Usage.Keys)
		assert.False(t, status(t, statuses, bob).Blocked)

		noPerm(t, asAlice.Set(ctx, alice+":more", "x", 0).Err(), "SET past the quota")
		noPerm(t, asAlice.XAdd(ctx, &redis.XAddArgs{Stream: alice + ":claims:events", Values: []any{"a", "b"}}).Err(), "XADD past the quota")
		err = asAlice.Eval(ctx, "return redis.call('SET', KEYS[1], 'x')", []string{alice + ":more"}).Err()
		if assert.Error(t, err, "a script's SET past the quota") {
			assert.Contains(t, err.Error(), "can't run this command")
		}
		require.NoError(t, asAlice.Get(ctx, alice+":biga").Err(), "reads are left")
		require.NoError(t, asBob.Set(ctx, bob+":small", "y", 0).Err(), "bob's writes are left")

		require.NoError(t, asAlice.Del(ctx, alice+":biga").Err(), "deletes are left")
		require.NoError(t, asAlice.Unlink(ctx, alice+":bigb").Err(), "deletes are left")
		statuses, err = w.Tick(ctx)
		require.NoError(t, err)
		s = status(t, statuses, alice)
		assert.True(t, !s.Blocked && s.Changed, "%+v", s)
		require.NoError(t, asAlice.Set(ctx, alice+":more", "x", 0).Err(), "writes are back")
		statuses, err = w.Tick(ctx)
		require.NoError(t, err)
		assert.False(t, status(t, statuses, alice).Changed, "nothing changed: nothing said")

		// Past the key quota; then a watch that died with alice blocked,
		// and alice back under: the next watch gives the writes back.
		pipe := asAlice.Pipeline()
		for i := range 60 {
			pipe.Set(ctx, alice+":k"+string(rune('A'+i)), "x", 0)
		}
		_, err = pipe.Exec(ctx)
		require.NoError(t, err)
		statuses, err = w.Tick(ctx)
		require.NoError(t, err)
		assert.Equal(t, "keys", status(t, statuses, alice).Over())
		noPerm(t, asAlice.Set(ctx, alice+":more", "x", 0).Err(), "SET past the key quota")
		require.NoError(t, classroom.SetQuota(ctx, srv.admin, []string{alice}, quota.Limits{Bytes: 1 << 20, Keys: 1000}))
		statuses, err = classroom.NewWatcher(srv.admin, quota.Limits{}).Tick(ctx)
		require.NoError(t, err)
		assert.False(t, status(t, statuses, alice).Blocked)
		require.NoError(t, asAlice.Set(ctx, alice+":more", "x", 0).Err(), "a new watch gives the writes back")

		_, err = classroom.Remove(ctx, srv.admin, []string{alice, bob})
		require.NoError(t, err)
		quotas, err = classroom.Quotas(ctx, srv.admin)
		require.NoError(t, err)
		assert.NotContains(t, quotas, alice)
	})
}

// TestWatcherCountsEveryDatabase: a student that SELECTs another
// database, where its ACL holds it to the same keys, is measured there
// too.
func TestWatcherCountsEveryDatabase(t *testing.T) {
	t.Parallel()
	forEachServer(t, func(t *testing.T, srv server, name func(string) string) {
		if len(srv.nodes) > 1 {
			t.Skip("a cluster has one database")
		}
		ctx := context.Background()
		eve := name("eve")
		res, err := classroom.Add(ctx, srv.admin, []string{eve}, false)
		require.NoError(t, err)
		require.NoError(t, classroom.SetQuota(ctx, srv.admin, []string{eve}, quota.Limits{Bytes: 1 << 20}))
		o := *srv.as(t, eve, res.Students[0].Password).(*redis.Client).Options()
		o.DB = 5
		inDB5 := redis.NewClient(&o)
		defer inDB5.Close()
		require.NoError(t, inDB5.Set(ctx, eve+":big", strings.Repeat("x", 2<<20), 0).Err())
		statuses, err := classroom.NewWatcher(srv.admin, quota.Limits{}).Tick(ctx)
		require.NoError(t, err)
		assert.True(t, status(t, statuses, eve).Blocked, "2 MiB in db 5 is over 1 MiB")
	})
}
