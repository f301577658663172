package bench

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"claimsctl/streams"
	"claimsctl/streams/claims"
	"claimsctl/streams/redisconn"
	"claimsctl/streams/upkeep"
	"claimsctl/streams/workers"
)

// ScriptCost is what one server script costs Redis in one phase of the
// workload, beside the commands it issues, from INFO commandstats.
type ScriptCost struct {
	Phase  string `json:"phase"`
	Script string `json:"script"`
	Calls  int64  `json:"calls"`
	// Per is what a call is counted per (a call, a claim of a batch).
	Per         string  `json:"per"`
	PerCall     float64 `json:"script_us_per_call"`
	CommandsPer float64 `json:"commands_us_per_call"`
	// Commands are the µs per call of each command the scripts issued.
	Commands map[string]float64 `json:"commands"`
	Ratio    float64            `json:"ratio"`
	// Shared names commands the client also sent in this phase, whose
	// time is counted whole in Commands.
	Shared []string `json:"shared,omitempty"`
}

// groupDone says whether group has been handed every entry of stream and
// holds none pending (lag and pending 0, from XINFO GROUPS); an empty or
// missing stream is done.
func groupDone(ctx context.Context, store *streams.Store, stream, group string) (bool, error) {
	reply, err := store.Do(redisconn.Untraced(ctx), "XINFO", "GROUPS", stream)
	if err != nil {
		if strings.Contains(err.Error(), "no such key") {
			return true, nil
		}
		return false, err
	}
	groups, _ := reply.([]any)
	for _, g := range groups {
		fields := map[string]any{}
		switch x := g.(type) {
		case []any:
			for i := 0; i+1 < len(x); i += 2 {
				fields[fmt.Sprint(x[i])] = x[i+1]
			}
		case map[any]any:
			for k, v := range x {
				fields[fmt.Sprint(k)] = v
			}
		}
		if fmt.Sprint(fields["name"]) == group {
			return fmt.Sprint(fields["lag"]) == "0" && fmt.Sprint(fields["pending"]) == "0", nil
		}
	}
	return false, nil
}

// clientCommands are what claimsctl sends outside its scripts in these
// phases (and what the measurement itself sends): their time is not the
// scripts'.
var clientCommands = []string{"evalsha", "eval", "script", "info", "config", "ping", "hello", "client",
	"xreadgroup", "xack", "xinfo", "xgroup", "xautoclaim", "xpending", "xlen", "xrevrange"}

// workerReads are what a phase's worker sends itself beside its scripts:
// the processor's policies, customers and adjuster loads (and, HMGET,
// each entry's aggregate, which decide sends too); the analytics worker's
// HMGET of each entry's aggregate and its snapshots (HGETALL of the
// counters, XADD to claims:analytics), none of which count.lua sends.
var workerReads = map[string][]string{
	"processor": {"hgetall", "smembers", "zrange"},
	"analytics": {"hmget", "hgetall", "xadd"},
}

