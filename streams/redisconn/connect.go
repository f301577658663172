package redisconn

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"claimsctl/streams/claims"
	"claimsctl/streams/embedded"

	"github.com/redis/go-redis/v9"
)

// ConnectOptions say where Redis is, in the order Connect tries them.
type ConnectOptions struct {
	URL string // --redis / REDIS_URL: redis://[user:pass@]host:port[/db], rediss:// for TLS
	// Cluster is --cluster / REDIS_CLUSTER: a Redis Cluster's seed nodes,
	// host:port[,host:port…], the first possibly a redis:// URL.
	Cluster  string
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
	// RootCAs are the certificate authorities a rediss:// server's
	// certificate may be signed by (--tls-ca adds a PEM bundle to the
	// system's); nil: the system's.
	RootCAs *x509.CertPool
	// InsecureSkipVerify accepts any certificate of a rediss:// server
	// (--tls-insecure; the URL's ?skip_verify=true does too). The start-up
	// line says so.
	InsecureSkipVerify bool
	// Lifetime is how long the command that connects runs (default Brief),
	// which decides what the embedded server's start-up line suggests.
	Lifetime Lifetime
}

// Lifetime is how long a command runs.
type Lifetime int

const (
	// Brief: the command ends by itself (run, -e, check, report), and an
	// embedded server with it, its data gone.
	Brief Lifetime = iota
	// Session: the command runs until the user stops it (the REPL, the
	// dashboard, a worker), so its embedded server can be watched meanwhile.
	Session
)

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
	// User is the ACL user connected as ("": the default user).
	User string
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
	case o.Cluster != "":
		opts, desc, err := parseCluster(o)
		if err != nil {
			return nil, err
		}
		return dialCluster(ctx, opts, desc)
	case o.URL != "":
		opts, where, err := parseURL(o)
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
	dialer := net.Dialer{Timeout: o.Timeout}
	if conn, err := dialer.DialContext(ctx, "tcp", o.DefaultAddr); err == nil {
		conn.Close()
		opts := &redis.UniversalOptions{Addrs: []string{o.DefaultAddr}, Password: o.Password, DialTimeout: o.Timeout}
		b, err := dial(ctx, opts, "Redis at "+o.DefaultAddr)
		var refused *authRefused
		switch {
		case err == nil:
			return b, nil
		case errors.As(err, &refused):
			// A Redis is there, but it is not ours to use: an embedded one
			// instead would hide that.
			return nil, fmt.Errorf("%w (or --embedded for an in-memory server)", err)
		}
	}
	return startEmbedded(ctx, o)
}

// quietLogger drops go-redis's own log lines ("failed to dial after 5
// attempts"): errors reach the user once, wrapped, through return values.
type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

func init() { redis.SetLogger(quietLogger{}) }

func dial(ctx context.Context, opts *redis.UniversalOptions, desc string) (*Backend, error) {
	opts.Protocol = 2 // RESP2: what the lab's redis-cli and the embedded server speak best
	for _, addr := range opts.Addrs {
		if err := probe(ctx, addr, opts); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", claims.ErrUnreachable, desc, err)
		}
	}
	client := redis.NewUniversalClient(opts)
	pingCtx, cancel := context.WithTimeout(ctx, opts.DialTimeout+time.Second)
	defer cancel()
	if err := client.Ping(pingCtx).Err(); err != nil {
		client.Close()
		if Classify(err) == KindAuth {
			return nil, refusal(desc, err)
		}
		if opts.TLSConfig == nil && len(opts.Addrs) == 1 && speaksTLS(ctx, opts.Addrs[0], opts.DialTimeout) {
			err = fmt.Errorf("the server at %s speaks TLS only (try rediss:// instead)", opts.Addrs[0])
		}
		return nil, fmt.Errorf("%w: %s: %v", claims.ErrUnreachable, desc, err)
	}
	if clusterEnabled(pingCtx, client) {
		// A node of a cluster answers only for its own slots: reach the
		// whole cluster through it, as --cluster would.
		client.Close()
		opts.IsClusterMode = true
		return dialCluster(ctx, opts, "Redis Cluster via "+strings.TrimPrefix(desc, "Redis at "))
	}
	b := &Backend{Client: client, Description: desc, User: opts.Username}
	// `claimsctl serve` elsewhere is the embedded server behind a plain
	// address; it answers no INFO server section, which tells it apart.
	if err := client.Info(pingCtx, "server").Err(); err != nil && Classify(err) == KindUnsupported {
		b.Miniredis = true
		b.Description += " (an embedded claimsctl server: in memory)"
	}
	return b, nil
}

// authRefused is a Redis that answered but refused the credentials. To the
// exit code it is ErrUnreachable (nothing can be done with that server),
// but its message says what is wrong instead of "cannot reach Redis".
type authRefused struct{ msg string }

func (e *authRefused) Error() string { return e.msg }

func (e *authRefused) Unwrap() error { return claims.ErrUnreachable }

// refusal words an errAuth reply to the connection's PING.
func refusal(desc string, err error) error {
	switch ReplyCode(err) {
	case "WRONGPASS":
		return &authRefused{fmt.Sprintf("%s refused the password (%v)", desc, err)}
	case "NOAUTH":
		return &authRefused{fmt.Sprintf("%s needs a password (NOAUTH): give it as redis://[user]:PASSWORD@host:port or in REDIS_PASSWORD", desc)}
	}
	return &authRefused{fmt.Sprintf("%s refused the user (%v)", desc, err)}
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
	if o.Lifetime == Session {
		b.Description = fmt.Sprintf("embedded Redis (in memory, gone on exit) at %s: watch it with redis-cli -p %d", srv.Addr(), srv.Port())
	} else {
		b.Description = fmt.Sprintf("embedded Redis (in memory) at %s: its data is gone when this command ends; "+
			"start `claimsctl serve` in another terminal to keep it and watch it with redis-cli", srv.Addr())
	}
	return b, nil
}
