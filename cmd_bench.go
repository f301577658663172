package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"claimsctl/bench"
	"claimsctl/streams"
	"claimsctl/streams/redisconn"
	"claimsctl/streams/upkeep"

	"github.com/google/uuid"
)

// benchCmd runs the standard workload and prints each path's events/s
// beside this Redis's own ceiling, measured by the same process.
type benchCmd struct {
	*base
	claims int
	json   bool
	keep   bool
	server bool
}

func (c *benchCmd) doc() doc {
	return doc{name: "bench", args: "[flags]", summary: "measure every path beside this Redis's own XADD and XRANGE",
		about: "Runs the standard workload on the Redis it is connected to: a submit loop,\n" +
			"submit_many, each worker draining, report() and rebuild(). Each is printed\n" +
			"beside what this Redis does for the same process without claimsctl (a plain\n" +
			"XADD loop one at a time and pipelined, a raw XRANGE read), as a ratio. It\n" +
			"works under a key prefix of its own and deletes it afterwards.\n\n" +
			"Then the same through the Lua API, as a script calls it: a submit{} loop,\n" +
			"submit_many, sample_claims, a replay{} loop and report(), each beside a Lua\n" +
			"loop of bare redis() calls (XADD, XRANGE pages) in the same run, with the\n" +
			"CPU this process used per event (getrusage)."}
}

func (c *benchCmd) flags(fs *flag.FlagSet) {
	fs.IntVar(&c.claims, "claims", 10000, "file `N` claims one at a time, and N more with\nsubmit_many")
	fs.BoolVar(&c.json, "json", false, "print the results as JSON")
	fs.BoolVar(&c.server, "server", false, "measure instead what the scripts cost Redis beside the\ncommands they issue and beside their floor, a bare\nscript of the same commands (INFO commandstats; it\nresets the statistics: use a redis-server of your own)")
	fs.BoolVar(&c.keep, "keep", false, "leave the workload's keys (their prefix is printed), to\ncompare other tools on the same streams")
}

func (c *benchCmd) Run(ctx context.Context, args []string) error {
	fs, err := c.parse(c, args)
	if err != nil {
		return err
	}
	const hint = "claimsctl bench --claims 10000"
	if c.claims < 100 || c.claims > 10_000_000 {
		return &usageError{msg: fmt.Sprintf("--claims must be from 100 to 10000000, got %d", c.claims), hint: hint}
	}
	prefixGiven := false
	fs.Visit(func(f *flag.Flag) { prefixGiven = prefixGiven || f.Name == "prefix" })
	prefixGiven = prefixGiven || c.conn.prefix != ""
	backend, store, err := c.connect(ctx, c.env.stderr, redisconn.Brief)
	if err != nil {
		return err
	}
	defer backend.Close()
	if !prefixGiven {
		// A Redis in use gets no extra load unless asked.
		if n, err := eventsIn(ctx, store); err != nil {
			return err
		} else if n > 0 {
			return &usageError{msg: fmt.Sprintf("this Redis holds %d claim events already: bench adds %d claims of load beside them; give --prefix to do it anyway", n, 2*c.claims),
				hint: "claimsctl bench --prefix bench:"}
		}
	}
	// Its own keys under a prefix of their own, deleted afterwards: the
	// keyspace it runs beside is never touched.
	store = store.WithPrefix(store.Keys().Prefix + "claimsctl-bench-" + uuid.NewString()[:8] + ":")
	out := c.env.stdout
	if c.server {
		return c.runServer(ctx, store)
	}
	if !c.json {
		fmt.Fprintf(out, "%d claims one at a time, %d with submit_many, then each worker drains them:\n\n", c.claims, c.claims)
		fmt.Fprintf(out, "  %-26s %10s %12s   %s\n", "path", "events", "events/s", "ratio")
	}
	if c.keep {
		fmt.Fprintf(c.env.stderr, "the workload's keys stay under the prefix %s\n", store.Keys().Prefix)
	}
	rep, err := bench.Run(ctx, store, bench.Options{Claims: c.claims, Keep: c.keep, Step: func(st bench.Step) {
		if !c.json {
			printBenchStep(out, st)
		}
	}})
	if err != nil {
		return err
	}
	if m, sub, p := rep.Memory, rep.Submitted, rep.Processed; !c.json && m.Ratio > 0 {
		fmt.Fprintf(out, "\nmemory: submitted, Redis used %.0f B more per claim (events, aggregate): %.2f× the streams' %.0f B;\n"+
			"        decided by the processor, %.0f B (+ decisions, read model): %.2f× the streams' %.0f B;\n"+
			"        processed by the four workers, %.0f B (+ stats, notifications, audit): %.2f× the streams' %.0f B\n",
			sub.UsedPerClaim, sub.Ratio, sub.StreamPerClaim, p.UsedPerClaim, p.Ratio, p.StreamPerClaim, m.UsedPerClaim, m.Ratio, m.StreamPerClaim)
	}
	if !c.json {
		fmt.Fprintf(out, "\nthrough the Lua API as a script calls it, beside bare redis() loops (client CPU from getrusage):\n\n")
		fmt.Fprintf(out, "  %-26s %10s %12s %12s   %s\n", "path", "events", "events/s", "CPU µs/event", "ratio")
	}
	luaStore := store.WithPrefix(store.Keys().Prefix + "lua:")
	if !c.keep {
		defer func() { _, _ = upkeep.DeleteAll(context.WithoutCancel(ctx), luaStore) }()
	}
	luaSteps, err := bench.Lua(ctx, luaStore, c.claims, func(st bench.LuaStep) {
		if !c.json {
			printLuaStep(out, st)
		}
	})
	if err != nil {
		return err
	}
	if c.json {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			bench.Report
			Lua []bench.LuaStep `json:"lua"`
		}{rep, luaSteps})
	}
	return nil
}

