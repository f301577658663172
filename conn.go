package main

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"claimsctl/luaapi"
	"claimsctl/streams"
	"claimsctl/streams/claims"
	"claimsctl/streams/classroom"
	"claimsctl/streams/redisconn"
)

// connFlags are the connection flags every subcommand that talks to Redis
// accepts.
type connFlags struct {
	url, cluster, prefix, tlsCA    string
	embedded, tlsInsecure, durable bool
	partitions                     int
}

// register binds the flags to c, with c's values as defaults: flags given
// before the subcommand stay unless repeated after it.
func (c *connFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.url, "redis", c.url, "connect to `URL`, redis://[user:password@]host:port[/db]\n"+
		"(rediss:// for TLS); default REDIS_URL, or the lab's\nREDIS_HOST, REDIS_PORT and REDIS_PASSWORD")
	fs.StringVar(&c.cluster, "cluster", c.cluster, "connect to the Redis Cluster of seed nodes `ADDRS`,\n"+
		"host:port,host:port... (the first may be a redis://\n"+
		"URL with a password); default REDIS_CLUSTER")
	fs.IntVar(&c.partitions, "partitions", c.partitions, "spread claims over `N` event streams by a hash of\n"+
		"the claim id (default: the keyspace's count, else 1)")
	fs.BoolVar(&c.durable, "durable", c.durable, "an append counts only once a replica has it (WAIT 1):\n"+
		"a failover then cannot lose it")
	fs.BoolVar(&c.embedded, "embedded", c.embedded, "use an in-process Redis even if localhost:6379 answers")
	fs.StringVar(&c.prefix, "prefix", c.prefix, "prefix every key with `P` (several students on one server)")
	fs.StringVar(&c.tlsCA, "tls-ca", c.tlsCA, "trust the CA certificates of the PEM `FILE` for rediss://,\n"+
		"besides the system's")
	fs.BoolVar(&c.tlsInsecure, "tls-insecure", c.tlsInsecure, "do not verify the rediss:// server's certificate\n"+
		"(the start-up line says so)")
}

// tlsFlags are the TLS flags given, as typed: a URL that is not rediss://
// makes them a usage error.
func (c *connFlags) tlsFlags() []string {
	var given []string
	if c.tlsCA != "" {
		given = append(given, "--tls-ca "+c.tlsCA)
	}
	if c.tlsInsecure {
		given = append(given, "--tls-insecure")
	}
	return given
}

// trustedCAs are the system's certificate authorities and those of the PEM
// bundle file (--tls-ca).
func trustedCAs(file string) (*x509.CertPool, error) {
	const hint = "claimsctl --redis rediss://HOST:PORT --tls-ca ca.pem   (a file of -----BEGIN CERTIFICATE----- blocks)"
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, &usageError{msg: fmt.Sprintf("--tls-ca: cannot read %s: %v", file, errors.Unwrap(err)), hint: hint}
	}
	pool, err := x509.SystemCertPool()
	if err != nil { // no system roots here: the file's only
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, &usageError{msg: fmt.Sprintf("--tls-ca %s holds no PEM certificate", file), hint: hint}
	}
	return pool, nil
}

// connect resolves the connection from flags and environment and prints
// the one start-up line (never a password). life is how long the command
// runs: an embedded server's line suggests watching it only in a Session.
func (b *base) connect(ctx context.Context, banner io.Writer, life redisconn.Lifetime) (*redisconn.Backend, *streams.Store, error) {
	if b.conn.partitions < 0 || b.conn.partitions > streams.MaxPartitions {
		return nil, nil, &usageError{msg: fmt.Sprintf("--partitions must be from 1 to %d, got %d", streams.MaxPartitions, b.conn.partitions), hint: "claimsctl --partitions 6"}
	}
	backend, err := b.dial(ctx, life)
	if err != nil {
		return nil, nil, err
	}
	// A user its ACL keeps to keys of its own (a student of class add)
	// works under them without --prefix.
	prefix, ownKeys := b.conn.prefix, ""
	if prefix == "" && backend.User != "" && backend.User != "default" {
		if prefix, err = classroom.ACLPrefix(ctx, backend.Client, backend.User, classroom.Prefix(backend.User)); err != nil {
			backend.Close()
			if errors.Is(err, classroom.ErrNoKeys) {
				return nil, nil, &usageError{msg: err.Error(), hint: "claimsctl --prefix P   (a prefix of the keys user " + backend.User + " may touch)"}
			}
			return nil, nil, err
		}
		if prefix != "" {
			ownKeys = fmt.Sprintf("; keys under %s (all that user %s may touch)", prefix, backend.User)
		}
	}
	so := streams.Options{Prefix: prefix, CountLag: backend.Miniredis, Partitions: b.conn.partitions}
	if b.seedable {
		if so.Seeded, err = b.seeded(); err != nil {
			backend.Close()
			return nil, nil, err
		}
	}
	if b.conn.durable {
		so.Durable = 1
	}
	store, err := streams.Open(ctx, backend.Client, so)
	if err != nil {
		backend.Close()
		if errors.Is(err, streams.ErrLayout) {
			return nil, nil, &usageError{msg: err.Error(), hint: "claimsctl --partitions N (or leave it out)"}
		}
		return nil, nil, err
	}
	b.partitions = store.Keys().Partitions()
	line := backend.Description
	if k := store.Keys(); k.Partitioned() {
		line += fmt.Sprintf("; %s (%s", claims.Plural(int64(k.Partitions()), "partition", "partitions"), k.Partition(0).Events())
		if k.Partitions() > 1 {
			line += " …"
		}
		line += ")"
	}
	fmt.Fprintf(banner, "connected to %s%s\n", line, ownKeys)
	if err := checkSeeded(ctx, store, banner); err != nil {
		backend.Close()
		return nil, nil, err
	}
	return backend, store, nil
}

