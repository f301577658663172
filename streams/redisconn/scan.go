package redisconn

import (
	"context"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// Walking a keyspace: SCAN (never KEYS, which blocks the server) on every
// master of a cluster, and UNLINK a key at a time.

// scanPage is how many keys one SCAN asks for.
const scanPage = 1000

// Scan calls fn with each page of the keys that match pattern, on every
// master of a cluster (ForEachMaster: several goroutines at once) or on
// the one server. A key may come twice (SCAN's guarantee is at least
// once); fn's error stops the walk and is Scan's.
func Scan(ctx context.Context, rdb redis.UniversalClient, pattern string, fn func(ctx context.Context, keys []string) error) error {
	one := func(ctx context.Context, c redis.Cmdable) error {
		var cursor uint64
		for {
			keys, next, err := c.Scan(ctx, cursor, pattern, scanPage).Result()
			if err != nil {
				return err
			}
			if err := fn(ctx, keys); err != nil {
				return err
			}
			if cursor = next; cursor == 0 {
				return nil
			}
		}
	}
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error { return one(ctx, node) })
	}
	return one(ctx, rdb)
}

// ScanAll is the keys that match pattern, every page of Scan together.
func ScanAll(ctx context.Context, rdb redis.UniversalClient, pattern string) ([]string, error) {
	var (
		mu  sync.Mutex
		out []string
	)
	err := Scan(ctx, rdb, pattern, func(_ context.Context, keys []string) error {
		mu.Lock()
		out = append(out, keys...)
		mu.Unlock()
		return nil
	})
	return out, err
}

// Unlink removes keys one command each, pipelined a thousand at a time (a
// DEL of several keys would span slots on a cluster), and counts those
// that were there.
func Unlink(ctx context.Context, rdb redis.UniversalClient, keys []string) (int, error) {
	deleted := 0
	for len(keys) > 0 {
		n := min(len(keys), scanPage)
		pipe := rdb.Pipeline()
		cmds := make([]*redis.IntCmd, n)
		for i, k := range keys[:n] {
			cmds[i] = pipe.Unlink(ctx, k)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return deleted, err
		}
		for _, c := range cmds {
			deleted += int(c.Val())
		}
		keys = keys[n:]
	}
	return deleted, nil
}

// GlobEscape quotes the characters SCAN MATCH treats as a pattern, so a
// key prefix matches only itself.
func GlobEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
