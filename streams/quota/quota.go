// Package quota bounds what one graded file stores in a shared Redis:
// bytes and keys under its key prefix. It counts at the client, where the
// file's writes go through (a go-redis hook: a command that would take it
// past the quota is not sent), and measures at the server (SCAN of the
// prefix with MEMORY USAGE), which no write path can dodge.
//
// It may import go-redis and streams/redisconn (SCAN of every master).
package quota

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"claimsctl/streams/redisconn"

	"github.com/dustin/go-humanize"
	"github.com/redis/go-redis/v9"
)

// Defaults of the quota of one graded file.
const (
	DefaultBytes = 64 << 20
	DefaultKeys  = 10000
	// Every is how often Watch measures the server.
	Every = 250 * time.Millisecond
)

// Limits are a quota; 0 is no limit of that kind.
type Limits struct {
	Bytes int64
	Keys  int64
}

// Usage is what a prefix holds on the server.
type Usage struct {
	Bytes int64
	Keys  int64
}

// ExceededError says which quota a file went past and what it reached.
type ExceededError struct {
	Kind    string // "bytes" or "keys"
	Quota   int64
	Reached int64
	Refused bool // Reached is where a write that was not sent would have taken it
}

func (e *ExceededError) Error() string {
	if e.Refused {
		return fmt.Sprintf("stopped: a write would take what it stores in Redis to %s, over its quota of %s (--redis-quota SIZE sets it)",
			Size(e.Reached), Size(e.Quota))
	}
	if e.Kind == "keys" {
		return fmt.Sprintf("stopped: its keys in Redis reached %d, over its quota of %d keys (--redis-keys N sets it)", e.Reached, e.Quota)
	}
	return fmt.Sprintf("stopped: what it stores in Redis reached %s, over its quota of %s (--redis-quota SIZE sets it)",
		Size(e.Reached), Size(e.Quota))
}

// Size writes bytes for people: "64 MiB".
func Size(bytes int64) string { return humanize.IBytes(uint64(max(bytes, 0))) }

// ParseSize reads a size: 64MiB, 64MB (10^6), 500KiB, 1073741824.
func ParseSize(s string) (int64, error) {
	n, err := humanize.ParseBytes(s)
	if err != nil || n == 0 || n > 1<<62 {
		return 0, fmt.Errorf("%q is not a size above 0 (64MiB, 500KiB, 1GiB)", s)
	}
	return int64(n), nil
}

// Guard is the quota of one prefix. Its hook counts the bytes each write
// sends since the last measurement; a command that would take the
// estimate past the quota measures the server first and is refused if the
// server is past it too. Watch measures every so often whatever was sent.
type Guard struct {
	rdb      redis.UniversalClient
	prefix   string
	limits   Limits
	onExceed func(error)

	mu       sync.Mutex
	base     Usage // what the prefix held when the guard started
	measured Usage // the last measurement, less base
	sent     Usage // written since then: bytes sent, write commands
	exceeded *ExceededError
}

// New guards prefix on rdb. onExceed is called once, with an
// *ExceededError, when the quota is passed (it stops the file).
func New(rdb redis.UniversalClient, prefix string, limits Limits, onExceed func(error)) *Guard {
	if onExceed == nil {
		onExceed = func(error) {}
	}
	return &Guard{rdb: rdb, prefix: prefix, limits: limits, onExceed: onExceed}
}

// Start measures what the prefix holds already: the quota bounds what is
// added to it.
func (g *Guard) Start(ctx context.Context) error {
	if g.off() {
		return nil
	}
	u, err := g.usage(ctx)
	if err != nil {
		return err
	}
	g.mu.Lock()
	g.base = u
	g.mu.Unlock()
	return nil
}

// Err is the quota passed, or nil.
func (g *Guard) Err() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.exceeded == nil {
		return nil
	}
	return g.exceeded
}

// off: no limit of either kind, nothing to count or measure.
func (g *Guard) off() bool { return g.limits == Limits{} }

// Check measures the server now and reports the quota passed, if it is.
func (g *Guard) Check(ctx context.Context) error {
	if g.off() {
		return nil
	}
	u, err := g.usage(ctx)
	if err != nil {
		return err
	}
	g.mu.Lock()
	g.measured = Usage{Bytes: u.Bytes - g.base.Bytes, Keys: u.Keys - g.base.Keys}
	g.sent = Usage{}
	over := g.over(g.measured)
	g.mu.Unlock()
	if over != nil {
		return g.exceed(over)
	}
	return nil
}

// Watch measures the server every Every until ctx is done or the quota is
// passed; on a server so full of other keys that a measurement takes long,
// at most a fifth of the time.
func (g *Guard) Watch(ctx context.Context) {
	if g.off() {
		return
	}
	wait := Every
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		start := time.Now()
		err := g.Check(ctx)
		var ex *ExceededError
		if errors.As(err, &ex) {
			return
		}
		wait = max(Every, 4*time.Since(start))
	}
}

