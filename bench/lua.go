// Package bench is the workload of `claimsctl bench` that a Lua script
// runs: every command through the Lua API as a student's script calls it,
// each beside a Lua loop of bare redis() calls in the same run. It sits
// above luaapi and streams (it drives both) and neither imports it.
package bench

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"syscall"
	"time"

	"claimsctl/luaapi"
	"claimsctl/streams"
	"claimsctl/streams/claims"
)

// LuaStep is one measured path of the Lua workload.
type LuaStep struct {
	Name    string  `json:"name"`
	Calls   int64   `json:"calls"`
	Events  int64   `json:"events"`
	Seconds float64 `json:"seconds"`
	PerSec  float64 `json:"events_per_second"`
	// CPUPerEvent is this process's user+system CPU (getrusage) per
	// event, in µs: per call for the loops of one call an event. It is
	// what the client pays on a shared machine.
	CPUPerEvent float64 `json:"client_cpu_us_per_event"`
	// Baseline names the bare redis() loop this step is compared with,
	// and Ratio is PerSec over its ("" and 0 for a baseline).
	Baseline string  `json:"baseline,omitempty"`
	Ratio    float64 `json:"ratio,omitempty"`
}

// Lua step names: baselines first, then the paths beside them.
const (
	LuaXAddLoop   = "Lua redis(\"XADD\") loop"
	LuaXRangeLoop = "Lua redis(\"XRANGE\") pages"
	LuaSubmitLoop = "Lua submit{} loop"
)

// benchXAddFields are the eight fields of a claim.submitted event, as
// redis-benchmark and the bare loops write them.
const benchXAddFields = `"type", "claim.submitted", "claim_id", "6f1d0a4e-8d55-4bd5-9d3e-1f0c3b2a9e77", "version", "1",
	"event_id", "0b6e1c4a-1111-4222-8333-944445555666", "occurred_at", "2026-11-25T10:00:00.000Z", "actor", "claimsctl",
	"data", '{"amount":2500,"claim_type":"auto","customer_id":"CUST-0001","description":"rear-ended at a light","incident_date":"2026-11-20","policy_id":"POL-0001"}',
	"schema", "1"`

// Lua runs the Lua workload on store, which must hold no events (bench
// gives it a prefix of its own): n claims by a submit{} loop, n with
// submit_many, n with sample_claims, then a replay{} loop and report()
// over all of them. step is called as each is measured.
func Lua(ctx context.Context, store *streams.Store, n int, step func(LuaStep)) ([]LuaStep, error) {
	rt := luaapi.New(luaapi.Config{Store: store, Out: io.Discard})
	defer rt.Close()
	if _, err := store.LoadSampleData(ctx, claims.SampleOptions{}); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	// A hundred sample claims, cycled: submit{} reads its table, so one
	// table may be filed many times.
	var src strings.Builder
	src.WriteString("local samples = {\n")
	for _, c := range claims.SampleClaims(100, 1, time.Now()) {
		fmt.Fprintf(&src, "{customer=%s, policy=%s, amount=%s, type=%s, incident_date=%s, description=%s},\n",
			strconv.Quote(c.CustomerID), strconv.Quote(c.PolicyID), strconv.FormatFloat(c.Amount, 'f', -1, 64),
			strconv.Quote(c.ClaimType), strconv.Quote(c.IncidentDate), strconv.Quote(c.Description))
	}
	fmt.Fprintf(&src, `}
bench_n, bench_total = %d, %d
bench_claims, bench_many = {}, {}
for i = 1, bench_n do
	bench_claims[i] = samples[(i - 1) %% #samples + 1]
	bench_many[i] = samples[(i - 1) %% #samples + 1]
end`, n, 3*n)
	if err := rt.DoString(ctx, src.String(), "bench claims"); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}

	var steps []LuaStep
	baselines := map[string]float64{}
	measure := func(name, baseline string, calls, events int64, code string) error {
		before, start := cpuTime(), time.Now()
		if err := rt.DoString(ctx, code, name); err != nil {
			return fmt.Errorf("bench: %s: %w", name, err)
		}
		took, cpu := time.Since(start), cpuTime()-before
		st := LuaStep{Name: name, Calls: calls, Events: events, Seconds: took.Seconds(), Baseline: baseline}
		if took > 0 {
			st.PerSec = float64(events) / took.Seconds()
		}
		if events > 0 {
			st.CPUPerEvent = float64(cpu.Nanoseconds()) / 1e3 / float64(events)
		}
		if baseline == "" {
			baselines[name] = st.PerSec
		} else if b := baselines[baseline]; b > 0 {
			st.Ratio = st.PerSec / b
		}
		steps = append(steps, st)
		if step != nil {
			step(st)
		}
		return nil
	}
	N := int64(n)
	xadd := `local k = key("bench:lua:xadd")
for i = 1, bench_n do redis("XADD", k, "*", ` + benchXAddFields + `) end
redis("DEL", k)`
	if err := measure(LuaXAddLoop, "", N, N, xadd); err != nil {
		return steps, err
	}
	if err := measure(LuaSubmitLoop, LuaXAddLoop, N, N, `for i = 1, bench_n do submit(bench_claims[i]) end`); err != nil {
		return steps, err
	}
	if err := measure("Lua submit_many", LuaXAddLoop, 1, N, `submit_many(bench_many)`); err != nil {
		return steps, err
	}
	if err := measure("Lua sample_claims", LuaXAddLoop, 1, N, `sample_claims{count=bench_n, seed=2}`); err != nil {
		return steps, err
	}
	total := 3 * N
	// The bare read pages through the stream as replay does (pages of
	// 1000), calls per entry counted as replay's are.
	xrange := `local k, from, n = key("claims:events"), "-", 0
while true do
	local page = redis("XRANGE", k, from, "+", "COUNT", 1000)
	n = n + #page
	if #page < 1000 then break end
	from = "(" .. page[#page][1]
end
assert(n == bench_total, "read " .. n .. " entries, want " .. bench_total)`
	if err := measure(LuaXRangeLoop, "", total, total, xrange); err != nil {
		return steps, err
	}
	replay := `local n = 0
for e in replay{} do n = n + 1 end
assert(n == bench_total, "replayed " .. n .. " events, want " .. bench_total)`
	if err := measure("Lua replay{} loop", LuaXRangeLoop, total, total, replay); err != nil {
		return steps, err
	}
	if err := measure("Lua report()", LuaXRangeLoop, 1, total, `report()`); err != nil {
		return steps, err
	}
	return steps, nil
}

// cpuTime is the user and system CPU this process has used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
