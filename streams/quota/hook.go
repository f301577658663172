package quota

import (
	"context"
	"strings"

	"github.com/redis/go-redis/v9"
)

// The client side of a quota: a go-redis hook that refuses a write once
// the bytes it would add pass the limit.

// Hook is the client side of the guard, for rdb.AddHook: every command
// but the read-only ones counts its arguments' bytes (and commandCost)
// against the quota before it is sent.
func (g *Guard) Hook() redis.Hook { return hook{g} }

// commandCost is what a write is taken to add beyond its arguments: a
// key's or an entry's own bookkeeping in Redis. allocatorSlack (percent)
// is what the server's allocator takes for a value: jemalloc's size
// classes are at most a quarter apart (MEMORY USAGE of a 10 MiB string is
// 12 MiB).
const (
	commandCost    = 64
	allocatorSlack = 125
)

type hook struct{ g *Guard }

func (h hook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h hook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if err := h.g.admit(ctx, []redis.Cmder{cmd}); err != nil {
			cmd.SetErr(err)
			return err
		}
		return next(ctx, cmd)
	}
}

func (h hook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if err := h.g.admit(ctx, cmds); err != nil {
			for _, c := range cmds {
				c.SetErr(err)
			}
			return err
		}
		return next(ctx, cmds)
	}
}

// admit counts cmds and refuses them if they would pass the quota.
func (g *Guard) admit(ctx context.Context, cmds []redis.Cmder) error {
	if g.off() {
		return nil
	}
	var add Usage
	for _, c := range cmds {
		if readOnly(c.Name()) {
			continue
		}
		add.Keys++
		var args int64
		for _, a := range c.Args()[1:] {
			args += argSize(a)
		}
		add.Bytes += commandCost + args*allocatorSlack/100
	}
	if add.Keys == 0 {
		return nil
	}
	g.mu.Lock()
	if g.exceeded != nil {
		err := g.exceeded
		g.mu.Unlock()
		return err
	}
	est := Usage{Bytes: g.measured.Bytes + g.sent.Bytes + add.Bytes, Keys: g.measured.Keys + g.sent.Keys + add.Keys}
	if g.over(est) == nil {
		g.sent.Bytes += add.Bytes
		g.sent.Keys += add.Keys
		g.mu.Unlock()
		return nil
	}
	g.mu.Unlock()
	// The estimate counts every write as new: ask the server what the
	// prefix holds, as overwrites and deletes leave it smaller.
	if err := g.Check(ctx); err != nil {
		return err
	}
	g.mu.Lock()
	alone := g.over(Usage{Bytes: g.measured.Bytes + add.Bytes})
	if alone == nil {
		g.sent.Bytes += add.Bytes
		g.sent.Keys += add.Keys
	}
	g.mu.Unlock()
	if alone != nil {
		// This command would take it past: refuse it, and stop.
		alone.Refused = true
		return g.exceed(alone)
	}
	return nil
}

func argSize(a any) int64 {
	switch v := a.(type) {
	case string:
		return int64(len(v))
	case []byte:
		return int64(len(v))
	default:
		return 8
	}
}

// readOnlyCommands do not add to what a prefix stores.
var readOnlyCommands = func() map[string]bool {
	m := map[string]bool{}
	for _, c := range strings.Fields(`get mget strlen getrange exists type ttl pttl expiretime pexpiretime
		hget hmget hgetall hexists hkeys hvals hlen hstrlen hscan hrandfield
		lrange llen lindex lpos smembers sismember smismember scard srandmember sscan sinter sunion sdiff sintercard
		zrange zrevrange zrangebyscore zrevrangebyscore zrangebylex zrevrangebylex zscore zmscore zcard zrank zrevrank zcount zlexcount zscan zrandmember
		xlen xrange xrevrange xinfo xpending xread
		scan keys dbsize randomkey dump object memory info ping echo time command cluster client hello select auth
		readonly readwrite role lastsave wait waitaof watch unwatch multi exec discard quit
		evalsha_ro eval_ro fcall_ro script publish pubsub subscribe unsubscribe psubscribe punsubscribe`) {
		m[c] = true
	}
	return m
}()

func readOnly(name string) bool { return readOnlyCommands[strings.ToLower(name)] }