// over is the quota u passes, if any. g.mu is held.
func (g *Guard) over(u Usage) *ExceededError {
	switch {
	case g.limits.Bytes > 0 && u.Bytes > g.limits.Bytes:
		return &ExceededError{Kind: "bytes", Quota: g.limits.Bytes, Reached: u.Bytes}
	case g.limits.Keys > 0 && u.Keys > g.limits.Keys:
		return &ExceededError{Kind: "keys", Quota: g.limits.Keys, Reached: u.Keys}
	}
	return nil
}

// exceed records the first quota passed and tells onExceed.
func (g *Guard) exceed(e *ExceededError) error {
	g.mu.Lock()
	first := g.exceeded == nil
	if first {
		g.exceeded = e
	}
	e = g.exceeded
	g.mu.Unlock()
	if first {
		g.onExceed(e)
	}
	return e
}

// Measure is what prefix holds on the server now: its keys and the sum of
// their MEMORY USAGE (an instructor's watch of a class uses it).
func Measure(ctx context.Context, rdb redis.UniversalClient, prefix string) (Usage, error) {
	return New(rdb, prefix, Limits{}, nil).usage(ctx)
}

// usage is what the prefix holds: its keys (SCAN on every master) and the
// sum of their MEMORY USAGE.
func (g *Guard) usage(ctx context.Context) (Usage, error) {
	var (
		mu         sync.Mutex
		total      Usage
		measureErr error
	)
	err := redisconn.Scan(ctx, g.rdb, redisconn.GlobEscape(g.prefix)+"*", func(ctx context.Context, keys []string) error {
		bytes, err := g.memory(ctx, keys)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			measureErr = err
			return err
		}
		total.Keys += int64(len(keys))
		total.Bytes += bytes
		return nil
	})
	switch {
	case measureErr != nil:
		return total, measureErr
	case err != nil:
		return total, fmt.Errorf("redis quota: scan %s*: %w", g.prefix, err)
	}
	return total, nil
}

// memory is the MEMORY USAGE of keys, pipelined. A server without MEMORY
// (the embedded one) is asked the length of strings and the size of the
// other types instead, at perElement bytes an element.
func (g *Guard) memory(ctx context.Context, keys []string) (int64, error) {
	if len(keys) == 0 {
		return 0, nil
	}
	pipe := g.rdb.Pipeline()
	cmds := make([]*redis.IntCmd, len(keys))
	for i, k := range keys {
		cmds[i] = pipe.MemoryUsage(ctx, k)
	}
	_, err := pipe.Exec(ctx)
	var total int64
	unknown := false
	for _, c := range cmds {
		switch n, err := c.Result(); {
		case err == nil:
			total += n
		case errors.Is(err, redis.Nil):
		case strings.Contains(strings.ToLower(err.Error()), "unknown command"):
			unknown = true
		default:
			return 0, fmt.Errorf("redis quota: memory usage: %w", err)
		}
	}
	if unknown {
		return g.estimate(ctx, keys)
	}
	if err != nil && !errors.Is(err, redis.Nil) {
		return 0, fmt.Errorf("redis quota: memory usage: %w", err)
	}
	return total, nil
}

// perElement is what the estimate takes an element of a hash, list, set,
// sorted set or stream to hold, and keyOverhead a key.
const (
	perElement  = 64
	keyOverhead = 64
)

// estimate is memory for a server without MEMORY USAGE.
func (g *Guard) estimate(ctx context.Context, keys []string) (int64, error) {
	pipe := g.rdb.Pipeline()
	types := make([]*redis.StatusCmd, len(keys))
	for i, k := range keys {
		types[i] = pipe.Type(ctx, k)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return 0, fmt.Errorf("redis quota: type: %w", err)
	}
	pipe = g.rdb.Pipeline()
	sizes := make([]*redis.IntCmd, len(keys))
	for i, k := range keys {
		switch types[i].Val() {
		case "string":
			sizes[i] = pipe.StrLen(ctx, k)
		case "hash":
			sizes[i] = pipe.HLen(ctx, k)
		case "list":
			sizes[i] = pipe.LLen(ctx, k)
		case "set":
			sizes[i] = pipe.SCard(ctx, k)
		case "zset":
			sizes[i] = pipe.ZCard(ctx, k)
		case "stream":
			sizes[i] = pipe.XLen(ctx, k)
		}
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return 0, fmt.Errorf("redis quota: sizes: %w", err)
	}
	var total int64
	for i, k := range keys {
		total += keyOverhead + int64(len(k))
		if sizes[i] == nil {
			continue
		}
		if types[i].Val() == "string" {
			total += sizes[i].Val()
		} else {
			total += perElement * sizes[i].Val()
		}
	}
	return total, nil
}
