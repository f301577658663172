package streams

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"claimsctl/streams/redisconn"

	"github.com/redis/go-redis/v9"
)

// A student's raw access to Redis: keys() and redis().

// ScanKeys lists the keys under the store's prefix that match pattern,
// without the prefix.
func (s *Store) ScanKeys(ctx context.Context, pattern string) ([]string, error) {
	keys, err := redisconn.ScanAll(ctx, s.rdb, redisconn.GlobEscape(s.keys.Prefix)+pattern)
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
