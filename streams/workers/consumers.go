package workers

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"time"

	"claimsctl/streams"
	"claimsctl/streams/claims"
	"claimsctl/streams/redisconn"
	"claimsctl/streams/scripts"
	"claimsctl/streams/streamview"

	"github.com/redis/go-redis/v9"
)

// Consumers: who runs, who is gone, and removing the gone ones.
const (
	// aliveEvery is how often a running worker renews its presence key,
	// which expires after aliveTTL: a worker killed without stopping counts
	// as gone within a few seconds.
	aliveEvery = time.Second
	aliveTTL   = 3 * time.Second
)

// KeepAlive marks consumer of group as running, on any backend and
// whichever process runs it, until stop is called: a field of the hash
// claims:alive:<group>, renewed every second to say "running for three
// more seconds", removed by stop. XINFO CONSUMERS cannot say this: a
// worker that has not been handed an entry yet is not even listed, and
// idle grows while it waits (see LongIdle). It runs on its own context,
// so a worker that finishes its batch after being cancelled still counts
// as running meanwhile. Expiry times are the workers' clocks: the lab's
// processes share one machine.
func KeepAlive(ctx context.Context, s *streams.Store, group, consumer string) (stop func()) {
	return keepAlive(ctx, s, group, consumer, 0)
}

// KeepAliveProcess is KeepAlive for a worker that is a process of its own
// (claimsctl worker): its pid is kept beside its mark, in the hash
// claims:pids:<group>, so that a lab session can find it and kill it
// (chaos.kill). The lab's processes share one machine.
func KeepAliveProcess(ctx context.Context, s *streams.Store, group, consumer string, pid int) (stop func()) {
	return keepAlive(ctx, s, group, consumer, pid)
}

func keepAlive(ctx context.Context, s *streams.Store, group, consumer string, pid int) (stop func()) {
	// A killed worker (see Killable) leaves its mark to expire, as a
	// Killed process does.
	ctx, cancel := context.WithCancel(survivor(ctx))
	key, pids := s.Keys().Alive(group), s.Keys().Pids(group)
	// A failed mark is tried again at the next tick: the worker itself
	// reports Redis's trouble. The first one is made before KeepAlive
	// returns, so the worker counts as running from its start. The hashes
	// expire with their last worker.
	mark := func() {
		pipe := s.Client().Pipeline()
		pipe.HSet(ctx, key, consumer, time.Now().Add(aliveTTL).UnixMilli())
		pipe.PExpire(ctx, key, aliveTTL)
		if pid > 0 {
			pipe.HSet(ctx, pids, consumer, pid)
			pipe.PExpire(ctx, pids, aliveTTL)
		}
		_, _ = pipe.Exec(ctx)
	}
	mark()
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(aliveEvery)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				mark()
			}
		}
	}()
	return func() {
		killed := ctx.Err() != nil
		cancel()
		<-done
		if killed {
			return
		}
		dctx, cancelDel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancelDel()
		// else they expire by themselves
		_ = s.Client().HDel(dctx, key, consumer).Err()
		if pid > 0 {
			_ = s.Client().HDel(dctx, pids, consumer).Err()
		}
	}
}

// Processes are the pids of the running workers of a group that are
// processes of their own (KeepAliveProcess), by consumer.
func Processes(ctx context.Context, s *streams.Store, group string) (map[string]int, error) {
	running, err := Running(ctx, s, group)
	if err != nil {
		return nil, err
	}
	pids, err := s.Client().HGetAll(ctx, s.Keys().Pids(group)).Result()
	if err != nil {
		return nil, fmt.Errorf("worker processes of %s: %w", group, err)
	}
	out := map[string]int{}
	for _, consumer := range running {
		if pid, err := strconv.Atoi(pids[consumer]); err == nil && pid > 0 {
			out[consumer] = pid
		}
	}
	return out, nil
}

// Running lists the consumers of a group that live workers run now (see
// KeepAlive), sorted: in any process, whether or not XINFO CONSUMERS
// lists them yet.
func Running(ctx context.Context, s *streams.Store, group string) ([]string, error) {
	marks, err := s.Client().HGetAll(ctx, s.Keys().Alive(group)).Result()
	if err != nil {
		return nil, fmt.Errorf("running consumers of %s: %w", group, err)
	}
	now := time.Now().UnixMilli()
	var out []string
	for consumer, until := range marks {
		if ms, err := strconv.ParseInt(until, 10, 64); err == nil && ms > now {
			out = append(out, consumer)
		}
	}
	sort.Strings(out)
	return out, nil
}

// ForgetOptions choose the consumers DeleteIdleConsumers removes.
type ForgetOptions struct {
	// Idle: only consumers idle at least this long (default LongIdle).
	// Where the server does not track idle time (the embedded server, for
	// a consumer that only ever read), a consumer counts as idle.
	Idle time.Duration
	// To, if set, first takes over the pending entries of the consumers to
	// remove (XCLAIM), so they can go too; the entries then wait for To,
	// which handles them when it starts (or by its recovery if it runs).
	// Without To, a consumer holding entries is kept.
	To string
}

// ForgetResult says what DeleteIdleConsumers did, consumer by consumer.
type ForgetResult struct {
	Deleted    []string
	HandedOver int64 // pending entries taken over by To
	Kept       []KeptConsumer
}

// KeptConsumer is a consumer DeleteIdleConsumers left, and why.
type KeptConsumer struct {
	Name, Reason string
}

