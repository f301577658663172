package bench

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"claimsctl/streams"
)

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
