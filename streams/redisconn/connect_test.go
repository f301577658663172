package redisconn

import (
	"context"
	"crypto/x509"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"claimsctl/streams/claims"
	"claimsctl/streams/redistest"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// secret is a password that must never reach a message.
const secret = "s3cret-Pa55"

// connectTimeout keeps the unreachable cases short.
const connectTimeout = 300 * time.Millisecond

// connect calls Connect and closes what it returns at the end of the test.
func connect(t *testing.T, o ConnectOptions) (*Backend, error) {
	t.Helper()
	b, err := Connect(context.Background(), o)
	if err == nil {
		t.Cleanup(func() { _ = b.Close() })
	}
	return b, err
}

// requireWorks checks the backend answers a command that writes (to a key
// of the test's own: subtests share servers).
func requireWorks(t *testing.T, b *Backend) {
	t.Helper()
	ctx := context.Background()
	key := "connect:" + t.Name()
	require.NoError(t, b.Client.Ping(ctx).Err())
	require.NoError(t, b.Client.XAdd(ctx, &redis.XAddArgs{Stream: key, Values: []any{"f", "v"}}).Err())
	n, err := b.Client.XLen(ctx, key).Result()
	require.NoError(t, err)
	assert.Equal(t, int64(1), n)
}

// startLocked starts a redis-server that requires the password secret. It
// is set after start because redistest's readiness PING does not log in.
func startLocked(t *testing.T) *redistest.Server {
	t.Helper()
	srv := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rdb.Close()
	require.NoError(t, rdb.ConfigSet(context.Background(), "requirepass", secret).Err())
	return srv
}

func TestConnectUnreachable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts ConnectOptions
		desc string
	}{
		{"url", ConnectOptions{URL: "redis://127.0.0.1:1"}, "Redis at 127.0.0.1:1"},
		{"url with password", ConnectOptions{URL: "redis://alice:" + secret + "@127.0.0.1:1/2"}, "Redis at 127.0.0.1:1 as alice"},
		{"tls url", ConnectOptions{URL: "rediss://:" + secret + "@127.0.0.1:1"}, "Redis at 127.0.0.1:1 (TLS)"},
		{"host and port", ConnectOptions{Host: "127.0.0.1", Port: "1", Password: secret}, "Redis at 127.0.0.1:1 (REDIS_HOST/REDIS_PORT)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.opts.Timeout = connectTimeout
			// An explicit address that does not answer is an error, never a
			// silent fall back to the embedded server.
			b, err := connect(t, tt.opts)
			require.Error(t, err)
			assert.Nil(t, b)
			assert.ErrorIs(t, err, claims.ErrUnreachable)
			assert.Contains(t, err.Error(), tt.desc)
			assert.Contains(t, err.Error(), "connection refused", "the real cause, not a retry loop's deadline")
			assert.NotContains(t, err.Error(), secret)
		})
	}
}

// encodedSecret is secret percent-encoded ('3' as %33): a message must not
// hold it in that form either.
const encodedSecret = "s%33cret-Pa55"

func TestConnectBadURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ url, says string }{
		{"http://u:" + secret + "@127.0.0.1:6379", "want redis://"},
		{"redis://u:" + secret + "@", "want redis://"},
		{"127.0.0.1:6379", "want redis://"},
		{"redis://u:" + secret + "@127.0.0.1:notaport", "want redis://"},
		{"redis://u:" + secret + "@[::1", "want redis://"},
		{"redis://u:" + encodedSecret + "@127.0.0.1:bad port", "want redis://"},
		{"redis://u:" + secret + "@127.0.0.1:6379/notadb", "invalid database number"},
		{"redis://u:" + secret + "@127.0.0.1:6379/0?dial_timeout=soon", `invalid dial_timeout duration: time: invalid duration "soon"`},
		{"redis://u:" + encodedSecret + "@127.0.0.1:6379/0?nosuch=1", "unexpected option: nosuch"},
		{"redis://127.0.0.1:6379/0?password=" + secret, "not in ?password="},
		{"redis://127.0.0.1:6379?db=1&password=" + encodedSecret, "not in ?password="},
		{"redis://127.0.0.1:6379?pass%77ord=" + secret, "not in ?password="},
		{"redis://u@127.0.0.1:6379?requirepass=" + secret, "not in ?requirepass="},
		// A password with an unescaped '/', '?' or '#' splits the URL there.
		{"redis://:12/" + secret + "@127.0.0.1:6379", "an '@' after the host"},
		{"redis://:12?" + secret + "@127.0.0.1:6379", "an '@' after the host"},
		{"redis://:12#" + secret + "@127.0.0.1:6379", "an '@' after the host"},
		{"redis://:" + secret + "@127.0.0.1:6379#" + secret, "no #fragment"},
		{"redis://127.0.0.1:6379/0#" + secret, "no #fragment"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			t.Parallel()
			b, err := connect(t, ConnectOptions{URL: tt.url, Timeout: connectTimeout})
			require.Error(t, err)
			assert.Nil(t, b)
			assert.NotErrorIs(t, err, claims.ErrUnreachable, "a malformed URL is a usage problem")
			assert.Contains(t, err.Error(), "redis URL")
			assert.Contains(t, err.Error(), tt.says)
			assert.NotContains(t, err.Error(), secret)
			assert.NotContains(t, err.Error(), encodedSecret)
			assert.NotContains(t, err.Error(), "Pa55", "not even a part of it")
		})
	}
}

