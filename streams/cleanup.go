package streams

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// DeleteAll removes every key under the store's prefix: the clean keyspace
// of one graded exercise. It refuses an empty prefix, which would mean the
// whole database.
func (s *Store) DeleteAll(ctx context.Context) (int, error) {
	if s.keys.Prefix == "" {
		return 0, errors.New("delete all: refusing to delete without a key prefix")
	}
	pattern := globEscape(s.keys.Prefix) + "*"
	keys, err := s.scan(ctx, pattern)
	if err != nil {
		return 0, fmt.Errorf("delete all %s: %w", pattern, err)
	}
	n, err := s.deleteKeys(ctx, keys)
	if err != nil {
		return n, fmt.Errorf("delete all %s: %w", pattern, err)
	}
	return n, nil
}

// scan lists the keys matching pattern (SCAN, never KEYS: it does not
// block the server), on every master of a cluster.
func (s *Store) scan(ctx context.Context, pattern string) ([]string, error) {
	var (
		mu  sync.Mutex
		out []string
	)
	one := func(ctx context.Context, c redis.Cmdable) error {
		var cursor uint64
		for {
			keys, next, err := c.Scan(ctx, cursor, pattern, 1000).Result()
			if err != nil {
				return err
			}
			mu.Lock()
			out = append(out, keys...)
			mu.Unlock()
			if cursor = next; cursor == 0 {
				return nil
			}
		}
	}
	if cc, ok := s.rdb.(*redis.ClusterClient); ok {
		err := cc.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error { return one(ctx, node) })
		return out, err
	}
	return out, one(ctx, s.rdb)
}

// deleteKeys removes keys one command each, pipelined: a DEL of several
// keys would span slots on a cluster.
func (s *Store) deleteKeys(ctx context.Context, keys []string) (int, error) {
	deleted := 0
	for len(keys) > 0 {
		n := min(len(keys), 1000)
		pipe := s.rdb.Pipeline()
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

// globEscape quotes the characters SCAN MATCH treats as a pattern.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// ScanKeys lists the keys under the store's prefix that match pattern,
// without the prefix.
func (s *Store) ScanKeys(ctx context.Context, pattern string) ([]string, error) {
	keys, err := s.scan(ctx, globEscape(s.keys.Prefix)+pattern)
	if err != nil {
		return nil, fmt.Errorf("scan %s: %w", pattern, err)
	}
	for i, k := range keys {
		keys[i] = strings.TrimPrefix(k, s.keys.Prefix)
	}
	return keys, nil
}

// Do sends one raw command, for students exploring Redis by hand. A nil
// reply is (nil, nil).
func (s *Store) Do(ctx context.Context, args ...any) (any, error) {
	v, err := s.rdb.Do(ctx, args...).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	return v, err
}
