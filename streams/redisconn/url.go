package redisconn

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Reading a redis:// or rediss:// URL, and writing one without its
// password.

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
