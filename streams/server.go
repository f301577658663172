package streams

import (
	"claimsctl/streams/claims"
	"claimsctl/streams/redisconn"
	"context"
	"fmt"
	"net"
	"sort"
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
	// ConfigRefused: CONFIG GET was refused (a managed Redis, a student's
	// ACL user), so CONFIG SET appendonly yes is no advice to give.
	ConfigRefused bool
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

// TailCursor is where a tail of the event streams stands: the last id
// read in each.
type TailCursor struct {
	after map[string]string
}

// NewTailCursor starts a tail at the end of the event streams ("$"), or
// after the entry id from in every one of them.
func (s *Store) NewTailCursor(ctx context.Context, from string) (*TailCursor, error) {
	c := &TailCursor{after: map[string]string{}}
	streams := s.keys.EventStreams()
	if from != "$" {
		if !claims.ValidStreamID(from) {
			return nil, fmt.Errorf("tail: from %q is not a stream id like 1795597353284-0 (or $ for the end)", from)
		}
		for _, st := range streams {
			c.after[st] = from
		}
		return c, nil
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.XMessageSliceCmd, len(streams))
	for i, st := range streams {
		cmds[i] = pipe.XRevRangeN(ctx, st, "+", "-", 1)
	}
	if _, err := pipe.Exec(ctx); err != nil && !redisconn.Missing(err) {
		return nil, fmt.Errorf("tail: %w", err)
	}
	for i, st := range streams {
		c.after[st] = "0-0"
		if last := cmds[i].Val(); len(last) > 0 {
			c.after[st] = last[0].ID
		}
	}
	return c, nil
}

// TailCursorAfter starts a tail after one entry id per event stream, in
// partition order (as XREAD takes one id per stream): with partitions an
// entry id orders only its own stream's entries.
func (s *Store) TailCursorAfter(ids []string) (*TailCursor, error) {
	streams := s.keys.EventStreams()
	if len(ids) != len(streams) {
		return nil, fmt.Errorf("tail: %d ids for %d event streams: give one per partition", len(ids), len(streams))
	}
	c := &TailCursor{after: map[string]string{}}
	for i, st := range streams {
		if !claims.ValidStreamID(ids[i]) {
			return nil, fmt.Errorf("tail: %q is not a stream id like 1795597353284-0", ids[i])
		}
		c.after[st] = ids[i]
	}
	return c, nil
}

// Tail reads the event streams after the cursor with XREAD (no group:
// nothing is recorded as delivered), waiting up to block for new entries in
// slices of at most a second so that cancelling ctx stops it promptly, and
// moves the cursor on. Entries of several partitions come in id order.
func (s *Store) Tail(ctx context.Context, cur *TailCursor, count int64, block time.Duration) ([]Delivery, error) {
	streams := s.keys.EventStreams()
	var out []Delivery
	err := waitInSlices(ctx, block, func(slice time.Duration) (bool, error) {
		res, err := s.xread(ctx, streams, cur, count, slice)
		if err != nil {
			return true, err
		}
		for _, st := range res {
			for _, m := range st.Messages {
				out = append(out, decode(st.Stream, m))
				cur.after[st.Stream] = m.ID
			}
		}
		return len(out) > 0, nil
	})
	if err != nil {
		return nil, fmt.Errorf("tail: %w", err)
	}
	sort.SliceStable(out, func(a, b int) bool { return claims.CompareIDs(out[a].ID, out[b].ID) < 0 })
	return out, nil
}

// xread is one XREAD of several streams after the cursor. On a cluster,
// whose streams live on several nodes, it is one XREAD per stream at the
// same time, and a blocking one ends as soon as one stream has entries or
// ctx is cancelled: the reads still blocked are left to end with their
// block, their replies dropped. That loses nothing: XREAD takes nothing
// from anyone, and the cursor moves only by what is returned.
func (s *Store) xread(ctx context.Context, streams []string, cur *TailCursor, count int64, block time.Duration) ([]redis.XStream, error) {
	read := func(streams, after []string) ([]redis.XStream, error) {
		args := append(append([]string(nil), streams...), after...)
		res, err := s.rdb.XRead(ctx, &redis.XReadArgs{Streams: args, Count: count, Block: block}).Result()
		if redisconn.Classify(err) == redisconn.KindNil {
			err = nil
		}
		return res, err
	}
	after := make([]string, len(streams))
	for i, st := range streams {
		after[i] = cur.after[st]
	}
	if !s.cluster() || len(streams) == 1 {
		return read(streams, after)
	}
	type reply struct {
		i   int
		res []redis.XStream
		err error
	}
	replies := make(chan reply, len(streams)) // a dropped read never blocks
	for i, st := range streams {
		go func() {
			res, err := read([]string{st}, after[i:i+1])
			replies <- reply{i, res, err}
		}()
	}
	results := make([][]redis.XStream, len(streams))
wait:
	for range streams {
		select {
		case r := <-replies:
			if r.err != nil {
				return nil, r.err
			}
			results[r.i] = r.res
			if len(r.res) > 0 && block >= 0 {
				break wait
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	var out []redis.XStream
	for _, res := range results {
		out = append(out, res...)
	}
	return out, nil
}

// RedisCLI is the redis-cli command line that reaches the server this
// store uses ("redis-cli", "redis-cli -p 16399", "redis-cli -c -p 30001"
// for a cluster), for hints a student can paste. It names no password:
// an ACL user's line asks for it (--user alice --askpass).
func (s *Store) RedisCLI() string {
	var addr, flags, user string
	switch c := s.rdb.(type) {
	case *redis.Client:
		addr, user = c.Options().Addr, c.Options().Username
	case *redis.ClusterClient:
		flags, user = " -c", c.Options().Username
		if seeds := c.Options().Addrs; len(seeds) > 0 {
			addr = seeds[0]
		}
	}
	if host, port, err := net.SplitHostPort(addr); err == nil {
		if host != "127.0.0.1" && host != "localhost" && host != "::1" && host != "" {
			flags += " -h " + host
		}
		if port != "6379" {
			flags += " -p " + port
		}
	}
	if user != "" && user != "default" {
		flags += " --user " + user + " --askpass"
	}
	return "redis-cli" + flags
}
