package luaapi

import (
	"context"
	"fmt"
	"strconv"
	"syscall"
	"testing"

	"claimsctl/streams"
	"claimsctl/streams/claims"
	"claimsctl/streams/streamstest"
	"claimsctl/streams/upkeep"

	"github.com/stretchr/testify/require"
)

// benchFields are an event's eight fields as a submit writes them.
var benchFields = []any{"type", "claim.submitted", "claim_id", "6f1d0a4e-8d55-4bd5-9d3e-1f0c3b2a9e77", "version", "1",
	"event_id", "0b6e1c4a-1111-4222-8333-944445555666", "occurred_at", "2026-11-25T10:00:00.000Z", "actor", "claimsctl",
	"data", `{"amount":2500,"claim_type":"auto","customer_id":"CUST-0001","description":"rear-ended at a light","incident_date":"2026-11-20","policy_id":"POL-0001"}`,
	"schema", "1"}

// BenchmarkLuaCommands measures what a script's commands cost the client:
// a submit{} loop beside a loop of bare redis("XADD") with an event's
// eight fields, on a real redis-server, and beside the floor of a
// submit's round trip: the EVALSHA a submit sends, made from Go with its
// arguments ready, of a script with no logic that issues what append.lua
// issues (HMGET and HSET of a new aggregate, XADD of the event), so Redis
// takes about as long as for a submit. user-µs/op and sys-µs/op are this
// process's CPU per call (getrusage); profile with -cpuprofile.
func BenchmarkLuaCommands(b *testing.B) {
	store := streamstest.Redis(b)(b, streams.Options{})
	ctx := context.Background()
	_, err := upkeep.LoadSampleData(ctx, store, claims.SampleOptions{})
	require.NoError(b, err)
	rt := New(Config{Store: store})
	b.Cleanup(rt.Close)
	require.NoError(b, rt.DoString(ctx, `c = {customer="CUST-0001", policy="POL-0001", amount=2500, type="auto", incident_date="2026-11-20", description="rear-ended at a light"}`, "setup"))
	var xadd string
	for _, f := range benchFields {
		xadd += ", " + strconv.Quote(f.(string))
	}
	sha, err := store.Do(ctx, "SCRIPT", "LOAD", `local at = 1
while at <= #ARGV do
  local n = tonumber(ARGV[at])
  redis.call(unpack(ARGV, at + 1, at + n))
  at = at + n + 1
end
return {'ok', '1764000000000-0'}`)
	require.NoError(b, err)
	k := store.Keys()
	floor := append([]any{"EVALSHA", sha, 0, 5, "HMGET", "", "version", "eid", "entries", 3 + len(benchFields), "XADD", k.Named("bench:floor"), "*"}, benchFields...)
	aggAt := len(floor) + 2
	floor = append(floor, 12, "HSET", "", "version", "1", "eid", "0b6e1c4a-1111-4222-8333-944445555666", "entries", "1764000000000-0", "status", "submitted", "amount", "2500")
	for _, bc := range []struct {
		name string
		code string // Lua, N calls
		run  func(i int) error
	}{
		{name: "redis XADD", code: `local k = key("bench:xadd") for i = 1, N do redis("XADD", k, "*"` + xadd + `) end`},
		{name: "EVALSHA floor", run: func(i int) error {
			agg := k.Named("bench:floor:agg:" + strconv.Itoa(i))
			floor[5], floor[aggAt] = agg, agg
			_, err := store.Do(ctx, floor...)
			return err
		}},
		{name: "submit", code: `for i = 1, N do submit(c) end`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			user, sys := cpu()
			if bc.run != nil {
				for i := range b.N {
					require.NoError(b, bc.run(i))
				}
			} else {
				require.NoError(b, rt.DoString(ctx, fmt.Sprintf("local N = %d\n%s", b.N, bc.code), bc.name))
			}
			user2, sys2 := cpu()
			b.ReportMetric(float64(user2-user)/1e3/float64(b.N), "user-µs/op")
			b.ReportMetric(float64(sys2-sys)/1e3/float64(b.N), "sys-µs/op")
		})
	}
}

// cpu is the process's user and system CPU so far, in ns.
func cpu() (user, sys int64) {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano(), ru.Stime.Nano()
}
