package classroom_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"claimsctl/streams/classroom"
	"claimsctl/streams/redistest"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cluster is the package's Redis Cluster, with a replica per master: a
// student's user must be on the replicas too.
var cluster = redistest.NewSharedCluster(3, 1)

func TestMain(m *testing.M) {
	code := m.Run()
	cluster.Stop()
	os.Exit(code)
}

// server is where a test makes its class: a redis-server of its own, or
// the package's cluster (the test's students then have names of their
// own), with the admin's client and a way to connect as anyone.
type server struct {
	admin redis.UniversalClient
	// as connects as user with password.
	as func(t *testing.T, user, password string) redis.UniversalClient
	// nodes are the addresses of every node (masters and replicas).
	nodes []string
}

func forEachServer(t *testing.T, fn func(t *testing.T, srv server, name func(string) string)) {
	t.Run("redis", func(t *testing.T) {
		t.Parallel()
		r := redistest.Start(t)
		as := func(t *testing.T, user, password string) redis.UniversalClient {
			c := redis.NewClient(&redis.Options{Addr: r.Addr(), Username: user, Password: password, Protocol: 2})
			t.Cleanup(func() { c.Close() })
			return c
		}
		fn(t, server{admin: as(t, "", ""), as: as, nodes: []string{r.Addr()}}, func(s string) string { return s })
	})
	t.Run("cluster", func(t *testing.T) {
		t.Parallel()
		c := cluster.Get(t)
		as := func(t *testing.T, user, password string) redis.UniversalClient {
			cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Seeds(), Username: user, Password: password, Protocol: 2})
			t.Cleanup(func() { cc.Close() })
			return cc
		}
		// Every test its own students: the cluster is shared.
		tag := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
		fn(t, server{admin: as(t, "", ""), as: as, nodes: c.Addrs()}, func(s string) string { return tag + "-" + s })
	})
}

// nodeUsers is the users of the node at addr (ACL USERS), asked of that
// node alone.
func nodeUsers(t *testing.T, addr string) []string {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	users, err := c.Do(context.Background(), "ACL", "USERS").StringSlice()
	require.NoError(t, err, addr)
	return users
}

func noPerm(t *testing.T, err error, what string) {
	t.Helper()
	if assert.Error(t, err, what) {
		// A script's own calls are refused with ERR, not NOPERM.
		assert.Regexp(t, `^NOPERM|^ERR The user executing the script can't access`, err.Error(), what)
	}
}

