package upkeep

import (
	"context"
	"errors"
	"fmt"

	"claimsctl/streams"
	"claimsctl/streams/claims"
	"claimsctl/streams/redisconn"
)

// ErrNotFresh is a seeded run refused on a keyspace that holds events.
var ErrNotFresh = errors.New("a seeded run needs a keyspace without events")

// CheckFresh makes sure a seeded run (streams.Options.Seeded) can choose its entry
// ids: none of the store's streams exists yet. Redis takes an explicit id
// only after a stream's last one, and a seeded run's ids come from a clock
// that starts at claims.LabEpoch, long before any entry written today; a
// stream emptied by XTRIM or XDEL still remembers its last id.
func CheckFresh(ctx context.Context, s *streams.Store) error {
	ctx = redisconn.Untraced(ctx)
	keys := s.Keys().Streams()
	rdb := s.Client()
	pipe := rdb.Pipeline()
	for _, key := range keys {
		pipe.Exists(ctx, key)
	}
	cmds, err := pipe.Exec(ctx)
	if err != nil {
		return fmt.Errorf("check the keyspace for a seeded run: %w", err)
	}
	for i, c := range cmds {
		n, _ := c.(interface{ Val() int64 })
		if n == nil || n.Val() == 0 {
			continue
		}
		what := keys[i] + " exists"
		if info, err := rdb.XInfoStream(ctx, keys[i]).Result(); err == nil {
			what = fmt.Sprintf("%s holds %s (the last id %s)", keys[i], claims.Plural(info.Length, "entry", "entries"), info.LastGeneratedID)
		}
		return fmt.Errorf("%s: its entry ids would start at %s (%d-0), and Redis takes an id only after a stream's last one: %w",
			what, claims.LabEpoch.Format("2006-01-02 15:04:05 MST"), claims.LabEpoch.UnixMilli(), ErrNotFresh)
	}
	return nil
}