// runServer is bench --server: each script's time on the server beside
// the commands it issues, phase by phase.
func (c *benchCmd) runServer(ctx context.Context, store *streams.Store) error {
	if !c.keep {
		defer func() { _, _ = upkeep.DeleteAll(context.WithoutCancel(ctx), store) }()
	}
	costs, err := bench.Server(ctx, store, c.claims)
	if err != nil {
		return err
	}
	floors, err := bench.Floors(ctx, store, c.claims)
	if err != nil {
		return err
	}
	costs = append(costs, floors...)
	out := c.env.stdout
	if c.json {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(costs)
	}
	fmt.Fprintf(out, "Redis's own time in the scripts (INFO commandstats), %d claims a phase:\n\n", c.claims)
	fmt.Fprintf(out, "  %-12s %-11s %10s %14s %16s   %s\n", "phase", "script", "calls", "script µs", "its commands µs", "ratio")
	for i, sc := range costs {
		if sc.Script == "bare script" && (i == 0 || costs[i-1].Script != "bare script") {
			fmt.Fprintf(out, "\nthe floor: the same commands, their arguments copied, issued by a script with no logic of its own:\n\n")
		}
		names := make([]string, 0, len(sc.Commands))
		for name := range sc.Commands {
			names = append(names, name)
		}
		slices.Sort(names)
		parts := make([]string, len(names))
		for i, name := range names {
			parts[i] = fmt.Sprintf("%s %.2f", strings.ToUpper(name), sc.Commands[name])
		}
		fmt.Fprintf(out, "  %-12s %-11s %10d %14s %16s   %.2f×   (per %s: %s)\n", sc.Phase, sc.Script, sc.Calls,
			fmt.Sprintf("%.2f", sc.PerCall), fmt.Sprintf("%.2f", sc.CommandsPer), sc.Ratio, sc.Per, strings.Join(parts, " + "))
		if len(sc.Shared) > 0 {
			fmt.Fprintf(out, "  %-12s (%s counted whole: the worker sends it too)\n", "", strings.ToUpper(strings.Join(sc.Shared, ", ")))
		}
	}
	return nil
}

// printBenchStep is one line of the table: a ceiling, or a path beside it.
func printBenchStep(w io.Writer, st bench.Step) {
	ratio := "(this Redis's ceiling)"
	if st.Baseline != "" {
		ratio = fmt.Sprintf("%.2f× %s", st.Ratio, st.Baseline)
	}
	fmt.Fprintf(w, "  %-26s %10d %12s   %s\n", st.Name, st.Events, thousands(int64(st.PerSec)), ratio)
}

// printLuaStep is one line of the Lua table: a bare loop, or a command
// beside it, with the client's CPU per call.
func printLuaStep(w io.Writer, st bench.LuaStep) {
	ratio := "(bare redis() calls)"
	if st.Baseline != "" {
		ratio = fmt.Sprintf("%.2f× %s", st.Ratio, st.Baseline)
	}
	fmt.Fprintf(w, "  %-26s %10d %12s %12.1f   %s\n", st.Name, st.Events, thousands(int64(st.PerSec)), st.CPUPerEvent, ratio)
}

// thousands writes n with a comma every three digits.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// eventsIn is how many entries the store's event streams hold.
func eventsIn(ctx context.Context, store *streams.Store) (int64, error) {
	st, err := store.State(ctx)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, key := range store.Keys().EventStreams() {
		if ss := st.Stream(key); ss != nil {
			n += ss.Length
		}
	}
	return n, nil
}
