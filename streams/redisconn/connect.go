package redisconn

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"regexp"
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

func parseURL(o ConnectOptions) (*redis.UniversalOptions, string, error) {
	raw := o.URL
	u, err := url.Parse(raw)
	switch {
	case err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "":
		return nil, "", fmt.Errorf("redis URL %q: want redis://[user:password@]host:port[/db] or rediss:// for TLS", redact(raw))
	case atAfterHost(raw):
		return nil, "", fmt.Errorf("redis URL %s: an '@' after the host: write '/', '?', '#' and '@' in a password as %%2F, %%3F, %%23 and %%40", redact(raw))
	case strings.Contains(raw, "#"):
		return nil, "", fmt.Errorf("redis URL %s: a Redis URL has no #fragment: write '#' in a password as %%23", redact(raw))
	}
	for key := range u.Query() {
		if secretOption(key) {
			return nil, "", fmt.Errorf("redis URL %s: the password goes before the host, redis://[user]:PASSWORD@host:port, not in ?%s=", redact(raw), key)
		}
	}
	single, err := redis.ParseURL(raw)
	if err != nil {
		return nil, "", fmt.Errorf("redis URL %s: %w", redact(raw), err)
	}
	opts := &redis.UniversalOptions{
		Addrs: []string{single.Addr}, Username: single.Username, Password: single.Password,
		DB: single.DB, TLSConfig: single.TLSConfig, DialTimeout: o.Timeout,
	}
	where := single.Addr
	if single.Username != "" {
		where += " as " + single.Username
	}
	if tc := opts.TLSConfig; tc != nil { // rediss://
		if o.RootCAs != nil {
			tc.RootCAs = o.RootCAs
		}
		tc.InsecureSkipVerify = tc.InsecureSkipVerify || o.InsecureSkipVerify
		if tc.InsecureSkipVerify {
			where += " (TLS, certificate not verified)"
		} else {
			where += " (TLS)"
		}
	}
	return opts, where, nil
}

// hidden stands for a secret in a message.
const hidden = "xxxxx"

// urlOptions are go-redis's URL query options (redis.ParseURL): their
// values are settings, fit for a message. The value of any other key may be
// a password.
var urlOptions = map[string]bool{
	"db": true, "protocol": true, "client_name": true, "skip_verify": true,
	"max_retries": true, "min_retry_backoff": true, "max_retry_backoff": true,
	"dial_timeout": true, "read_timeout": true, "write_timeout": true,
	"pool_fifo": true, "pool_size": true, "pool_timeout": true,
	"min_idle_conns": true, "max_idle_conns": true, "max_active_conns": true, "max_concurrent_dials": true,
	"pipeline_pool_size": true, "pipeline_read_buffer_size": true, "pipeline_write_buffer_size": true,
	"conn_max_idle_time": true, "idle_timeout": true, "conn_max_lifetime": true, "max_conn_age": true,
	"conn_max_lifetime_jitter": true,
}

// secretOption reports a query key that means a password (?password=,
// as some other clients accept).
func secretOption(key string) bool {
	k := strings.ToLower(key)
	return strings.Contains(k, "pass") || strings.Contains(k, "pwd") || strings.Contains(k, "auth") || strings.Contains(k, "secret")
}

// atAfterHost reports an '@' in the path, query or fragment: most likely
// a password with an unescaped '/', '?' or '#', which splits it there.
func atAfterHost(raw string) bool {
	_, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return strings.Contains(raw, "@")
	}
	end := strings.IndexAny(rest, "/?#")
	return end >= 0 && strings.Contains(rest[end:], "@")
}

// redact returns raw fit for a message: the password in the user info, the
// value of every query key that is not a go-redis option, and the fragment
// are hidden. A URL that does not parse, or splits its password (an '@'
// after the host), or is opaque (scheme:rest), may hold the password anywhere: everything up to its
// last '@', and its query and fragment, are hidden.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" || atAfterHost(raw) {
		return redactUnparsed(raw)
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), hidden)
	}
	u.RawQuery = redactQuery(u.RawQuery)
	if u.Fragment != "" {
		u.Fragment, u.RawFragment = hidden, ""
	}
	return u.String()
}

func redactUnparsed(raw string) string {
	scheme, rest := "", raw
	if s, r, ok := strings.Cut(raw, "://"); ok && urlScheme.MatchString(s) {
		scheme, rest = s+"://", r
	}
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		rest = "<redacted>" + rest[at:]
	}
	if end := strings.IndexAny(rest, "?#"); end >= 0 {
		rest = rest[:end+1] + "<redacted>"
	}
	return scheme + rest
}

