package streams

import (
	"claimsctl/streams/redisconn"
	"claimsctl/streams/scripts"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// evalSha runs a script, loading the scripts again once if the server lost
// them (restarted, or SCRIPT FLUSH).
func evalSha(ctx context.Context, s *Store, sc *scripts.Script, keys []string, args ...any) (any, error) {
	if err := s.scripts.Ensure(ctx, s.rdb); err != nil {
		return nil, err
	}
	v, err := sc.EvalSha(ctx, s.rdb, keys, args...).Result()
	if redisconn.Classify(err) == redisconn.KindNoScript {
		s.tracer.Note(ctx, "the server lost its scripts (restarted?): loading them again")
		s.scripts.Reset()
		if err := s.scripts.Ensure(ctx, s.rdb); err != nil {
			return nil, err
		}
		v, err = sc.EvalSha(ctx, s.rdb, keys, args...).Result()
	}
	return v, err
}

// evalCommand is evalSha of a command the caller built whole: "evalsha",
// the script's hash, the number of keys (a string), the keys and the
// arguments in one slice, which go-redis sends as it is (Script.EvalSha
// copies keys and arguments into a slice of its own, once more per call).
func evalCommand(ctx context.Context, s *Store, cmd []any) (any, error) {
	if err := s.scripts.Ensure(ctx, s.rdb); err != nil {
		return nil, err
	}
	v, err := s.rdb.Do(ctx, cmd...).Result()
	if redisconn.Classify(err) == redisconn.KindNoScript {
		s.tracer.Note(ctx, "the server lost its scripts (restarted?): loading them again")
		s.scripts.Reset()
		if err := s.scripts.Ensure(ctx, s.rdb); err != nil {
			return nil, err
		}
		v, err = s.rdb.Do(ctx, cmd...).Result()
	}
	return v, err
}

// durableTimeout bounds how long an append waits for its replicas.
const durableTimeout = 2 * time.Second

// ErrNotDurable is an append that landed on its master but not on the
// replicas Options.Durable asks for in time: a failover now could lose it.
// Retrying with the same event id is safe (it is not written twice).
var ErrNotDurable = errors.New("not copied to the replicas in time")

// evalDurable is evalSha that, with Options.Durable, sends WAIT right after
// the script on the same connection of the same master (WAIT counts the
// writes of its own connection), so an append counts only once a replica
// holds it.
func evalDurable(ctx context.Context, s *Store, sc *scripts.Script, keys []string, args ...any) (any, error) {
	if s.opts.Durable <= 0 {
		return evalSha(ctx, s, sc, keys, args...)
	}
	if err := s.scripts.Ensure(ctx, s.rdb); err != nil {
		return nil, err
	}
	cc, clustered := s.rdb.(*redis.ClusterClient)
	reloaded := false
	for {
		var node redis.Cmdable = s.rdb
		if clustered {
			master, err := cc.MasterForKey(ctx, keys[0])
			if err != nil {
				return nil, err
			}
			node = master
		}
		pipe := node.Pipeline()
		cmd := sc.EvalSha(ctx, pipe, keys, args...)
		wait := pipe.Do(ctx, "WAIT", s.opts.Durable, durableTimeout.Milliseconds())
		_, _ = pipe.Exec(ctx)
		v, err := cmd.Result()
		switch code := redisconn.ReplyCode(err); {
		case redisconn.Classify(err) == redisconn.KindNoScript && !reloaded:
			// A restarted server, or a replica promoted in a failover:
			// the script cache is not replicated.
			reloaded = true
			s.scripts.Reset()
			if err := s.scripts.Ensure(ctx, s.rdb); err != nil {
				return nil, err
			}
			continue
		case clustered && (code == "MOVED" || code == "ASK"):
			// This pipeline goes to one node, not through the cluster
			// client, which would follow the redirect itself: the slot
			// moved (a failover). The client learns the new layout in the
			// background; the caller's retry goes there (a redirect is
			// unavailable, to classify).
			cc.ReloadState(ctx)
			return nil, err
		}
		if err != nil {
			return nil, err
		}
		got, err := wait.Int64()
		if err != nil {
			return nil, fmt.Errorf("wait for %d replica(s): %w", s.opts.Durable, err)
		}
		if got < int64(s.opts.Durable) {
			return nil, fmt.Errorf("%d of %d replica(s) acknowledged it within %s: %w", got, s.opts.Durable, durableTimeout, ErrNotDurable)
		}
		return v, nil
	}
}

// Run carries out one effect and reads its reply, retrying while Redis is
// unavailable.
func (s *Store) Run(ctx context.Context, e scripts.Effect) (scripts.Reply, error) {
	var reply scripts.Reply
	err := retry(ctx, s, func() error {
		replies, errs, err := s.RunAll(ctx, nil, []scripts.Effect{e})
		if err != nil {
			return err
		}
		reply = replies[0]
		return errs[0]
	})
	return reply, err
}

// RunAll carries out effects in order: in as few batch.lua calls as their
// number allows, all in one pipeline, and returns each one's reply or
// error. A server that lost its scripts gets them again and the whole
// pipeline is sent again: every effect is idempotent.
//
// first, if set, adds plain commands (XACK) in front of the effects; their
// failures are reported as the pipeline's error. With an unavailable
// error (a node down), replies and errs still say what each effect got, so
// that a caller may send again only the effects that failed.
func (s *Store) RunAll(ctx context.Context, first func(redis.Pipeliner), effects []scripts.Effect) ([]scripts.Reply, []error, error) {
	if len(effects) == 0 && first == nil {
		return nil, nil, nil
	}
	var slotOf func(scripts.Effect) int
	if cluster(s) {
		// One script call must stay in one slot: a call per partition.
		slotOf = func(e scripts.Effect) int { return Slot(e.Keys[0]) }
	}
	calls := scripts.Pack(effects, slotOf)
	for attempt := 0; ; attempt++ {
		if err := s.scripts.Ensure(ctx, s.rdb); err != nil {
			return nil, nil, err
		}
		pipe := s.rdb.Pipeline()
		if first != nil {
			first(pipe)
		}
		cmds := make([]*redis.Cmd, len(calls))
		for i, c := range calls {
			cmds[i] = scripts.Batch.EvalSha(ctx, pipe, c.Keys, c.Args...)
		}
		_, err := pipe.Exec(ctx)
		replies := make([]scripts.Reply, len(effects))
		errs := make([]error, len(effects))
		lost := false
		for i, c := range calls {
			v, cerr := cmds[i].Result()
			if redisconn.Classify(cerr) == redisconn.KindNoScript {
				lost = true
				continue
			}
			items, _ := v.([]any)
			for j, k := range c.Items {
				switch {
				case cerr != nil:
					errs[k] = cerr
				case j >= len(items):
					errs[k] = fmt.Errorf("script batch: %d replies for %d operations", len(items), len(c.Items))
				default:
					replies[k], errs[k] = scripts.ParseReply(effects[k].Op, items[j])
				}
			}
		}
		if lost && attempt == 0 {
			s.tracer.Note(ctx, "the server lost its scripts (restarted?): loading them again")
			s.scripts.Reset()
			continue
		}
		if err != nil && len(effects) == 0 {
			return nil, nil, err
		}
		if err != nil && redisconn.Transient(err) {
			return replies, errs, err
		}
		return replies, errs, nil
	}
}
