package upkeep

import (
	"context"
	"errors"
	"fmt"

	"claimsctl/streams"
	"claimsctl/streams/redisconn"
)

// DeleteAll removes every key under the store's prefix: the clean keyspace
// of one graded exercise, a benchmark's or a removed student's. It refuses
// an empty prefix, which would mean the whole database.
func DeleteAll(ctx context.Context, store *streams.Store) (int, error) {
	s := keeperOf(store)
	if s.keys.Prefix == "" {
		return 0, errors.New("delete all: refusing to delete without a key prefix")
	}
	pattern := redisconn.GlobEscape(s.keys.Prefix) + "*"
	keys, err := redisconn.ScanAll(ctx, s.rdb, pattern)
	if err != nil {
		return 0, fmt.Errorf("delete all %s: %w", pattern, err)
	}
	n, err := redisconn.Unlink(ctx, s.rdb, keys)
	if err != nil {
		return n, fmt.Errorf("delete all %s: %w", pattern, err)
	}
	return n, nil
}
