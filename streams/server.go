package streams

import (
	"context"
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
	// Two one-section INFOs in one round trip: the embedded server knows
	// neither section, and refuses INFO with two.
	pipe := s.rdb.Pipeline()
	server := pipe.Info(ctx, "server")
	persistence := pipe.Info(ctx, "persistence")
	_, _ = pipe.Exec(ctx)
	if err := server.Err(); err != nil {
		if classify(err) == errUnsupported {
			return ServerInfo{Version: "embedded (miniredis)", Mode: "standalone", Persistence: "none: in memory, gone when claimsctl exits"}, nil
		}
		return ServerInfo{}, fmt.Errorf("server info: %w", err)
	}
	if err := persistence.Err(); err != nil {
		return ServerInfo{}, fmt.Errorf("server info: %w", err)
	}
	fields := map[string]string{}
	for _, line := range strings.Split(server.Val()+"\n"+persistence.Val(), "\n") {
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
	var out []Delivery
	err := waitInSlices(ctx, block, func(slice time.Duration) (bool, error) {
		res, err := s.rdb.XRead(ctx, &redis.XReadArgs{Streams: []string{s.keys.Events(), after}, Count: count, Block: slice}).Result()
		if err != nil && classify(err) != errNil {
			return true, err
		}
		for _, st := range res {
			for _, m := range st.Messages {
				out = append(out, decode(st.Stream, m))
				after = m.ID
			}
		}
		return len(out) > 0, nil
	})
	if err != nil {
		return nil, after, fmt.Errorf("tail %s: %w", s.keys.Events(), err)
	}
	return out, after, nil
}
