package streams

import (
	"context"
	"errors"
	"fmt"
	"strings"

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
	deleted := 0
	var cursor uint64
	for {
		keys, next, err := s.rdb.Scan(ctx, cursor, pattern, 500).Result()
		if err != nil {
			return deleted, fmt.Errorf("delete all %s: %w", pattern, err)
		}
		if len(keys) > 0 {
			n, err := s.rdb.Del(ctx, keys...).Result()
			if err != nil {
				return deleted, fmt.Errorf("delete all %s: %w", pattern, err)
			}
			deleted += int(n)
		}
		if cursor = next; cursor == 0 {
			return deleted, nil
		}
	}
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

// ScanKeys lists the keys under the store's prefix that match pattern
// (SCAN, never KEYS: it does not block the server), without the prefix.
func (s *Store) ScanKeys(ctx context.Context, pattern string) ([]string, error) {
	var out []string
	var cursor uint64
	for {
		keys, next, err := s.rdb.Scan(ctx, cursor, globEscape(s.keys.Prefix)+pattern, 500).Result()
		if err != nil {
			return nil, fmt.Errorf("scan %s: %w", pattern, err)
		}
		for _, k := range keys {
			out = append(out, strings.TrimPrefix(k, s.keys.Prefix))
		}
		if cursor = next; cursor == 0 {
			return out, nil
		}
	}
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