// dial resolves the connection from flags and environment and connects,
// without opening the store.
func (b *base) dial(ctx context.Context, life redisconn.Lifetime) (*redisconn.Backend, error) {
	opts := redisconn.ConnectOptions{
		URL: b.conn.url, Embedded: b.conn.embedded, Lifetime: life,
		Host: b.env.getenv("REDIS_HOST"), Port: b.env.getenv("REDIS_PORT"), Password: b.env.getenv("REDIS_PASSWORD"),
	}
	opts.Cluster = b.conn.cluster
	switch {
	case opts.URL != "" && opts.Cluster != "":
		return nil, &usageError{msg: "give --redis or --cluster, not both", hint: "claimsctl --cluster 127.0.0.1:7000,127.0.0.1:7001"}
	case opts.URL == "" && opts.Cluster == "":
		opts.URL, opts.Cluster = b.env.getenv("REDIS_URL"), b.env.getenv("REDIS_CLUSTER")
		if opts.URL != "" && opts.Cluster != "" {
			opts.URL = "" // a cluster is asked for by name: REDIS_URL may be a default of the shell
		}
	}
	if opts.URL != "" && !strings.HasPrefix(opts.URL, "redis://") && !strings.HasPrefix(opts.URL, "rediss://") {
		return nil, &usageError{msg: "the Redis URL must start with redis:// or rediss://", hint: "claimsctl --redis redis://localhost:6379"}
	}
	if b.conn.embedded && opts.Cluster != "" {
		return nil, &usageError{msg: "--embedded and --cluster exclude each other: the embedded server is one node", hint: "claimsctl serve --cluster 3"}
	}
	if given := b.conn.tlsFlags(); len(given) > 0 && !strings.HasPrefix(opts.URL, "rediss://") && !strings.HasPrefix(opts.Cluster, "rediss://") {
		return nil, &usageError{msg: "TLS flags (" + strings.Join(given, ", ") + ") need a rediss:// URL",
			hint: "claimsctl --redis rediss://HOST:PORT " + strings.Join(given, " ")}
	}
	opts.InsecureSkipVerify = b.conn.tlsInsecure
	if b.conn.tlsCA != "" {
		pool, err := trustedCAs(b.conn.tlsCA)
		if err != nil {
			return nil, err
		}
		opts.RootCAs = pool
	}
	backend, err := redisconn.Connect(ctx, opts)
	if err != nil {
		return nil, err
	}
	b.connected = opts
	return backend, nil
}

// launcher starts this binary again as a child process (spawn, check),
// connected where this process is: the connection goes in the child's
// environment, never on its command line, which ps shows to everyone. The
// embedded server is reached on its loopback port. Without a known
// executable (tests in-process) it is nil.
func (b *base) launcher(backend *redisconn.Backend) *luaapi.Launcher {
	if b.env.executable == "" {
		return nil
	}
	var env []string
	for _, kv := range b.env.environ {
		if !strings.HasPrefix(kv, "REDIS_") && !strings.HasPrefix(kv, luaapi.ReadyEnv+"=") {
			env = append(env, kv)
		}
	}
	o := b.connected
	switch {
	case backend.Embedded != nil:
		env = append(env, "REDIS_URL=redis://"+backend.Embedded.Addr())
	case o.Cluster != "":
		env = append(env, "REDIS_CLUSTER="+o.Cluster)
		if o.Password != "" {
			env = append(env, "REDIS_PASSWORD="+o.Password)
		}
	case o.URL != "":
		env = append(env, "REDIS_URL="+o.URL)
	case o.Host != "" || o.Port != "":
		env = append(env, "REDIS_HOST="+o.Host, "REDIS_PORT="+o.Port, "REDIS_PASSWORD="+o.Password)
	default:
		u := url.URL{Scheme: "redis", Host: "localhost:6379"}
		if o.Password != "" {
			u.User = url.UserPassword("", o.Password)
		}
		env = append(env, "REDIS_URL="+u.String())
	}
	// The TLS settings are no secret: they go as flags.
	var args []string
	if b.conn.tlsCA != "" {
		ca, err := filepath.Abs(b.conn.tlsCA)
		if err != nil {
			ca = b.conn.tlsCA
		}
		args = append(args, "--tls-ca", ca)
	}
	if b.conn.tlsInsecure {
		args = append(args, "--tls-insecure")
	}
	if b.partitions > 1 {
		args = append(args, "--partitions", strconv.Itoa(b.partitions))
	}
	if b.conn.durable {
		args = append(args, "--durable")
	}
	return &luaapi.Launcher{Path: b.env.executable, Args: args, Env: env}
}
