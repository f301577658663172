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
	"claimsctl/streams/upkeep"
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
// submit_many, n with sample_claims, taking turns with a loop of bare
// redis("XADD") in ten rounds; then three rounds of a bare XRANGE read, a
// replay{} loop and report() over all of them. step is called with each
// path's figures over all its rounds.
func Lua(ctx context.Context, store *streams.Store, n int, step func(LuaStep)) ([]LuaStep, error) {
	rt := luaapi.New(luaapi.Config{Store: store, Out: io.Discard})
	defer rt.Close()
	if _, err := upkeep.LoadSampleData(ctx, store, claims.SampleOptions{}); err != nil {
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
bench_total = %d
bench_claims, bench_many = {}, {}
for i = 1, %d do
	bench_claims[i] = samples[(i - 1) %% #samples + 1]
	bench_many[i] = samples[(i - 1) %% #samples + 1]
end`, 3*n, n)
	if err := rt.DoString(ctx, src.String(), "bench claims"); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}

	// The paths take turns, a round of each at a time, so that a change in
	// the machine's load (it is shared) falls on all of them alike.
	paths := []*luaPath{
		{step: LuaStep{Name: LuaXAddLoop}, code: `local k = key("bench:lua:xadd")
for i = 1, bench_chunk do redis("XADD", k, "*", ` + benchXAddFields + `) end`},
		{step: LuaStep{Name: LuaSubmitLoop, Baseline: LuaXAddLoop}, code: `for i = bench_from, bench_from + bench_chunk - 1 do submit(bench_claims[i]) end`},
		{step: LuaStep{Name: "Lua submit_many", Baseline: LuaXAddLoop}, calls: 1,
			code: `local list = {} for i = bench_from, bench_from + bench_chunk - 1 do list[#list + 1] = bench_many[i] end submit_many(list)`},
		{step: LuaStep{Name: "Lua sample_claims", Baseline: LuaXAddLoop}, calls: 1, code: `sample_claims{count=bench_chunk, seed=bench_from}`},
	}
	const rounds = 10
	for r := range rounds {
		from, to := r*n/rounds, (r+1)*n/rounds
		for _, p := range paths {
			code := fmt.Sprintf("local bench_from, bench_chunk = %d, %d\n%s", from+1, to-from, p.code)
			if err := p.run(ctx, rt, code, int64(to-from)); err != nil {
				return nil, err
			}
		}
	}
	if err := rt.DoString(ctx, `redis("DEL", key("bench:lua:xadd"))`, "bench cleanup"); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	// The bare read pages through the stream as replay does.
	reads := []*luaPath{
		{step: LuaStep{Name: LuaXRangeLoop}, code: `local k, from, n = key("claims:events"), "-", 0
while true do
	local page = redis("XRANGE", k, from, "+", "COUNT", 2000)
	n = n + #page
	if #page < 2000 then break end
	from = "(" .. page[#page][1]
end
assert(n == bench_total, "read " .. n .. " entries, want " .. bench_total)`},
		{step: LuaStep{Name: "Lua replay{} loop", Baseline: LuaXRangeLoop}, code: `local n = 0
for e in replay{} do n = n + 1 end
assert(n == bench_total, "replayed " .. n .. " events, want " .. bench_total)`},
		{step: LuaStep{Name: "Lua report()", Baseline: LuaXRangeLoop}, calls: 1, code: `report()`},
	}
	for range 3 {
		for _, p := range reads {
			if err := p.run(ctx, rt, p.code, int64(3*n)); err != nil {
				return nil, err
			}
		}
	}
	var steps []LuaStep
	perSec := map[string]float64{}
	for _, p := range append(paths, reads...) {
		st := p.finish()
		perSec[st.Name] = st.PerSec
		if b := perSec[st.Baseline]; b > 0 {
			st.Ratio = st.PerSec / b
		}
		steps = append(steps, st)
		if step != nil {
			step(st)
		}
	}
	return steps, nil
}

// luaPath is one path of the Lua workload, measured over its rounds.
type luaPath struct {
	step  LuaStep
	code  string
	calls int64 // Lua calls per round; 0: one per event
	took  time.Duration
	cpu   time.Duration
}

// run runs one round of the path, of events events.
func (p *luaPath) run(ctx context.Context, rt *luaapi.Runtime, code string, events int64) error {
	before, start := cpuTime(), time.Now()
	if err := rt.DoString(ctx, code, p.step.Name); err != nil {
		return fmt.Errorf("bench: %s: %w", p.step.Name, err)
	}
	p.took += time.Since(start)
	p.cpu += cpuTime() - before
	p.step.Events += events
	if p.calls > 0 {
		p.step.Calls += p.calls
	} else {
		p.step.Calls += events
	}
	return nil
}

// finish is the path's step over all its rounds (Ratio is left to the
// caller).
func (p *luaPath) finish() LuaStep {
	st := p.step
	st.Seconds = p.took.Seconds()
	if p.took > 0 {
		st.PerSec = float64(st.Events) / p.took.Seconds()
	}
	if st.Events > 0 {
		st.CPUPerEvent = float64(p.cpu.Nanoseconds()) / 1e3 / float64(st.Events)
	}
	return st
}

// cpuTime is the user and system CPU this process has used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
