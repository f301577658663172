package streams

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"claimsctl/streams/claims"
	"claimsctl/streams/embedded"

	"github.com/redis/go-redis/v9"
)

// ConnectOptions say where Redis is, in the order Connect tries them.
type ConnectOptions struct {
	URL      string // --redis / REDIS_URL: redis://[user:pass@]host:port[/db], rediss:// for TLS
	Host     string // REDIS_HOST (the lab's variables)
	Port     string // REDIS_PORT
	Password string // REDIS_PASSWORD
	Embedded bool   // --embedded: skip the search, run the in-process server
	// EmbeddedPort is the port for the embedded server (0: any free port).
	EmbeddedPort int
	// DefaultAddr is tried before falling back to embedded (default localhost:6379).
	DefaultAddr string
	// Timeout bounds each connection attempt (default 2s).
	Timeout time.Duration
}

// Backend is a connected Redis and how it was found.
type Backend struct {
	Client   redis.UniversalClient
	Embedded *embedded.Server // nil unless the in-process server is used
	// Miniredis is true for the embedded server, in-process or reached
	// through `claimsctl serve`: its XINFO GROUPS lag is wrong and must be
	// counted (Options.CountLag).
	Miniredis bool
	// Description is the one start-up line: which server, never a password.
	Description string
}

// Close disconnects and stops the embedded server if there is one.
func (b *Backend) Close() error {
	err := b.Client.Close()
	if b.Embedded != nil {
		b.Embedded.Close()
	}
	return err
}

// Connect resolves the connection: an explicit URL or REDIS_HOST; else localhost:6379 if it answers PING; else an embedded
// server on a free loopback port.
func Connect(ctx context.Context, o ConnectOptions) (*Backend, error) {
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Second
	}
	if o.DefaultAddr == "" {
		o.DefaultAddr = "localhost:6379"
	}
	switch {
	case o.Embedded:
		return startEmbedded(ctx, o)
	case o.URL != "":
		opts, where, err := parseURL(o.URL, o.Timeout)
		if err != nil {
			return nil, err
		}
		return dial(ctx, opts, "Redis at "+where)
	case o.Host != "" || o.Port != "":
		host, port := o.Host, o.Port
		if host == "" {
			host = "localhost"
		}
		if port == "" {
			port = "6379"
		}
		addr := net.JoinHostPort(host, port)
		opts := &redis.UniversalOptions{Addrs: []string{addr}, Password: o.Password, DialTimeout: o.Timeout}
		return dial(ctx, opts, "Redis at "+addr+" (REDIS_HOST/REDIS_PORT)")
	}
	// A plain TCP probe first: when nothing listens on the default address
	// the embedded server starts at once, without go-redis's dial retries.
	probe := net.Dialer{Timeout: o.Timeout}
	if conn, err := probe.DialContext(ctx, "tcp", o.DefaultAddr); err == nil {
		conn.Close()
		opts := &redis.UniversalOptions{Addrs: []string{o.DefaultAddr}, Password: o.Password, DialTimeout: o.Timeout}
		if b, err := dial(ctx, opts, "Redis at "+o.DefaultAddr); err == nil {
			return b, nil
		}
	}
	return startEmbedded(ctx, o)
}

func parseURL(raw string, timeout time.Duration) (*redis.UniversalOptions, string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
		return nil, "", fmt.Errorf("redis URL %q: want redis://[user:password@]host:port[/db] or rediss:// for TLS", redact(raw))
	}
	single, err := redis.ParseURL(raw)
	if err != nil {
		return nil, "", fmt.Errorf("redis URL %s: %w", redact(raw), err)
	}
	opts := &redis.UniversalOptions{
		Addrs: []string{single.Addr}, Username: single.Username, Password: single.Password,
		DB: single.DB, TLSConfig: single.TLSConfig, DialTimeout: timeout,
	}
	if u.Scheme == "rediss" && opts.TLSConfig == nil {
		opts.TLSConfig = &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}
	}
	where := single.Addr
	if single.Username != "" {
		where += " as " + single.Username
	}
	if u.Scheme == "rediss" {
		where += " (TLS)"
	}
	return opts, where, nil
}

// redact hides the password of a URL so it never reaches a message.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		if at := strings.LastIndex(raw, "@"); at >= 0 {
			return "<redacted>" + raw[at:]
		}
		return raw
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// quietLogger drops go-redis's own log lines ("failed to dial after 5
// attempts"): errors reach the user once, wrapped, through return values.
type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

func init() { redis.SetLogger(quietLogger{}) }

func dial(ctx context.Context, opts *redis.UniversalOptions, desc string) (*Backend, error) {
	opts.Protocol = 2 // RESP2: what the lab's redis-cli and the embedded server speak best
	// A plain TCP dial first: a refused port fails at once with its real
	// cause, where go-redis would retry until the ping's deadline and say
	// only "context deadline exceeded".
	for _, addr := range opts.Addrs {
		probe := net.Dialer{Timeout: opts.DialTimeout}
		conn, err := probe.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", claims.ErrUnreachable, desc, err)
		}
		conn.Close()
	}
	client := redis.NewUniversalClient(opts)
	pingCtx, cancel := context.WithTimeout(ctx, opts.DialTimeout+time.Second)
	defer cancel()
	if err := client.Ping(pingCtx).Err(); err != nil {
		client.Close()
		return nil, fmt.Errorf("%w: %s: %v", claims.ErrUnreachable, desc, err)
	}
	b := &Backend{Client: client, Description: desc}
	// `claimsctl serve` elsewhere is the embedded server behind a plain
	// address; it answers no INFO server section, which tells it apart.
	if err := client.Info(pingCtx, "server").Err(); err != nil && classify(err) == errUnsupported {
		b.Miniredis = true
		b.Description += " (an embedded claimsctl server: in memory)"
	}
	return b, nil
}

func startEmbedded(ctx context.Context, o ConnectOptions) (*Backend, error) {
	srv, err := embedded.Start(o.EmbeddedPort)
	if err != nil {
		return nil, err
	}
	b, err := dial(ctx, &redis.UniversalOptions{Addrs: []string{srv.Addr()}, DialTimeout: o.Timeout}, "")
	if err != nil {
		srv.Close()
		return nil, err
	}
	b.Embedded, b.Miniredis = srv, true
	b.Description = fmt.Sprintf("embedded Redis (in memory, gone on exit) at %s: watch it with redis-cli -p %d", srv.Addr(), srv.Port())
	return b, nil
}