// Server measures Redis's own time in the scripts, phase by phase: n
// claims one at a time (append.lua), n with submit_many (batch.lua, a
// chunk per call), then the processor deciding them (batch.lua with the
// decide op), then the analytics worker counting every event (batch.lua
// with the count op, its time per event). It resets the server's command statistics (CONFIG
// RESETSTAT) before each phase, so it needs a server of its own.
func Server(ctx context.Context, store *streams.Store, n int) ([]ScriptCost, error) {
	if _, err := upkeep.LoadSampleData(ctx, store, claims.SampleOptions{}); err != nil {
		return nil, fmt.Errorf("bench --server: %w", err)
	}
	samples := claims.SampleClaims(2*n, 3, time.Now())
	subs := make([]streams.NewClaim, len(samples))
	for i, c := range samples {
		subs[i] = streams.Submission{CustomerID: c.CustomerID, PolicyID: c.PolicyID, Amount: c.Amount,
			ClaimType: c.ClaimType, IncidentDate: c.IncidentDate, Description: c.Description}.NewClaim()
	}
	var out []ScriptCost
	// run does a phase's work and says how many units its script time is
	// counted in (0: per call).
	phase := func(name, script, per string, run func() (units int64, err error)) error {
		if _, err := store.Do(ctx, "CONFIG", "RESETSTAT"); err != nil {
			return fmt.Errorf("bench --server: CONFIG RESETSTAT: %w", err)
		}
		items, err := run()
		if err != nil {
			return fmt.Errorf("bench --server: %s: %w", name, err)
		}
		info, err := store.Do(ctx, "INFO", "commandstats")
		if err != nil {
			return fmt.Errorf("bench --server: INFO commandstats: %w", err)
		}
		text, _ := info.(string)
		out = append(out, scriptCost(name, script, per, items, parseCommandStats(text)))
		return nil
	}
	err := phase("submit loop", "append.lua", "call", func() (int64, error) {
		for _, sub := range subs[:n] {
			if _, _, err := store.Emit(ctx, "", claims.ClaimSubmitted, sub.Data, streams.EmitOptions{}); err != nil {
				return 0, err
			}
		}
		return 0, nil
	})
	if err == nil {
		err = phase("submit_many", "batch.lua", "claim", func() (int64, error) {
			_, err := store.SubmitMany(ctx, subs[n:], streams.BulkOptions{})
			return int64(n), err
		})
	}
	if err == nil {
		err = phase("processor", "batch.lua", "call", func() (int64, error) {
			return 0, drainWorker(ctx, store, "processor")
		})
	}
	if err == nil {
		err = phase("analytics", "batch.lua", "event", func() (int64, error) {
			if err := drainWorker(ctx, store, "analytics"); err != nil {
				return 0, err
			}
			var events int64
			for _, key := range store.Keys().EventStreams() {
				n, err := store.Do(ctx, "XLEN", key)
				if err != nil {
					return 0, err
				}
				m, _ := n.(int64)
				events += m
			}
			return events, nil
		})
	}
	return out, err
}

// commandStat is one line of INFO commandstats.
type commandStat struct {
	calls int64
	usec  float64
}

// parseCommandStats reads INFO commandstats: cmdstat_NAME:calls=N,usec=U,...
func parseCommandStats(info string) map[string]commandStat {
	stats := map[string]commandStat{}
	for _, line := range strings.Split(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || !strings.HasPrefix(name, "cmdstat_") {
			continue
		}
		var st commandStat
		for _, kv := range strings.Split(rest, ",") {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "calls":
				st.calls, _ = strconv.ParseInt(v, 10, 64)
			case "usec":
				st.usec, _ = strconv.ParseFloat(v, 64)
			}
		}
		stats[strings.TrimPrefix(name, "cmdstat_")] = st
	}
	return stats
}

// scriptCost is a phase's script time per call (per unit, e.g. per claim
// of a batch, when units > 0) beside the commands it issued.
func scriptCost(phase, script, per string, units int64, stats map[string]commandStat) ScriptCost {
	calls := stats["evalsha"].calls + stats["eval"].calls
	c := ScriptCost{Phase: phase, Script: script, Calls: calls, Per: per, Commands: map[string]float64{}}
	if calls == 0 {
		return c
	}
	count := float64(calls)
	if units > 0 {
		count = float64(units)
	}
	c.PerCall = (stats["evalsha"].usec + stats["eval"].usec) / count
	for name, st := range stats {
		base, _, _ := strings.Cut(name, "|") // config|resetstat
		if slices.Contains(clientCommands, base) || slices.Contains(workerReads[phase], base) {
			continue
		}
		if name == "hmget" && phase == "processor" {
			// The worker vets each entry against its aggregate with HMGET
			// too: its time is counted here whole.
			c.Shared = append(c.Shared, name)
		}
		c.Commands[name] = st.usec / count
		c.CommandsPer += st.usec / count
	}
	if c.CommandsPer > 0 {
		c.Ratio = c.PerCall / c.CommandsPer
	}
	return c
}

