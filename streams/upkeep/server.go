package upkeep

import (
	"claimsctl/streams"
	"claimsctl/streams/redisconn"
	"context"
	"fmt"
	"strings"
)

// What step 1 checks of the server: its version, mode and persistence.

// ServerInfo is what the lab's step 1 checks about the server.
type ServerInfo struct {
	Version     string // redis_version, or "embedded" for the in-process server
	Mode        string // standalone, cluster, sentinel
	AOF         bool   // appendonly: events survive a restart
	Persistence string // in words
	// ConfigRefused: CONFIG GET was refused (a managed Redis, a student's
	// ACL user), so CONFIG SET appendonly yes is no advice to give.
	ConfigRefused bool
}

// Server reads INFO server and persistence. The embedded server answers
// neither section; it is in memory only.
func Server(ctx context.Context, store *streams.Store) (ServerInfo, error) {
	s := keeperOf(store)
	// Two one-section INFOs in one round trip: the embedded server knows
	// neither section, and refuses INFO with two.
	pipe := s.rdb.Pipeline()
	server := pipe.Info(ctx, "server")
	persistence := pipe.Info(ctx, "persistence")
	_, _ = pipe.Exec(ctx)
	if err := server.Err(); err != nil {
		if redisconn.Classify(err) == redisconn.KindUnsupported {
			return ServerInfo{Version: "embedded (miniredis)", Mode: "standalone", Persistence: "none: in memory only, gone when the claimsctl serving it stops (this one, or `claimsctl serve`)"}, nil
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
	info.ConfigRefused = cerr != nil
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
