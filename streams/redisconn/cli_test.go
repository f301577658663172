package redisconn

import (
	"claimsctl/streams/redistest"
	"net"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRedisCLINamesTheServer: the redis-cli line a hint prints reaches
// the server in use, a cluster with -c.
func TestRedisCLINamesTheServer(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	seeds := redistest.StartCluster(t, 3, 0).Seeds()
	for name, o := range map[string]ConnectOptions{
		"redis": {URL: srv.URL()}, "embedded": {Embedded: true}, "cluster": {Cluster: strings.Join(seeds, ",")},
	} {
		b, err := connect(t, o)
		require.NoError(t, err, name)
		var addr string
		want := "redis-cli -p "
		switch c := b.Client.(type) {
		case *redis.ClusterClient:
			addr, want = c.Options().Addrs[0], "redis-cli -c -p "
		case *redis.Client:
			addr = c.Options().Addr
		}
		_, port, err := net.SplitHostPort(addr)
		require.NoError(t, err)
		assert.Equal(t, want+port, RedisCLI(b.Client), name)
	}
	// An ACL user's line asks for the password, which it never shows.
	for _, c := range []struct {
		rdb  redis.UniversalClient
		want string
	}{
		{redis.NewClient(&redis.Options{Addr: "127.0.0.1:16399", Username: "alice", Password: "pw"}), "redis-cli -p 16399 --user alice --askpass"},
		{redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"10.0.0.7:6379"}, Username: "alice", Password: "pw"}), "redis-cli -c -h 10.0.0.7 --user alice --askpass"},
		{redis.NewClient(&redis.Options{Addr: "localhost:6379", Username: "default", Password: "pw"}), "redis-cli"},
	} {
		assert.Equal(t, c.want, RedisCLI(c.rdb))
		c.rdb.Close()
	}
}