// TestStudentsAreWalledOff: student A can neither read nor write B's
// keys, by any route the lab uses (streams, groups, hashes, scripts), nor
// run a command that reaches the whole server; its own keys and what the
// lab needs (scripts, XINFO, MEMORY USAGE, INFO, SCAN) work.
func TestStudentsAreWalledOff(t *testing.T) {
	t.Parallel()
	forEachServer(t, func(t *testing.T, srv server, name func(string) string) {
		ctx := context.Background()
		alice, bob := name("alice"), name("bob")
		res, err := classroom.Add(ctx, srv.admin, []string{alice, bob}, false)
		require.NoError(t, err)
		require.Len(t, res.Students, 2)
		assert.False(t, res.Saved, "the test's servers have no ACL file")
		for _, addr := range srv.nodes {
			assert.Subset(t, nodeUsers(t, addr), []string{alice, bob}, "node %s knows the students", addr)
		}
		a := srv.as(t, alice, res.Students[0].Password)
		b := srv.as(t, bob, res.Students[1].Password)

		// Bob's keys, as the store lays them out (unpartitioned and
		// partitioned names), and a group on his stream.
		bobStream := bob + ":claims:events"
		bobTagged := bob + ":claims:{x}:events"
		bobHash := bob + ":claim:{x}:c1"
		require.NoError(t, b.XAdd(ctx, &redis.XAddArgs{Stream: bobStream, Values: []any{"type", "claim.submitted"}}).Err())
		require.NoError(t, b.XAdd(ctx, &redis.XAddArgs{Stream: bobTagged, Values: []any{"type", "claim.submitted"}}).Err())
		require.NoError(t, b.XGroupCreate(ctx, bobStream, "processors", "0").Err())
		require.NoError(t, b.HSet(ctx, bobHash, "status", "submitted").Err())
		const script = "return redis.call('XLEN', KEYS[1])"
		sha, err := b.ScriptLoad(ctx, script).Result()
		require.NoError(t, err)
		n, err := b.EvalSha(ctx, sha, []string{bobStream}).Int64()
		require.NoError(t, err)
		assert.Equal(t, int64(1), n, "bob runs the script on his own keys")

		noPerm(t, a.XAdd(ctx, &redis.XAddArgs{Stream: bobStream, Values: []any{"type", "forged"}}).Err(), "XADD to B's stream")
		noPerm(t, a.XAdd(ctx, &redis.XAddArgs{Stream: bobTagged, Values: []any{"type", "forged"}}).Err(), "XADD to B's partition")
		noPerm(t, a.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "processors", Consumer: "a", Streams: []string{bobStream, ">"}, Count: 1, Block: -1}).Err(), "XREADGROUP of B's stream")
		noPerm(t, a.XRange(ctx, bobStream, "-", "+").Err(), "XRANGE of B's stream")
		noPerm(t, a.XInfoGroups(ctx, bobStream).Err(), "XINFO GROUPS of B's stream")
		noPerm(t, a.HGet(ctx, bobHash, "status").Err(), "HGET of B's hash")
		noPerm(t, a.HSet(ctx, bobHash, "status", "approved").Err(), "HSET of B's hash")
		noPerm(t, a.Del(ctx, bobStream).Err(), "DEL of B's stream")
		noPerm(t, a.Rename(ctx, bobHash, alice+":claim:{x}:stolen").Err(), "RENAME of B's hash into A's keys")
		noPerm(t, a.EvalSha(ctx, sha, []string{bobStream}).Err(), "EVALSHA on B's keys")
		noPerm(t, a.Eval(ctx, "return redis.call('XLEN', ARGV[1])", []string{alice + ":x"}, bobStream).Err(), "a script touching B's key it did not declare")
		noPerm(t, a.MemoryUsage(ctx, bobStream).Err(), "MEMORY USAGE of B's stream")

		for _, cmd := range [][]any{
			{"FLUSHALL"}, {"FLUSHDB"}, {"CONFIG", "GET", "requirepass"}, {"CONFIG", "SET", "maxmemory", "1"},
			{"KEYS", "*"}, {"RANDOMKEY"}, {"DEBUG", "SLEEP", "0"}, {"SHUTDOWN", "NOSAVE"}, {"MODULE", "LIST"},
			{"ACL", "LIST"}, {"ACL", "SETUSER", alice, "~*"}, {"ACL", "GETUSER", bob}, {"ACL", "DELUSER", bob},
			{"SCRIPT", "FLUSH"}, {"SCRIPT", "KILL"}, {"FUNCTION", "FLUSH"}, {"CLIENT", "LIST"}, {"CLIENT", "KILL", "USER", bob},
			{"MONITOR"}, {"SLOWLOG", "GET"}, {"SAVE"}, {"BGSAVE"}, {"SWAPDB", "0", "1"}, {"REPLICAOF", "NO", "ONE"},
		} {
			// Every node refuses it, replicas too: ask each alone, and ask
			// its ACL (DRYRUN) too, since DEBUG is refused by a setting of
			// its own before the ACL is consulted.
			for _, addr := range srv.nodes {
				node := redis.NewClient(&redis.Options{Addr: addr, Username: alice, Password: res.Students[0].Password, Protocol: 2})
				err := node.Do(ctx, cmd...).Err()
				node.Close()
				assert.Error(t, err, "%s: %s", addr, cmdString(cmd))
				root := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2})
				verdict, err := root.Do(ctx, append([]any{"ACL", "DRYRUN", alice}, cmd...)...).Text()
				root.Close()
				require.NoError(t, err)
				assert.Contains(t, verdict, "no permissions to run", "%s: %s", addr, cmdString(cmd))
			}
		}

		// Nothing of bob's moved.
		assert.Equal(t, int64(1), b.XLen(ctx, bobStream).Val())
		assert.Equal(t, "submitted", b.HGet(ctx, bobHash, "status").Val())
		// SCRIPT FLUSH was refused: bob's script is still where his key
		// lives (SCRIPT LOAD reaches a cluster's masters only, so ask there).
		n, err = b.EvalSha(ctx, sha, []string{bobStream}).Int64()
		require.NoError(t, err, "bob's script is still loaded")
		assert.Equal(t, int64(1), n)

		// Alice's own keys, and what the lab needs, work.
		own := alice + ":claims:{x}:events"
		require.NoError(t, a.XAdd(ctx, &redis.XAddArgs{Stream: own, Values: []any{"type", "claim.submitted"}}).Err())
		require.NoError(t, a.XGroupCreate(ctx, own, "processors", "0").Err())
		require.NoError(t, a.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "processors", Consumer: "a", Streams: []string{own, ">"}, Count: 1, Block: -1}).Err())
		require.NoError(t, a.XInfoStream(ctx, own).Err())
		asha, err := a.ScriptLoad(ctx, script).Result()
		require.NoError(t, err)
		n, err = a.EvalSha(ctx, asha, []string{own}).Int64()
		require.NoError(t, err)
		assert.Equal(t, int64(1), n)
		require.NoError(t, a.MemoryUsage(ctx, own).Err())
		require.NoError(t, a.Info(ctx, "server").Err(), "step 1 reads INFO")
		whoami, err := a.Do(ctx, "ACL", "WHOAMI").Text()
		require.NoError(t, err)
		assert.Equal(t, alice, whoami)

		// The tool finds the prefix by itself: alice's, and none for the
		// admin.
		prefix, err := classroom.ACLPrefix(ctx, a, alice, classroom.Prefix(alice))
		require.NoError(t, err)
		assert.Equal(t, alice+":", prefix)
		prefix, err = classroom.ACLPrefix(ctx, srv.admin, "default", "default:")
		require.NoError(t, err)
		assert.Empty(t, prefix)
	})
}