// urlScheme is what may come before "://" (RFC 3986), so a password with
// "://" in it is not taken for one.
var urlScheme = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*$`)

// redactQuery hides the value of every key of a raw query that is not one
// of urlOptions, in place (the order of the keys is kept).
func redactQuery(raw string) string {
	if raw == "" {
		return raw
	}
	pairs := strings.Split(raw, "&")
	for i, pair := range pairs {
		key, _, hasValue := strings.Cut(pair, "=")
		if name, err := url.QueryUnescape(key); err == nil && urlOptions[name] {
			continue
		}
		if hasValue {
			pairs[i] = key + "=" + hidden
		}
	}
	return strings.Join(pairs, "&")
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

// probe dials addr once, and shakes hands if TLS is on, so that a refused
// port or a failed handshake fails at once with its real cause, where
// go-redis would retry until the ping's deadline and say only "context
// deadline exceeded".
func probe(ctx context.Context, addr string, opts *redis.UniversalOptions) error {
	dialer := net.Dialer{Timeout: opts.DialTimeout}
	conn, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	if opts.TLSConfig == nil {
		return nil
	}
	handshakeCtx, cancel := context.WithTimeout(ctx, opts.DialTimeout)
	defer cancel()
	err = tls.Client(conn, opts.TLSConfig).HandshakeContext(handshakeCtx)
	var (
		refused *tls.CertificateVerificationError
		unknown x509.UnknownAuthorityError
	)
	switch {
	case err == nil:
		return nil
	case errors.As(err, &unknown):
		issuer := "an authority"
		if unknown.Cert != nil {
			issuer = fmt.Sprintf("%q", unknown.Cert.Issuer)
		}
		return fmt.Errorf("TLS handshake failed: the server's certificate is signed by %s that this machine does not trust: "+
			"name its CA with --tls-ca FILE, or skip the check with --tls-insecure", issuer)
	case errors.As(err, &refused):
		return fmt.Errorf("TLS handshake failed: the server's certificate is refused (%v); --tls-insecure skips the check", refused.Err)
	case speaksPlainRedis(ctx, addr, opts.DialTimeout):
		// A plain Redis reads a TLS hello as the start of a command and
		// waits for its end: the handshake only times out.
		return fmt.Errorf("TLS handshake failed: the server at %s does not speak TLS (try redis:// instead)", addr)
	}
	return fmt.Errorf("TLS handshake failed: %w", err)
}

// speaksPlainRedis reports whether addr answers a plain-text PING as Redis
// does: with a simple string (+PONG) or an error (-NOAUTH …).
func speaksPlainRedis(ctx context.Context, addr string, timeout time.Duration) bool {
	dialer := net.Dialer{Timeout: timeout}
	conn, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return false
	}
	defer conn.Close()
	if conn.SetDeadline(time.Now().Add(timeout)) != nil {
		return false
	}
	if _, err := conn.Write([]byte("*1\r\n$4\r\nPING\r\n")); err != nil {
		return false
	}
	first := make([]byte, 1)
	if _, err := io.ReadFull(conn, first); err != nil {
		return false
	}
	return first[0] == '+' || first[0] == '-'
}

// speaksTLS reports whether addr completes a TLS handshake: the likely
// reason a plain connection was dropped. Nothing is sent over it, so its
// certificate need not be checked.
func speaksTLS(ctx context.Context, addr string, timeout time.Duration) bool {
	dialer := net.Dialer{Timeout: timeout}
	conn, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return false
	}
	defer conn.Close()
	handshakeCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return tls.Client(conn, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}).HandshakeContext(handshakeCtx) == nil
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

// UserURL is the URL of the server that o reaches, for another user: the
// scheme, host and database of o's URL (or of its cluster's first seed,
// REDIS_HOST and REDIS_PORT, or the default address) and its go-redis
// options, with user and password instead of o's credentials, which it
// never holds. addr, unless "", replaces the host and port.
func UserURL(o ConnectOptions, user, password, addr string) (string, error) {
	u := &url.URL{Scheme: "redis"}
	switch {
	case o.Cluster != "":
		seed, _, _ := strings.Cut(o.Cluster, ",")
		seed = strings.TrimSpace(seed)
		if !strings.Contains(seed, "://") {
			u.Host = seed
			break
		}
		o.URL = seed
		fallthrough
	case o.URL != "":
		parsed, err := url.Parse(o.URL)
		if err != nil {
			return "", fmt.Errorf("redis URL %s: %w", redact(o.URL), err)
		}
		u.Scheme, u.Host, u.Path = parsed.Scheme, parsed.Host, parsed.Path
		query := parsed.Query()
		for key := range query {
			if !urlOptions[key] {
				query.Del(key)
			}
		}
		u.RawQuery = query.Encode()
	case o.Host != "" || o.Port != "":
		host, port := o.Host, o.Port
		if host == "" {
			host = "localhost"
		}
		if port == "" {
			port = "6379"
		}
		u.Host = net.JoinHostPort(host, port)
	case o.DefaultAddr != "":
		u.Host = o.DefaultAddr
	default:
		u.Host = "localhost:6379"
	}
	if addr != "" {
		u.Host = addr
	}
	u.User = url.UserPassword(user, password)
	return u.String(), nil
}