func TestRedact(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"redis://alice:" + secret + "@host:6379/0", "redis://alice:xxxxx@host:6379/0"},
		{"redis://:" + secret + "@host:6379", "redis://:xxxxx@host:6379"},
		{"redis://:" + encodedSecret + "@host:6379", "redis://:xxxxx@host:6379"},
		{"redis://alice@host:6379", "redis://alice@host:6379"},
		{"redis://host:6379", "redis://host:6379"},
		{"redis://host:6379/0?password=" + secret, "redis://host:6379/0?password=xxxxx"},
		{"redis://host:6379/0?dial_timeout=1s&pass%77ord=" + encodedSecret + "&db=2", "redis://host:6379/0?dial_timeout=1s&pass%77ord=xxxxx&db=2"},
		{"redis://host:6379/0?nosuch=" + secret + "&flag", "redis://host:6379/0?nosuch=xxxxx&flag"},
		{"redis://host:6379/0#" + secret, "redis://host:6379/0#xxxxx"},
		// Unparsable, or split by an unescaped character: all up to the
		// last '@', the query and the fragment go.
		{"redis://u:" + secret + "@host:bad port", "redis://<redacted>@host:bad port"},
		{"redis://u:" + secret + "@host:bad port/0?password=" + secret, "redis://<redacted>@host:bad port/0?<redacted>"},
		{"redis://host:bad port?password=" + secret, "redis://host:bad port?<redacted>"},
		{"redis://:a@b?c#d" + secret + "@host:6379", "redis://<redacted>@host:6379"},
		{"redis://:12/" + secret + "@host:6379/0", "redis://<redacted>@host:6379/0"},
		{"u:" + secret + "@host:6379", "<redacted>@host:6379"},
		{"u:" + secret + "://x@host", "<redacted>@host"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, redact(tt.in))
		})
	}
}

func TestConnectReal(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	locked := startLocked(t)
	port := strconv.Itoa(srv.Port())
	tests := []struct {
		name string
		opts ConnectOptions
		desc string
	}{
		{"url", ConnectOptions{URL: srv.URL()}, "Redis at " + srv.Addr()},
		{"url with db", ConnectOptions{URL: srv.URL() + "/3"}, "Redis at " + srv.Addr()},
		{"url with password", ConnectOptions{URL: "redis://:" + secret + "@" + locked.Addr()}, "Redis at " + locked.Addr()},
		{"url with user and password", ConnectOptions{URL: "redis://default:" + secret + "@" + locked.Addr()}, "Redis at " + locked.Addr() + " as default"},
		{"host and port", ConnectOptions{Host: "127.0.0.1", Port: port}, "Redis at 127.0.0.1:" + port + " (REDIS_HOST/REDIS_PORT)"},
		{"port only", ConnectOptions{Port: port}, "Redis at localhost:" + port + " (REDIS_HOST/REDIS_PORT)"},
		{"host, port and password", ConnectOptions{Host: "127.0.0.1", Port: strconv.Itoa(locked.Port()), Password: secret},
			"Redis at " + locked.Addr() + " (REDIS_HOST/REDIS_PORT)"},
		{"url wins over host", ConnectOptions{URL: srv.URL(), Host: "127.0.0.1", Port: "1"}, "Redis at " + srv.Addr()},
		{"default address answers", ConnectOptions{DefaultAddr: srv.Addr()}, "Redis at " + srv.Addr()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.opts.Timeout = connectTimeout
			b, err := connect(t, tt.opts)
			require.NoError(t, err)
			assert.Equal(t, tt.desc, b.Description)
			assert.Nil(t, b.Embedded)
			assert.NotContains(t, b.Description, secret)
			requireWorks(t, b)
		})
	}
}

