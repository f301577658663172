package redistest_test

import (
	"context"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"claimsctl/streams/redistest"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func client(t *testing.T, srv *redistest.Server) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// requireDown checks the port is closed. A raw dial, because go-redis would
// retry with backoff and log every attempt.
func requireDown(t *testing.T, srv *redistest.Server) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", srv.Addr(), time.Second)
	if err == nil {
		_ = conn.Close()
	}
	require.Error(t, err, "server should be down")
}

func TestStart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := redistest.Start(t)

	assert.Equal(t, fmt.Sprintf("127.0.0.1:%d", srv.Port()), srv.Addr())
	assert.Equal(t, "redis://"+srv.Addr(), srv.URL())
	assert.Empty(t, srv.CAFile(), "no TLS unless asked for")

	rdb := client(t, srv)
	require.NoError(t, rdb.Ping(ctx).Err())
	require.NoError(t, rdb.Set(ctx, "k", "v", 0).Err())
	got, err := rdb.Get(ctx, "k").Result()
	require.NoError(t, err)
	assert.Equal(t, "v", got)

	opts, err := redis.ParseURL(srv.URL())
	require.NoError(t, err)
	assert.Equal(t, srv.Addr(), opts.Addr)
}

func TestServersAreIsolated(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b := redistest.Start(t), redistest.Start(t)
	require.NotEqual(t, a.Port(), b.Port())

	require.NoError(t, client(t, a).Set(ctx, "k", "a", 0).Err())
	err := client(t, b).Get(ctx, "k").Err()
	assert.ErrorIs(t, err, redis.Nil)
}

func TestAOFSurvivesRestart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := redistest.Start(t, redistest.WithAOF())
	port := srv.Port()

	rdb := client(t, srv)
	appendonly, err := rdb.ConfigGet(ctx, "appendonly").Result()
	require.NoError(t, err)
	require.Equal(t, "yes", appendonly["appendonly"])
	require.NoError(t, rdb.XAdd(ctx, &redis.XAddArgs{Stream: "s", Values: []any{"f", "v"}}).Err())
	require.NoError(t, rdb.Set(ctx, "k", "v", 0).Err())

	srv.Stop()
	requireDown(t, srv)
	srv.Restart(t)

	assert.Equal(t, port, srv.Port())
	got, err := rdb.Get(ctx, "k").Result()
	require.NoError(t, err)
	assert.Equal(t, "v", got)
	n, err := rdb.XLen(ctx, "s").Result()
	require.NoError(t, err)
	assert.Equal(t, int64(1), n)
}

func TestKillThenRestart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := redistest.Start(t)
	rdb := client(t, srv)
	require.NoError(t, rdb.Set(ctx, "k", "v", 0).Err())

	srv.Kill()
	requireDown(t, srv)
	srv.Restart(t)

	require.NoError(t, rdb.Ping(ctx).Err())
	// Without AOF and with --save "" nothing is persisted.
	assert.ErrorIs(t, rdb.Get(ctx, "k").Err(), redis.Nil)
}

func TestRestartWhileRunning(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := redistest.Start(t)
	srv.Restart(t)
	require.NoError(t, client(t, srv).Ping(ctx).Err())
}

func TestWithArgs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := redistest.Start(t, redistest.WithArgs("--maxmemory", "10mb"))
	got, err := client(t, srv).ConfigGet(ctx, "maxmemory").Result()
	require.NoError(t, err)
	assert.Equal(t, "10485760", got["maxmemory"])
}

func TestLog(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t, redistest.WithArgs("--loglevel", "notice"))
	assert.True(t, strings.Contains(srv.Log(), "Ready to accept connections"), srv.Log())
}

func TestWithTLS(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := redistest.Start(t, redistest.WithTLS())
	assert.Equal(t, "rediss://"+srv.Addr(), srv.URL())

	pem, err := os.ReadFile(srv.CAFile())
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(pem), "CAFile is a PEM certificate")
	opts, err := redis.ParseURL(srv.URL())
	require.NoError(t, err)
	opts.TLSConfig.RootCAs = pool
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { _ = rdb.Close() })
	require.NoError(t, rdb.Set(ctx, "k", "v", 0).Err(), "the certificate is valid for 127.0.0.1, signed by CAFile")

	// It speaks TLS only: a plain client gets no answer.
	conn, err := net.DialTimeout("tcp", srv.Addr(), time.Second)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(time.Second)))
	_, err = conn.Write([]byte("*1\r\n$4\r\nPING\r\n"))
	require.NoError(t, err)
	reply := make([]byte, 5)
	n, _ := conn.Read(reply)
	assert.NotEqual(t, "+PONG", string(reply[:n]))

	srv.Restart(t)
	require.NoError(t, rdb.Ping(ctx).Err(), "a restart keeps TLS and its certificate")
}