// drainWorker runs the worker name until its group has been handed every
// entry of the event streams (the processor's own decisions too) and
// holds none pending.
func drainWorker(ctx context.Context, store *streams.Store, name string) error {
	h, err := workers.New(store, name)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- workers.Run(wctx, store, h, workers.Options{Consumer: "bench", Block: 20 * time.Millisecond})
	}()
	defer func() {
		cancel()
		<-done
	}()
	for {
		// XINFO GROUPS, not State(), which reads more than the poll needs
		// and would count in the phase's statistics.
		caught := true
		for _, key := range store.Keys().EventStreams() {
			done, err := groupDone(ctx, store, key, h.Group())
			if err != nil {
				return err
			}
			caught = caught && done
		}
		if caught {
			return nil
		}
		select {
		case err := <-done:
			return errors.Join(fmt.Errorf("the %s worker stopped", name), err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// floorScript issues the commands it is given and nothing else: ARGV is a
// run of commands, each its word count and its words. It is the floor
// under a script that issues the same commands: Redis's cost of a script
// call and of each redis.call, with no logic of the script's own.
const floorScript = `local at = 1
while at <= #ARGV do
  local n = tonumber(ARGV[at])
  redis.call(unpack(ARGV, at + 1, at + n))
  at = at + n + 1
end
return 1`

// Floors measures floorScript with the commands append.lua issues for one
// claim (a call each, n calls), with those decide issues for a batch of
// 100 claims (n/100 calls) and with those count issues for a batch of 100
// submitted claims (n/100 calls, per event), their arguments copied from a claim the
// workload of Server left (so call it after Server, on the same store).
// Each is a ScriptCost like Server's, with Script "bare script"; its keys
// are under the store's prefix, as the workload's.
func Floors(ctx context.Context, store *streams.Store, n int) ([]ScriptCost, error) {
	shape, err := decidedClaim(ctx, store)
	if err != nil {
		return nil, fmt.Errorf("bench --server: floors: %w", err)
	}
	sha, err := store.Do(ctx, "SCRIPT", "LOAD", floorScript)
	if err != nil {
		return nil, fmt.Errorf("bench --server: floors: SCRIPT LOAD: %w", err)
	}
	k := store.Keys()
	stream := k.Named("bench:floor:events")
	var out []ScriptCost
	phase := func(name, per string, calls int, units int64, args func(i int) []any) error {
		if _, err := store.Do(ctx, "CONFIG", "RESETSTAT"); err != nil {
			return fmt.Errorf("bench --server: CONFIG RESETSTAT: %w", err)
		}
		for i := range calls {
			if _, err := store.Do(ctx, append([]any{"EVALSHA", sha, 0}, args(i)...)...); err != nil {
				return fmt.Errorf("bench --server: floor of %s: %w", name, err)
			}
		}
		info, err := store.Do(ctx, "INFO", "commandstats")
		if err != nil {
			return fmt.Errorf("bench --server: INFO commandstats: %w", err)
		}
		text, _ := info.(string)
		out = append(out, scriptCost(name, "bare script", per, units, parseCommandStats(text)))
		return nil
	}
	appendArgs := func(agg string, cmds [][]any) [][]any {
		return append(cmds,
			[]any{"HMGET", agg, "version", "eid", "entries"},
			append([]any{"XADD", stream, "*"}, shape.submission...),
			append([]any{"HSET", agg}, shape.submittedState...))
	}
	err = phase("submit loop", "call", n, 0, func(i int) []any {
		return flatten(appendArgs(k.Named(fmt.Sprintf("bench:floor:agg:%d", i)), nil))
	})
	if err == nil {
		const batch = 100
		err = phase("decide", "call", max(n/batch, 1), 0, func(i int) []any {
			var cmds [][]any
			for j := range batch {
				id := fmt.Sprintf("%d:%d", i, j)
				rm, agg := k.Named("bench:floor:rm:"+id), k.Named("bench:floor:agg:"+id)
				cmds = append(cmds,
					[]any{"HMGET", rm, "version", "status", "adjuster", "documents"},
					[]any{"HMGET", agg, "version", "eid", "entries"},
					append([]any{"XADD", stream, "*"}, shape.decision...),
					append([]any{"HSET", agg}, shape.decidedState...),
					append([]any{"HSET", rm}, shape.readModel...))
			}
			cmds = append(cmds, []any{"ZINCRBY", k.Named("bench:floor:load"), 1, "ADJ-001"})
			return flatten(cmds)
		})
	}
	if err == nil {
		// count: an HGET of each claim's counted state, the batch's
		// counters summed (one HINCRBY or HINCRBYFLOAT each), one HSET of
		// the states.
		const batch = 100
		calls := max(n/batch, 1)
		stats, states := k.Named("bench:floor:stats"), k.Named("bench:floor:stats:claims")
		err = phase("count", "event", calls, int64(calls*batch), func(i int) []any {
			var cmds [][]any
			set := []any{"HSET", states}
			for j := range batch {
				id := fmt.Sprintf("%d:%d", i, j)
				cmds = append(cmds, []any{"HGET", states, id})
				set = append(set, id, "1|submitted|1764063489864|")
			}
			for _, f := range []string{"events", "event:claim.submitted", "claims", "claim_type:auto", "hour:2026-11-25T09", "status:submitted"} {
				cmds = append(cmds, []any{"HINCRBY", stats, f, batch})
			}
			cmds = append(cmds, []any{"HINCRBYFLOAT", stats, "amount:claimed", 250000}, set)
			return flatten(cmds)
		})
	}
	return out, err
}

// flatten is commands as floorScript's ARGV.
func flatten(cmds [][]any) []any {
	var args []any
	for _, c := range cmds {
		args = append(args, len(c))
		args = append(args, c...)
	}
	return args
}

// claimShape is what the scripts write for one decided claim, as
// field/value pairs: the events' fields, the aggregate at version 1 and 2,
// and the read model.
type claimShape struct {
	submission, decision         []any
	submittedState, decidedState []any
	readModel                    []any
}

// decidedClaim reads the shape of the first claim in the event stream
// once the processor decided it.
func decidedClaim(ctx context.Context, store *streams.Store) (claimShape, error) {
	var shape claimShape
	k := store.Keys()
	first, err := store.Do(ctx, "XRANGE", k.Events(), "-", "+", "COUNT", 1)
	if err != nil {
		return shape, err
	}
	entries, _ := first.([]any)
	if len(entries) == 0 {
		return shape, errors.New("no claim in the stream")
	}
	entry, _ := entries[0].([]any)
	fields := pairs(entry[1])
	shape.submission = fields
	claimID := ""
	for i := 0; i+1 < len(fields); i += 2 {
		if fields[i] == "claim_id" {
			claimID = fmt.Sprint(fields[i+1])
		}
	}
	agg, err := store.Do(ctx, "HGETALL", k.Aggregate(claimID))
	if err != nil {
		return shape, err
	}
	shape.decidedState = pairs(agg)
	// The aggregate at version 1 has one entry id, which the floor
	// writes as it is.
	shape.submittedState = shape.decidedState
	rm, err := store.Do(ctx, "HGETALL", k.ReadModel(claimID))
	if err != nil {
		return shape, err
	}
	shape.readModel = pairs(rm)
	var second string
	for i := 0; i+1 < len(shape.decidedState); i += 2 {
		if shape.decidedState[i] == "entries" {
			ids := strings.Split(fmt.Sprint(shape.decidedState[i+1]), ",")
			second = ids[len(ids)-1]
		}
	}
	dec, err := store.Do(ctx, "XRANGE", k.ForClaim(claimID).Events(), second, second)
	if err != nil {
		return shape, err
	}
	if decs, _ := dec.([]any); len(decs) == 1 {
		entry, _ := decs[0].([]any)
		shape.decision = pairs(entry[1])
	}
	if len(shape.decision) == 0 || len(shape.readModel) == 0 {
		return shape, fmt.Errorf("claim %s is not decided", claimID)
	}
	return shape, nil
}

// pairs is a reply of field/value pairs (an array, or a RESP3 map) as a
// flat list.
func pairs(reply any) []any {
	var out []any
	switch x := reply.(type) {
	case []any:
		out = append(out, x...)
	case map[any]any:
		keys := make([]string, 0, len(x))
		for f := range x {
			keys = append(keys, fmt.Sprint(f))
		}
		slices.Sort(keys)
		for _, f := range keys {
			out = append(out, f, x[f])
		}
	}
	return out
}
