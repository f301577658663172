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