func cmdString(cmd []any) string {
	var parts []string
	for _, c := range cmd {
		parts = append(parts, c.(string))
	}
	return strings.Join(parts, " ")
}

// TestAddResetListRemove: a student added twice is refused unless reset,
// which changes its password; a name in use by another Redis user, or
// not fit, is refused and nothing is made; remove deletes the users on
// every node.
func TestAddResetListRemove(t *testing.T) {
	t.Parallel()
	forEachServer(t, func(t *testing.T, srv server, name func(string) string) {
		ctx := context.Background()
		carol, dave := name("carol"), name("dave")
		res, err := classroom.Add(ctx, srv.admin, []string{carol}, false)
		require.NoError(t, err)
		old := res.Students[0].Password
		assert.Len(t, old, 26, "crypto/rand.Text: 128 bits")

		_, err = classroom.Add(ctx, srv.admin, []string{dave, carol}, false)
		assert.ErrorIs(t, err, classroom.ErrExists)
		assert.NotContains(t, nodeUsers(t, srv.nodes[0]), dave, "nothing made when one name is refused")

		require.NoError(t, srv.admin.Do(ctx, "ACL", "SETUSER", dave+"-ops", "on", "nopass", "~*", "+@all").Err())
		_, err = classroom.Add(ctx, srv.admin, []string{dave + "-ops"}, true)
		assert.ErrorIs(t, err, classroom.ErrNotStudent, "a user class add did not make is never reset")
		_, err = classroom.Remove(ctx, srv.admin, []string{dave + "-ops"})
		assert.ErrorIs(t, err, classroom.ErrNotStudent, "nor removed")

		for _, bad := range [][]string{{"default"}, {"al*ce"}, {"a:b"}, {"{x}"}, {""}, {"x y"}, {carol, carol}, {}} {
			_, err := classroom.Add(ctx, srv.admin, bad, true)
			assert.Error(t, err, "%q", bad)
		}

		res, err = classroom.Add(ctx, srv.admin, []string{carol, dave}, true)
		require.NoError(t, err)
		assert.NotEqual(t, old, res.Students[0].Password)
		err = srv.as(t, carol, old).Ping(ctx).Err()
		if assert.Error(t, err, "the old password stops working") {
			assert.Contains(t, err.Error(), "WRONGPASS")
		}
		require.NoError(t, srv.as(t, carol, res.Students[0].Password).Ping(ctx).Err())

		students, err := classroom.List(ctx, srv.admin)
		require.NoError(t, err)
		assert.Subset(t, students, []string{carol, dave})
		assert.NotContains(t, students, dave+"-ops")
		assert.NotContains(t, students, "default")

		_, err = classroom.Remove(ctx, srv.admin, []string{carol, dave})
		require.NoError(t, err)
		for _, addr := range srv.nodes {
			users := nodeUsers(t, addr)
			assert.NotContains(t, users, carol, addr)
			assert.NotContains(t, users, dave, addr)
		}
		students, err = classroom.List(ctx, srv.admin)
		require.NoError(t, err)
		assert.NotContains(t, students, carol)
	})
}

// TestAddSavesToTheACLFile: a server started with an ACL file keeps the
// students across a restart.
func TestAddSavesToTheACLFile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	aclfile := filepath.Join(t.TempDir(), "users.acl")
	require.NoError(t, os.WriteFile(aclfile, nil, 0o600))
	srv := redistest.Start(t, redistest.WithArgs("--aclfile", aclfile))
	admin := redis.NewClient(&redis.Options{Addr: srv.Addr(), Protocol: 2})
	defer admin.Close()
	res, err := classroom.Add(ctx, admin, []string{"erin"}, false)
	require.NoError(t, err)
	assert.True(t, res.Saved)
	raw, err := os.ReadFile(aclfile)
	require.NoError(t, err)
	assert.Contains(t, string(raw), "user erin on")
	assert.NotContains(t, string(raw), res.Students[0].Password, "Redis keeps only the hash")

	srv.Restart(t)
	erin := redis.NewClient(&redis.Options{Addr: srv.Addr(), Username: "erin", Password: res.Students[0].Password})
	defer erin.Close()
	require.NoError(t, erin.Ping(ctx).Err(), "erin's user survived the restart")

	res, err = classroom.Remove(ctx, admin, []string{"erin"})
	require.NoError(t, err)
	assert.True(t, res.Saved)
	raw, err = os.ReadFile(aclfile)
	require.NoError(t, err)
	assert.NotContains(t, string(raw), "erin")
}