// DeleteIdleConsumers removes the consumers of a group that are idle (see
// ForgetOptions), run by no live worker (Running) and hold no pending
// entries (XGROUP DELCONSUMER, checked atomically: a consumer's pending
// entries would be lost with it). Restarts under new names leave such
// consumers behind; they clutter XINFO and the state view, and an idle
// one's entries are easy to overlook.
func DeleteIdleConsumers(ctx context.Context, s *streams.Store, group string, o ForgetOptions) (ForgetResult, error) {
	fail := func(err error) (ForgetResult, error) {
		return ForgetResult{}, fmt.Errorf("forget consumers of %s: %w", group, err)
	}
	if o.Idle <= 0 {
		o.Idle = streams.LongIdle
	}
	if o.To != "" {
		if err := claims.ValidName("consumer", o.To); err != nil {
			return fail(err)
		}
	}
	events := s.Keys().EventStreams()
	byStream, err := consumersOn(ctx, s, group, events)
	if err != nil {
		return fail(err)
	}
	running, err := Running(ctx, s, group)
	if err != nil {
		return fail(err)
	}
	var res ForgetResult
	for _, c := range mergeConsumers(byStream) {
		switch {
		case c.Name == o.To:
			continue
		case slices.Contains(running, c.Name):
			res.Kept = append(res.Kept, KeptConsumer{c.Name, "a worker runs as it"})
			continue
		case c.Idle >= 0 && c.Idle < o.Idle:
			res.Kept = append(res.Kept, KeptConsumer{c.Name, fmt.Sprintf("idle for %s only", c.Idle.Round(time.Second))})
			continue
		}
		// Stream by stream: the consumer is one name in each partition's
		// group, and a script (one slot) checks one stream's entries.
		kept := false
		for i, stream := range events {
			mine, ok := byStream[i][c.Name]
			if !ok {
				continue
			}
			if mine.Pending > 0 && o.To != "" {
				n, err := handOver(ctx, s, stream, group, c.Name, o.To)
				if err != nil {
					return fail(err)
				}
				res.HandedOver += n
			}
			removed, err := scripts.ForgetConsumer.Run(ctx, s.Client(), []string{stream}, group, c.Name).Int()
			if err != nil {
				return fail(err)
			}
			kept = kept || removed == 0
		}
		if kept {
			res.Kept = append(res.Kept, KeptConsumer{c.Name, "it holds pending entries (give to= to hand them over)"})
			continue
		}
		res.Deleted = append(res.Deleted, c.Name)
	}
	return res, nil
}

// consumersOn reads a group's consumers on each stream, by name. A stream
// without the group has none; a group on none of them is an error.
func consumersOn(ctx context.Context, s *streams.Store, group string, events []string) ([]map[string]streamview.ConsumerState, error) {
	pipe := s.Client().Pipeline()
	cmds := make([]*redis.XInfoConsumersCmd, len(events))
	for i, stream := range events {
		cmds[i] = pipe.XInfoConsumers(ctx, stream, group)
	}
	_, _ = pipe.Exec(ctx)
	out := make([]map[string]streamview.ConsumerState, len(events))
	var lastMissing error
	found := false
	for i, c := range cmds {
		out[i] = map[string]streamview.ConsumerState{}
		cons, err := c.Result()
		switch {
		case redisconn.Missing(err):
			lastMissing = err
			continue
		case err != nil:
			return nil, err
		}
		found = true
		for _, cs := range streamview.ConsumerStates(cons) {
			out[i][cs.Name] = cs
		}
	}
	if !found {
		return nil, lastMissing
	}
	return out, nil
}

// mergeConsumers is each consumer once over the streams, as the state
// view shows it: its pending entries summed, its least idle time.
func mergeConsumers(byStream []map[string]streamview.ConsumerState) []streamview.ConsumerState {
	merged := map[string]streamview.ConsumerState{}
	for _, cons := range byStream {
		for name, c := range cons {
			if m, ok := merged[name]; ok {
				c.Pending += m.Pending
				c.Idle = min(c.Idle, m.Idle)
			}
			merged[name] = c
		}
	}
	out := slices.Collect(maps.Values(merged))
	sort.Slice(out, func(a, b int) bool { return out[a].Name < out[b].Name })
	return out
}

// handOver moves every pending entry of from in stream to to (XCLAIM,
// which counts as a delivery, so the DLQ limit still applies), a page at a
// time.
func handOver(ctx context.Context, s *streams.Store, stream, group, from, to string) (int64, error) {
	var moved int64
	previous := ""
	for {
		entries, err := s.Client().XPendingExt(ctx, &redis.XPendingExtArgs{
			Stream: stream, Group: group, Consumer: from, Start: "-", End: "+", Count: defaultRecoverCount,
		}).Result()
		if err != nil {
			return moved, fmt.Errorf("hand over the entries of %s: %w", from, err)
		}
		if len(entries) == 0 {
			return moved, nil
		}
		if entries[0].ID == previous {
			return moved, fmt.Errorf("hand over the entries of %s to %s: entry %s stays with %s", from, to, previous, from)
		}
		previous = entries[0].ID
		ids := make([]string, len(entries))
		for i, e := range entries {
			ids[i] = e.ID
		}
		// Entries deleted from the stream meanwhile are not returned; Redis
		// drops them from the group.
		if err := s.Client().XClaim(ctx, &redis.XClaimArgs{Stream: stream, Group: group, Consumer: to, Messages: ids}).Err(); err != nil && !errors.Is(err, redis.Nil) {
			return moved, fmt.Errorf("hand over the entries of %s to %s: %w", from, to, err)
		}
		moved += int64(len(ids))
	}
}
