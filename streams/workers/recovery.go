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

	"github.com/redis/go-redis/v9"
)

// Defaults of recovery and the dead-letter limit.
const (
	defaultRecoverCount = 100
	// maxAutoClaimCalls bounds one Recover: XAUTOCLAIM scans at most
	// 10×COUNT entries of the PEL per call and hands back a cursor.
	maxAutoClaimCalls = 10
)

// RecoverOptions tune one take-over of idle pending entries.
type RecoverOptions struct {
	// MinIdle: only entries not delivered for at least this long are taken
	// (default 30s; use time.Millisecond to take everything pending). Their
	// consumer is presumed dead; a small value steals work from a consumer
	// that is merely slow.
	MinIdle time.Duration
	// Count is the most entries to take (default 100).
	Count int64
}

// RecoverResult is what a take-over got.
type RecoverResult struct {
	// Claimed entries now belong to the caller, each with its delivery
	// count (the take-over counts as a delivery).
	Claimed []streams.Delivery
	// DeletedIDs were pending but deleted from the stream (XDEL, trim);
	// Redis dropped them from the PEL. The embedded server never reports
	// them (they stay in its PEL).
	DeletedIDs []string
}

// Recover takes over entries of a group that have been pending for at
// least MinIdle, whoever holds them (XAUTOCLAIM), so that the work of a
// crashed consumer is finished by another one.
//
// It never takes an entry that is not idle enough: XPENDING IDLE first
// says whether anything is idle and where to start, and XAUTOCLAIM itself
// re-checks min-idle atomically on both backends (the embedded server
// ignores min-idle in XCLAIM, which is why XCLAIM is not used here), so an
// entry its owner touched in between stays with the owner.
func Recover(ctx context.Context, s *streams.Store, group, consumer string, o RecoverOptions) (RecoverResult, error) {
	var res RecoverResult
	for _, stream := range s.Keys().EventStreams() {
		part, err := recoverStream(ctx, s, stream, group, consumer, o)
		if err != nil {
			return res, err
		}
		res.Claimed = append(res.Claimed, part.Claimed...)
		res.DeletedIDs = append(res.DeletedIDs, part.DeletedIDs...)
	}
	return res, nil
}

// recoverStream is Recover on one partition's stream.
func recoverStream(ctx context.Context, s *streams.Store, stream, group, consumer string, o RecoverOptions) (RecoverResult, error) {
	fail := func(err error) (RecoverResult, error) {
		return RecoverResult{}, fmt.Errorf("recover %s/%s: %w", group, consumer, err)
	}
	if err := claims.ValidName("consumer", consumer); err != nil {
		return fail(err)
	}
	if o.MinIdle <= 0 {
		o.MinIdle = streams.DefaultMinIdle
	}
	if o.Count <= 0 {
		o.Count = defaultRecoverCount
	}
	idle, err := s.Client().XPendingExt(ctx, &redis.XPendingExtArgs{
		Stream: stream, Group: group, Idle: o.MinIdle, Start: "-", End: "+", Count: 1,
	}).Result()
	if err != nil {
		if redisconn.Missing(err) {
			return RecoverResult{}, nil
		}
		return fail(err)
	}
	if len(idle) == 0 {
		return RecoverResult{}, nil
	}
	var res RecoverResult
	start := idle[0].ID
	for range maxAutoClaimCalls {
		msgs, next, deleted, err := s.Client().XAutoClaimWithDeleted(ctx, &redis.XAutoClaimArgs{
			Stream: stream, Group: group, Consumer: consumer,
			MinIdle: o.MinIdle, Start: start, Count: o.Count - int64(len(res.Claimed)),
		}).Result()
		if err != nil {
			return fail(err)
		}
		for _, m := range msgs {
			res.Claimed = append(res.Claimed, s.DecodeDelivery(stream, m))
		}
		res.DeletedIDs = append(res.DeletedIDs, deleted...)
		if next == "0-0" || int64(len(res.Claimed)) >= o.Count {
			break
		}
		start = next
	}
	if err := setDeliveries(ctx, s, group, consumer, res.Claimed); err != nil {
		return fail(err)
	}
	return res, nil
}

// setDeliveries fills in each delivery's count from XPENDING (XAUTOCLAIM
// and XREADGROUP 0 do not report it), one pipelined XPENDING per entry.
func setDeliveries(ctx context.Context, s *streams.Store, group, consumer string, ds []streams.Delivery) error {
	if len(ds) == 0 {
		return nil
	}
	pipe := s.Client().Pipeline()
	cmds := make([]*redis.XPendingExtCmd, len(ds))
	for i, d := range ds {
		cmds[i] = pipe.XPendingExt(ctx, &redis.XPendingExtArgs{
			Stream: d.Stream, Group: group, Start: d.ID, End: d.ID, Count: 1, Consumer: consumer,
		})
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("delivery counts: %w", err)
	}
	for i := range ds {
		if p := cmds[i].Val(); len(p) == 1 {
			ds[i].Deliveries = p[0].RetryCount
		}
	}
	return nil
}

// readOwnPending re-reads a consumer's own pending entries with ids after
// `after` (XREADGROUP with an id), with their delivery counts. Each read
// counts as a delivery and resets the idle time, which hides the entry
// from other consumers' recovery: call it once per page at start-up, never
// in a loop (see DESIGN "Known traps").
func readOwnPending(ctx context.Context, s *streams.Store, stream, group, consumer, after string, count int64) ([]streams.Delivery, error) {
	out, err := s.ReadGroup(ctx, streams.GroupRead{Stream: stream, Group: group, Consumer: consumer, Start: after, Count: count})
	if err != nil {
		return nil, fmt.Errorf("read pending %s/%s: %w", group, consumer, err)
	}
	if err := setDeliveries(ctx, s, group, consumer, out); err != nil {
		return nil, fmt.Errorf("read pending %s/%s: %w", group, consumer, err)
	}
	return out, nil
}

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
			removed, err := streams.ForgetScript.Run(ctx, s.Client(), []string{stream}, group, c.Name).Int()
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
func consumersOn(ctx context.Context, s *streams.Store, group string, events []string) ([]map[string]streams.ConsumerState, error) {
	pipe := s.Client().Pipeline()
	cmds := make([]*redis.XInfoConsumersCmd, len(events))
	for i, stream := range events {
		cmds[i] = pipe.XInfoConsumers(ctx, stream, group)
	}
	_, _ = pipe.Exec(ctx)
	out := make([]map[string]streams.ConsumerState, len(events))
	var lastMissing error
	found := false
	for i, c := range cmds {
		out[i] = map[string]streams.ConsumerState{}
		cons, err := c.Result()
		switch {
		case redisconn.Missing(err):
			lastMissing = err
			continue
		case err != nil:
			return nil, err
		}
		found = true
		for _, cs := range streams.ConsumerStates(cons) {
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
func mergeConsumers(byStream []map[string]streams.ConsumerState) []streams.ConsumerState {
	merged := map[string]streams.ConsumerState{}
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
