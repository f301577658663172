package bench

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"claimsctl/streams"
	"claimsctl/streams/claims"
	"claimsctl/streams/redisconn"
	"claimsctl/streams/upkeep"
	"claimsctl/streams/workers"

	"github.com/redis/go-redis/v9"
)

// The standard workload of `claimsctl bench` in Go: every path of the store
// measured on the Redis it is connected to, each beside what that Redis
// does for the same process without claimsctl's checks (a bare XADD loop,
// one at a time and pipelined; a raw XRANGE read), so that ratios, not
// machine-dependent rates, say how close to Redis the tool runs.

// Options shape a benchmark run.
type Options struct {
	// Claims is how many claims the submit loop files, and again how many
	// submit_many files (default 10000).
	Claims int
	// Step, if set, is called as each measurement is done.
	Step func(Step)
	// Keep leaves the workload's keys in place (for comparisons with other
	// tools on the same data) instead of deleting them.
	Keep bool
}

// Step is one measured path.
type Step struct {
	Name    string  `json:"name"`
	Events  int64   `json:"events"`
	Seconds float64 `json:"seconds"`
	PerSec  float64 `json:"events_per_second"`
	// Baseline names the ceiling step this one is compared with, and
	// Ratio is PerSec over that ceiling's ("" and 0 for a ceiling).
	Baseline string  `json:"baseline,omitempty"`
	Ratio    float64 `json:"ratio,omitempty"`
}

// Report is a whole run.
type Report struct {
	Claims int    `json:"claims"`
	Steps  []Step `json:"steps"`
	// Memory is Redis's used_memory added per processed claim against the
	// event streams' own size (MEMORY USAGE); zero where the server does
	// not say (the embedded server). Submitted is the same once the claims
	// are submitted, before any worker ran.
	Memory    Memory `json:"memory"`
	Submitted Memory `json:"memory_submitted"`
	// Processed is the same once the processor ran (its decisions, the
	// read model and the aggregates), before the other workers.
	Processed Memory `json:"memory_processed"`
}

// Memory is where the memory of the keyspace goes.
type Memory struct {
	UsedPerClaim   float64 `json:"used_memory_per_claim_bytes"`
	StreamPerClaim float64 `json:"stream_bytes_per_claim"`
	Ratio          float64 `json:"ratio"`
}

// Ceiling steps: what this Redis does for this process with no checks.
const (
	benchXAddOne      = "XADD one at a time"
	benchXAddPipeline = "XADD pipelined by 100"
	benchXRange       = "XRANGE read of the events"
)

// workload is the store the bench runs on, with its connection and keys
// at hand.
type workload struct {
	store *streams.Store
	rdb   redis.UniversalClient
	keys  streams.Keys
}

// now is the time the workload's events carry, as the store's clock writes
// it (UTC, to the millisecond).
func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// rawReadPage is how many entries one XRANGE of rawRead reads: replay's
// page, so the raw read costs what a replay's reads cost.
const rawReadPage = 2000

// ErrNotEmpty is a keyspace that holds claims already: bench writes its
// own and deletes everything under the prefix afterwards.
var ErrNotEmpty = errors.New("the keyspace holds claims already")

