package streams

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// ServerInfo is what the lab's step 1 checks about the server.
type ServerInfo struct {
	Version     string // redis_version, or "embedded" for the in-process server
	Mode        string // standalone, cluster, sentinel
	AOF         bool   // appendonly: events survive a restart
	Persistence string // in words
}

// Server reads INFO server and persistence. The embedded server answers
// neither section; it is in memory only.
func (s *Store) Server(ctx context.Context) (ServerInfo, error) {
	raw, err := s.rdb.Info(ctx, "server", "persistence").Result()
	if err != nil {
		// miniredis knows neither section (nor INFO with two sections).
		if msg := err.Error(); strings.Contains(msg, "not supported") || strings.Contains(msg, "wrong number of arguments") {
			return ServerInfo{Version: "embedded (miniredis)", Mode: "standalone", Persistence: "none: in memory, gone when claimsctl exits"}, nil
		}
		return ServerInfo{}, fmt.Errorf("server info: %w", err)
	}
	fields := map[string]string{}
	for _, line := range strings.Split(raw, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok {
			fields[k] = v
		}
	}
	info := ServerInfo{Version: fields["redis_version"], Mode: fields["redis_mode"], AOF: fields["aof_enabled"] == "1"}
	// The RDB schedule is only in the configuration; a managed Redis may
	// refuse CONFIG, and then it is unknown.
	save, cerr := s.rdb.ConfigGet(ctx, "save").Result()
	switch {
	case info.AOF:
		info.Persistence = "AOF on: every write is logged and replayed after a restart"
	case cerr != nil:
		info.Persistence = "AOF off; RDB snapshots unknown (CONFIG GET save refused)"
	case strings.TrimSpace(save["save"]) == "":
		info.Persistence = "none: AOF off and no RDB snapshots, a restart loses everything"
	default:
		info.Persistence = "RDB snapshots only (save " + save["save"] + "): writes since the last snapshot are lost on a crash"
	}
	return info, nil
}

// Tail reads claims:events after id with XREAD (no group: nothing is
// recorded as delivered), waiting up to block for new entries in slices of
// at most a second so that cancelling ctx stops it promptly. It returns the
// entries and the id to continue from. Pass "$" to start at the end.
func (s *Store) Tail(ctx context.Context, after string, count int64, block time.Duration) ([]Delivery, string, error) {
	if after == "$" {
		last, err := s.rdb.XRevRangeN(ctx, s.keys.Events(), "+", "-", 1).Result()
		if err != nil {
			return nil, after, fmt.Errorf("tail %s: %w", s.keys.Events(), err)
		}
		after = "0-0"
		if len(last) > 0 {
			after = last[0].ID
		}
	}
	deadline := time.Now().Add(block)
	for {
		slice := time.Duration(-1)
		// Under a millisecond would be sent as BLOCK 0, which waits forever.
		if remaining := time.Until(deadline); remaining >= time.Millisecond {
			slice = min(remaining, time.Second)
		}
		res, err := s.rdb.XRead(ctx, &redis.XReadArgs{Streams: []string{s.keys.Events(), after}, Count: count, Block: slice}).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			if ctx.Err() != nil {
				return nil, after, fmt.Errorf("tail: %w", ctx.Err())
			}
			return nil, after, fmt.Errorf("tail %s: %w", s.keys.Events(), err)
		}
		var out []Delivery
		for _, st := range res {
			for _, m := range st.Messages {
				out = append(out, decodeDelivery(m))
				after = m.ID
			}
		}
		if len(out) > 0 || slice < 0 || time.Until(deadline) <= 0 {
			return out, after, nil
		}
		if err := ctx.Err(); err != nil {
			return nil, after, fmt.Errorf("tail: %w", err)
		}
	}
}