// TestConnectRefused: a Redis that answers but refuses the credentials is
// exit 4 like an unreachable one, with a message that says what is wrong.
func TestConnectRefused(t *testing.T) {
	t.Parallel()
	locked := startLocked(t)
	const wrong = "not-the-Pa55word"
	port := strconv.Itoa(locked.Port())
	tests := []struct {
		name string
		opts ConnectOptions
		says string
	}{
		{"url, wrong password", ConnectOptions{URL: "redis://:" + wrong + "@" + locked.Addr()},
			"Redis at " + locked.Addr() + " refused the password (WRONGPASS invalid username-password pair"},
		{"url, unknown user", ConnectOptions{URL: "redis://alice:" + secret + "@" + locked.Addr()},
			"Redis at " + locked.Addr() + " as alice refused the password (WRONGPASS"},
		{"url, no password", ConnectOptions{URL: locked.URL()},
			"Redis at " + locked.Addr() + " needs a password (NOAUTH): give it as redis://[user]:PASSWORD@host:port or in REDIS_PASSWORD"},
		{"host and port, wrong password", ConnectOptions{Host: "127.0.0.1", Port: port, Password: wrong},
			"Redis at " + locked.Addr() + " (REDIS_HOST/REDIS_PORT) refused the password (WRONGPASS"},
		{"host and port, no password", ConnectOptions{Host: "127.0.0.1", Port: port},
			"Redis at " + locked.Addr() + " (REDIS_HOST/REDIS_PORT) needs a password (NOAUTH)"},
		{"default address, no password", ConnectOptions{DefaultAddr: locked.Addr()},
			"Redis at " + locked.Addr() + " needs a password (NOAUTH)"},
		{"default address, wrong password", ConnectOptions{DefaultAddr: locked.Addr(), Password: wrong},
			"(or --embedded for an in-memory server)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.opts.Timeout = connectTimeout
			b, err := connect(t, tt.opts)
			require.Error(t, err)
			assert.Nil(t, b, "never a silent fall back to the embedded server")
			assert.ErrorIs(t, err, claims.ErrUnreachable, "exit 4")
			assert.Contains(t, err.Error(), tt.says)
			assert.NotContains(t, err.Error(), "cannot reach", "it was reached")
			assert.NotContains(t, err.Error(), wrong)
			assert.NotContains(t, err.Error(), secret)
		})
	}
}

func TestConnectEmbedded(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	tests := []struct {
		name string
		opts ConnectOptions
	}{
		{"forced", ConnectOptions{Embedded: true}},
		{"forced over a working default", ConnectOptions{Embedded: true, DefaultAddr: srv.Addr()}},
		{"default address does not answer", ConnectOptions{DefaultAddr: "127.0.0.1:1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.opts.Timeout = connectTimeout
			b, err := connect(t, tt.opts)
			require.NoError(t, err)
			require.NotNil(t, b.Embedded)
			assert.Contains(t, b.Description, "in memory")
			assert.Contains(t, b.Description, b.Embedded.Addr())
			assert.True(t, strings.HasPrefix(b.Embedded.Addr(), "127.0.0.1:"), "loopback only")
			requireWorks(t, b)
		})
	}
}

// TestConnectEmbeddedBanner: the start-up line suggests watching the
// embedded server only if the command lasts long enough to do it.
func TestConnectEmbeddedBanner(t *testing.T) {
	t.Parallel()
	brief, err := connect(t, ConnectOptions{Embedded: true})
	require.NoError(t, err)
	assert.Equal(t, "embedded Redis (in memory) at "+brief.Embedded.Addr()+": its data is gone when this command ends; "+
		"start `claimsctl serve` in another terminal to keep it and watch it with redis-cli", brief.Description)

	session, err := connect(t, ConnectOptions{Embedded: true, Lifetime: Session})
	require.NoError(t, err)
	assert.Equal(t, "embedded Redis (in memory, gone on exit) at "+session.Embedded.Addr()+
		": watch it with redis-cli -p "+strconv.Itoa(session.Embedded.Port()), session.Description)
}

func TestConnectEmbeddedPortAndClose(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())

	b, err := Connect(context.Background(), ConnectOptions{Embedded: true, EmbeddedPort: port})
	require.NoError(t, err)
	assert.Equal(t, port, b.Embedded.Port())
	requireWorks(t, b)
	client := b.Client
	require.NoError(t, b.Close())
	// Not a dial of the old port: a parallel test may take it the moment it
	// is free.
	assert.Error(t, client.Ping(context.Background()).Err(), "the closed backend no longer answers")

	// The port taken by another server is an error, not another port.
	srv := redistest.Start(t)
	_, err = Connect(context.Background(), ConnectOptions{Embedded: true, EmbeddedPort: srv.Port()})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "start embedded server on "+srv.Addr())
}

// trust is what --tls-ca makes of a CA file: the system's roots and it.
func trust(t *testing.T, caFile string) *x509.CertPool {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	require.NoError(t, err)
	pool, err := x509.SystemCertPool()
	require.NoError(t, err)
	require.True(t, pool.AppendCertsFromPEM(pem))
	return pool
}