// Run runs the standard workload on an empty keyspace (refusing one
// that holds events) and deletes what it wrote unless o.Keep. It needs a
// key prefix, which it deletes everything under at the end.
func Run(ctx context.Context, store *streams.Store, o Options) (Report, error) {
	s := workload{store: store, rdb: store.Client(), keys: store.Keys()}
	if o.Claims <= 0 {
		o.Claims = 10000
	}
	if s.keys.Prefix == "" {
		return Report{}, errors.New("bench: needs a key prefix of its own (it deletes everything under it afterwards)")
	}
	n, err := s.eventCount(ctx)
	if err != nil {
		return Report{}, fmt.Errorf("bench: %w", err)
	}
	if n > 0 {
		return Report{}, fmt.Errorf("bench: %s%s holds %d events: %w; choose another --prefix", s.keys.Prefix, "claims:events", n, ErrNotEmpty)
	}
	if !o.Keep {
		defer func() { _, _ = upkeep.DeleteAll(context.WithoutCancel(ctx), s.store) }()
	}

	r := Report{Claims: o.Claims}
	ceilings := map[string]float64{}
	record := func(name string, events int64, took time.Duration, baseline string) {
		st := Step{Name: name, Events: events, Seconds: took.Seconds(), Baseline: baseline}
		if took > 0 {
			st.PerSec = float64(events) / took.Seconds()
		}
		if baseline == "" {
			ceilings[name] = st.PerSec
		} else if c := ceilings[baseline]; c > 0 {
			st.Ratio = st.PerSec / c
		}
		r.Steps = append(r.Steps, st)
		if o.Step != nil {
			o.Step(st)
		}
	}

	if err := s.benchXAdd(ctx, o.Claims, record); err != nil {
		return r, err
	}
	if _, err := upkeep.LoadSampleData(ctx, s.store, claims.SampleOptions{}); err != nil {
		return r, fmt.Errorf("bench: %w", err)
	}
	usedBefore := s.usedMemory(ctx)

	samples := claims.SampleClaims(2*o.Claims, 1, now())
	subs := make([]streams.NewClaim, len(samples))
	for i, c := range samples {
		subs[i] = streams.Submission{CustomerID: c.CustomerID, PolicyID: c.PolicyID, Amount: c.Amount,
			ClaimType: c.ClaimType, IncidentDate: c.IncidentDate, Description: c.Description}.NewClaim()
	}
	start := time.Now()
	for _, sub := range subs[:o.Claims] {
		if _, _, err := s.store.Emit(ctx, "", claims.ClaimSubmitted, sub.Data, streams.EmitOptions{}); err != nil {
			return r, fmt.Errorf("bench: submit: %w", err)
		}
	}
	record("submit loop", int64(o.Claims), time.Since(start), benchXAddOne)
	start = time.Now()
	if _, err := s.store.SubmitMany(ctx, subs[o.Claims:], streams.BulkOptions{}); err != nil {
		return r, fmt.Errorf("bench: %w", err)
	}
	record("submit_many", int64(o.Claims), time.Since(start), benchXAddPipeline)
	r.Submitted = s.memoryPerClaim(ctx, usedBefore, 2*o.Claims)

	for _, name := range workers.Names {
		h, err := workers.New(s.store, name)
		if err != nil {
			return r, err
		}
		events, took, err := s.drain(ctx, h)
		if err != nil {
			return r, fmt.Errorf("bench: %s: %w", name, err)
		}
		record(name+" draining", events, took, benchXAddPipeline)
		if name == "processor" {
			r.Processed = s.memoryPerClaim(ctx, usedBefore, 2*o.Claims)
		}
	}

	total, err := s.eventCount(ctx)
	if err != nil {
		return r, fmt.Errorf("bench: %w", err)
	}
	start = time.Now()
	if err := s.rawRead(ctx); err != nil {
		return r, fmt.Errorf("bench: %w", err)
	}
	record(benchXRange, total, time.Since(start), "")
	start = time.Now()
	if _, err := s.store.Report(ctx); err != nil {
		return r, fmt.Errorf("bench: %w", err)
	}
	record("report()", total, time.Since(start), benchXRange)
	start = time.Now()
	if _, err := upkeep.Rebuild(ctx, s.store); err != nil {
		return r, fmt.Errorf("bench: %w", err)
	}
	record("rebuild()", total, time.Since(start), benchXRange)

	r.Memory = s.memoryPerClaim(ctx, usedBefore, 2*o.Claims)
	return r, nil
}

// memoryPerClaim is used_memory added since before, per claim, beside the
// event streams' MEMORY USAGE.
func (s workload) memoryPerClaim(ctx context.Context, before int64, claimsN int) Memory {
	used := s.usedMemory(ctx)
	if used <= 0 || before <= 0 {
		return Memory{}
	}
	streamBytes := s.streamMemory(ctx)
	m := Memory{UsedPerClaim: float64(used-before) / float64(claimsN), StreamPerClaim: float64(streamBytes) / float64(claimsN)}
	if streamBytes > 0 {
		m.Ratio = float64(used-before) / float64(streamBytes)
	}
	return m
}

// benchXAdd measures the ceilings: n claim-shaped entries XADDed one at a
// time, then n more in pipelines of 100, to a scratch stream.
func (s workload) benchXAdd(ctx context.Context, n int, record func(string, int64, time.Duration, string)) error {
	fields, err := claims.Event{
		Type: claims.ClaimSubmitted, ClaimID: "6f1d0a4e-8d55-4bd5-9d3e-1f0c3b2a9e77", Version: 1,
		EventID: "0b6e1c4a-1111-4222-8333-944445555666", OccurredAt: now(), Actor: claims.DefaultActor,
		Data: map[string]any{"customer_id": "CUST-0001", "policy_id": "POL-0001", "amount": 2500.0, "claim_type": "auto",
			"incident_date": "2026-11-20", "description": "rear-ended at a light"},
	}.Fields()
	if err != nil {
		return err
	}
	key := s.keys.Named("bench:xadd")
	defer s.rdb.Del(context.WithoutCancel(ctx), key)
	start := time.Now()
	for range n {
		if err := s.rdb.XAdd(ctx, &redis.XAddArgs{Stream: key, Values: fields}).Err(); err != nil {
			return fmt.Errorf("bench: XADD: %w", err)
		}
	}
	record(benchXAddOne, int64(n), time.Since(start), "")
	start = time.Now()
	for done := 0; done < n; done += 100 {
		pipe := s.rdb.Pipeline()
		for range min(100, n-done) {
			pipe.XAdd(ctx, &redis.XAddArgs{Stream: key, Values: fields})
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return fmt.Errorf("bench: XADD: %w", err)
		}
	}
	record(benchXAddPipeline, int64(n), time.Since(start), "")
	return nil
}

