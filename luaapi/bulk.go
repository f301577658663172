package luaapi

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"claimsctl/streams"
	"claimsctl/streams/claims"
	"claimsctl/streams/redisconn"

	lua "github.com/yuin/gopher-lua"
)

// The bulk commands of claims.produce: many claims checked first, then
// appended a chunk per call.

func (m *produceModule) bulkFuncs() map[string]lua.LGFunction {
	return map[string]lua.LGFunction{
		"submit_many":   m.submitMany,
		"sample_claims": m.sampleClaims,
	}
}

func (m *produceModule) submitMany(L *lua.LState) int {
	const fn = "submit_many"
	list := L.CheckTable(1)
	o := optionsAt(L, 2, fn, "chunk", "actor")
	chunk := o.whole("chunk", streams.DefaultChunk, 1, 10000)
	actor := o.text("actor", "")
	n := list.Len()
	subs := make([]streams.NewClaim, 0, n)
	for i := 1; i <= n; i++ {
		t, ok := list.RawGetInt(i).(*lua.LTable)
		if !ok {
			argError(L, 1, fn, fmt.Sprintf("item %d is a %s; want a claim table like submit{} takes", i, list.RawGetInt(i).Type()))
		}
		sub, err := newClaimOf(t)
		if err != nil {
			argError(L, 1, fn, fmt.Sprintf("item %d: %v", i, err))
		}
		subs = append(subs, sub)
	}
	return m.pushBulk(L, subs, streams.BulkOptions{Chunk: int(chunk), Actor: actor}, "submitted")
}

func (m *produceModule) sampleClaims(L *lua.LState) int {
	const fn = "sample_claims"
	o := optionsAt(L, 1, fn, "count", "seed", "chunk")
	count := o.whole("count", 100, 1, 10_000_000)
	seed := o.whole("seed", defaultSeed(m.store), math.MinInt64, math.MaxInt64)
	chunk := o.whole("chunk", streams.DefaultChunk, 1, 10000)
	samples := claims.SampleClaims(int(count), seed, m.store.Now())
	if err := m.warnMissingPolicies(L, samples); err != nil {
		return raise(L, err)
	}
	subs := make([]streams.NewClaim, len(samples))
	for i, c := range samples {
		subs[i] = streams.Submission{CustomerID: c.CustomerID, PolicyID: c.PolicyID, Amount: c.Amount,
			ClaimType: c.ClaimType, IncidentDate: c.IncidentDate, Description: c.Description}.NewClaim()
	}
	return m.pushBulk(L, subs, streams.BulkOptions{Chunk: int(chunk)}, "sample claims submitted")
}

// warnMissingPolicies says when the sample policies the claims are on are
// not on the server (sample_data{} never ran here): the claims are valid
// submissions, but the processor will reject them all as policy_not_found,
// which a student would otherwise find out only from the rejections.
func (m *produceModule) warnMissingPolicies(L *lua.LState, samples []claims.SampleClaim) error {
	sample := map[string]bool{} // the policies sample_data{} writes; not the made-up unknown ones
	for n := 1; n <= claims.DefaultSamplePolicies; n++ {
		sample[claims.SamplePolicyID(n)] = true
	}
	var used []string
	for _, c := range samples {
		if sample[c.PolicyID] && !slices.Contains(used, c.PolicyID) {
			used = append(used, c.PolicyID)
		}
	}
	slices.Sort(used)
	var missing []string
	for _, id := range used {
		// One key a command: a cluster serves the policies on several masters.
		n, err := m.store.Do(ctxOf(L), "EXISTS", m.store.Keys().Policy(id))
		if redisconn.Transient(err) {
			// Advice only: a master restarting or failing over must not
			// fail the claims, whose appends wait for it by themselves.
			return nil
		}
		if err != nil {
			return fmt.Errorf("sample_claims: look for the sample policies: %w", err)
		}
		if n == int64(0) {
			missing = append(missing, id)
		}
	}
	switch {
	case len(missing) == 0:
	case len(missing) == len(used):
		fmt.Fprintf(m.out, "warning: sample_claims: none of the sample policies these claims are on (%s .. %s) is on this server: load them with sample_data{} first, or the processor rejects every claim as policy_not_found\n", used[0], used[len(used)-1])
	default:
		fmt.Fprintf(m.out, "warning: sample_claims: %d of the %d sample policies these claims are on are not on this server (%s): sample_data{} loads them all; the processor rejects their claims as policy_not_found\n", len(missing), len(used), strings.Join(missing, ", "))
	}
	return nil
}

func (m *produceModule) pushBulk(L *lua.LState, subs []streams.NewClaim, o streams.BulkOptions, what string) int {
	update, finish := m.progress.start(len(subs), "submitting")
	o.Progress = func(done, _ int) { update(done) }
	start := time.Now()
	res, err := m.store.SubmitMany(ctxOf(L), subs, o)
	finish()
	if err != nil && res.Submitted == 0 {
		return raise(L, err)
	}
	t := L.NewTable()
	t.RawSetString("submitted", lua.LNumber(res.Submitted))
	t.RawSetString("claims", toLua(L, res.ClaimIDs))
	if err != nil {
		// Some went in: say which did not, and return what did.
		t.RawSetString("error", lua.LString(err.Error()))
	}
	secs := time.Since(start).Seconds()
	switch rate := ""; {
	case m.store.Seeded() != nil:
		// A seeded run prints the same every time: no timings.
		m.echo.summary(t, "%d %s", res.Submitted, what)
	default:
		if secs > 0 && res.Submitted > 0 {
			rate = fmt.Sprintf(" (%.0f claims/s)", float64(res.Submitted)/secs)
		}
		m.echo.summary(t, "%d %s in %s%s", res.Submitted, what, time.Since(start).Round(time.Millisecond), rate)
	}
	if err != nil {
		m.echo.summary(t, "not all of them: %s", strings.TrimPrefix(err.Error(), "submit many: "))
	}
	L.Push(t)
	return 1
}

// newClaimOf reads one claim table of submit_many: submit{}'s fields under
// their Lua names, and id; actor is one for the whole call.
func newClaimOf(t *lua.LTable) (streams.NewClaim, error) {
	raw, err := fromLua(t, "claim")
	if err != nil {
		return streams.NewClaim{}, err
	}
	fields, ok := raw.(map[string]any)
	if !ok {
		return streams.NewClaim{}, fmt.Errorf("want a table like {customer=, policy=, amount=, type=, incident_date=, description=}")
	}
	allowed := []string{"customer", "policy", "amount", "type", "incident_date", "description", "id"}
	var nc streams.NewClaim
	nc.Data = map[string]any{}
	var unknown []string
	for k, v := range fields {
		switch {
		case k == "id":
			id, ok := v.(string)
			if !ok {
				return nc, fmt.Errorf("id must be a string, got %s", describeValue(v))
			}
			nc.ClaimID = id
		case submitAliases[k] != "":
			nc.Data[submitAliases[k]] = v
		case k == "amount" || k == "incident_date" || k == "description":
			nc.Data[k] = v
		default:
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		return nc, errors.New(notAClaimFields(unknown, allowed))
	}
	return nc, nil
}

// describeValue names a converted Lua value's type for a message.
func describeValue(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	case map[string]any, []any:
		return "a table"
	}
	return fmt.Sprintf("%T", v)
}