func TestConnectTLS(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t, redistest.WithTLS())
	ca := trust(t, srv.CAFile())
	tests := []struct {
		name string
		opts ConnectOptions
		desc string
	}{
		{"verified", ConnectOptions{URL: srv.URL(), RootCAs: ca}, "Redis at " + srv.Addr() + " (TLS)"},
		{"verified by name", ConnectOptions{URL: "rediss://localhost:" + strconv.Itoa(srv.Port()), RootCAs: ca}, "Redis at localhost:" + strconv.Itoa(srv.Port()) + " (TLS)"},
		{"not verified", ConnectOptions{URL: srv.URL(), InsecureSkipVerify: true}, "Redis at " + srv.Addr() + " (TLS, certificate not verified)"},
		{"not verified by the URL", ConnectOptions{URL: srv.URL() + "?skip_verify=true"}, "Redis at " + srv.Addr() + " (TLS, certificate not verified)"},
		{"not verified though it could be", ConnectOptions{URL: srv.URL(), RootCAs: ca, InsecureSkipVerify: true}, "Redis at " + srv.Addr() + " (TLS, certificate not verified)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.opts.Timeout = connectTimeout
			b, err := connect(t, tt.opts)
			require.NoError(t, err)
			assert.Equal(t, tt.desc, b.Description)
			requireWorks(t, b)
		})
	}
}

func TestConnectTLSRefused(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t, redistest.WithTLS())
	other := redistest.Start(t, redistest.WithTLS()) // another throwaway CA
	plain := redistest.Start(t)
	untrusted := `TLS handshake failed: the server's certificate is signed by "CN=redistest throwaway CA" that this machine does not trust: ` +
		"name its CA with --tls-ca FILE, or skip the check with --tls-insecure"
	tests := []struct {
		name string
		opts ConnectOptions
		says string
	}{
		{"unknown CA", ConnectOptions{URL: srv.URL()}, "Redis at " + srv.Addr() + " (TLS): " + untrusted},
		{"another CA", ConnectOptions{URL: srv.URL(), RootCAs: trust(t, other.CAFile())}, untrusted},
		{"no TLS there", ConnectOptions{URL: "rediss://" + plain.Addr()},
			"TLS handshake failed: the server at " + plain.Addr() + " does not speak TLS (try redis:// instead)"},
		{"no TLS there, not verified", ConnectOptions{URL: "rediss://" + plain.Addr(), InsecureSkipVerify: true},
			"does not speak TLS (try redis:// instead)"},
		{"TLS only", ConnectOptions{URL: "redis://" + srv.Addr()},
			"Redis at " + srv.Addr() + ": the server at " + srv.Addr() + " speaks TLS only (try rediss:// instead)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.opts.Timeout = connectTimeout
			b, err := connect(t, tt.opts)
			require.Error(t, err)
			assert.Nil(t, b)
			assert.ErrorIs(t, err, claims.ErrUnreachable)
			assert.Contains(t, err.Error(), tt.says)
		})
	}
}

// TestUserURL: a student's URL reaches the admin's server with the
// student's credentials and none of the admin's.
func TestUserURL(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		o    ConnectOptions
		addr string
		want string
	}{
		{"url", ConnectOptions{URL: "redis://admin:topsecret@10.0.0.5:6380/2"}, "", "redis://alice:PW@10.0.0.5:6380/2"},
		{"tls and options", ConnectOptions{URL: "rediss://:topsecret@redis.example:6390?dial_timeout=3s&token=topsecret"}, "", "rediss://alice:PW@redis.example:6390?dial_timeout=3s"},
		{"cluster seeds", ConnectOptions{Cluster: "127.0.0.1:7000,127.0.0.1:7001", Password: "topsecret"}, "", "redis://alice:PW@127.0.0.1:7000"},
		{"cluster URL", ConnectOptions{Cluster: "redis://admin:topsecret@127.0.0.1:7000,127.0.0.1:7001"}, "", "redis://alice:PW@127.0.0.1:7000"},
		{"lab variables", ConnectOptions{Host: "redis", Password: "topsecret"}, "", "redis://alice:PW@redis:6379"},
		{"default", ConnectOptions{Password: "topsecret"}, "", "redis://alice:PW@localhost:6379"},
		{"addr", ConnectOptions{URL: "redis://:topsecret@127.0.0.1:6379"}, "school.example:16379", "redis://alice:PW@school.example:16379"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := UserURL(c.o, "alice", "PW", c.addr)
			require.NoError(t, err)
			assert.Equal(t, c.want, got)
			assert.NotContains(t, got, "topsecret")
		})
	}
}