// drain runs one worker until its group has read every entry of the event
// streams and holds none pending, and returns how many it read and how
// long it took. The processor appends its decisions as it goes, which it
// reads too: they count.
func (s workload) drain(ctx context.Context, h workers.Handler) (int64, time.Duration, error) {
	before, err := s.groupRead(ctx, h.Group())
	if err != nil {
		return 0, 0, err
	}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		done <- workers.Run(wctx, s.store, h, workers.Options{Consumer: "bench", Block: 20 * time.Millisecond})
	}()
	defer func() {
		cancel()
		<-done
	}()
	for {
		caught, err := s.caughtUp(ctx, h.Group())
		if err != nil {
			return 0, 0, err
		}
		if caught {
			break
		}
		select {
		case err := <-done:
			return 0, 0, fmt.Errorf("the worker stopped: %w", err)
		case <-ctx.Done():
			return 0, 0, ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
	took := time.Since(start)
	after, err := s.groupRead(ctx, h.Group())
	return after - before, took, err
}

// caughtUp reports whether a group has been handed every entry of every
// event stream and holds none pending.
func (s workload) caughtUp(ctx context.Context, group string) (bool, error) {
	ctx = redisconn.Untraced(ctx)
	events := s.keys.EventStreams()
	pipe := s.rdb.Pipeline()
	infos := make([]*redis.XInfoGroupsCmd, len(events))
	lasts := make([]*redis.XMessageSliceCmd, len(events))
	for i, st := range events {
		infos[i] = pipe.XInfoGroups(ctx, st)
		lasts[i] = pipe.XRevRangeN(ctx, st, "+", "-", 1)
	}
	if _, err := pipe.Exec(ctx); err != nil && !redisconn.Missing(err) {
		return false, err
	}
	for i := range events {
		last := lasts[i].Val()
		if len(last) == 0 {
			continue
		}
		found := false
		for _, g := range infos[i].Val() {
			if g.Name == group {
				found = true
				if g.Pending > 0 || g.LastDeliveredID != last[0].ID {
					return false, nil
				}
			}
		}
		if !found {
			return false, nil
		}
	}
	return true, nil
}

// groupRead is how many entries a group's consumers have been handed, over
// every event stream: the sum of its entries-read (counted from the
// stream where the server does not say).
func (s workload) groupRead(ctx context.Context, group string) (int64, error) {
	st, err := s.store.State(redisconn.Untraced(ctx))
	if err != nil {
		return 0, err
	}
	var n int64
	for _, key := range s.keys.EventStreams() {
		ss := st.Stream(key)
		if ss == nil {
			continue
		}
		if g := ss.Group(group); g != nil {
			n += ss.Length - g.Lag
		}
	}
	return n, nil
}

// eventCount is how many entries the event streams hold.
func (s workload) eventCount(ctx context.Context) (int64, error) {
	pipe := s.rdb.Pipeline()
	var cmds []*redis.IntCmd
	for _, key := range s.keys.EventStreams() {
		cmds = append(cmds, pipe.XLen(ctx, key))
	}
	if _, err := pipe.Exec(ctx); err != nil && !redisconn.Missing(err) {
		return 0, err
	}
	var n int64
	for _, c := range cmds {
		n += c.Val()
	}
	return n, nil
}

// rawRead reads every event stream with XRANGE pages as replay does, and
// decodes nothing: what redis-cli's dump costs this process.
func (s workload) rawRead(ctx context.Context) error {
	for _, key := range s.keys.EventStreams() {
		start := "-"
		for {
			raw, err := s.rdb.Do(ctx, "XRANGE", key, start, "+", "COUNT", rawReadPage).Slice()
			if err != nil && !errors.Is(err, redis.Nil) {
				return err
			}
			if len(raw) == 0 {
				break
			}
			last, _ := raw[len(raw)-1].([]any)
			if len(last) == 0 {
				return fmt.Errorf("read %s: unexpected XRANGE reply", key)
			}
			start = "(" + fmt.Sprint(last[0])
			if len(raw) < rawReadPage {
				break
			}
		}
	}
	return nil
}

// usedMemory is INFO memory's used_memory, summed over a cluster's
// masters (0 when the server does not say).
func (s workload) usedMemory(ctx context.Context) int64 {
	read := func(info string) int64 {
		for _, line := range strings.Split(info, "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
				n, _ := strconv.ParseInt(v, 10, 64)
				return n
			}
		}
		return 0
	}
	if cc, ok := s.rdb.(*redis.ClusterClient); ok {
		var total atomic.Int64
		_ = cc.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
			total.Add(read(node.Info(ctx, "memory").Val()))
			return nil
		})
		return total.Load()
	}
	return read(s.rdb.Info(ctx, "memory").Val())
}

// streamMemory is MEMORY USAGE of the event streams, summed.
func (s workload) streamMemory(ctx context.Context) int64 {
	var total int64
	for _, key := range s.keys.EventStreams() {
		total += s.rdb.MemoryUsage(ctx, key, 0).Val()
	}
	return total
}
