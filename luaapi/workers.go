package luaapi

import (
	"fmt"
	"math"

	"claimsctl/streams"
	"claimsctl/streams/claims"
	"claimsctl/streams/upkeep"
	"claimsctl/streams/workers"

	lua "github.com/yuin/gopher-lua"
)

// workersModule is claims.workers: the built-in and Lua workers in the
// background, recovery of idle entries, dead letters and the workers'
// own views (stats, audit trail, read model).
type workersModule struct {
	store *streams.Store
	pool  *pool
	echo  *echo
	jail  *jail  // which files spawn() may load
	host  string // default consumer names are <worker>@<host>
	// launcher, if set, starts spawned consumers as child processes with
	// memory bytes at most.
	launcher *Launcher
	memory   int64
	// newConsumerRuntime opens the Lua state a spawned consumer runs on
	// in this process.
	newConsumerRuntime func() *Runtime
}

func (m *workersModule) Loader(L *lua.LState) int {
	L.Push(L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
		"sample_data":        m.sampleData,
		"pending":            m.pending,
		"recover":            m.recoverIdle,
		"forget_consumers":   m.forgetConsumers,
		"dlq":                m.dlq,
		"retry_dlq":          m.retryDLQ,
		"start":              m.start,
		"spawn":              m.spawn,
		"stop":               m.stop,
		"workers":            m.workers,
		"wait_idle":          m.waitIdle,
		"stats":              m.stats,
		"audit_trail":        m.auditTrail,
		"rebuild_read_model": m.rebuildReadModel,
	}))
	return 1
}

func (m *workersModule) sampleData(L *lua.LState) int {
	o := optionsAt(L, 1, "sample_data", "customers", "policies", "seed")
	res, err := upkeep.LoadSampleData(ctxOf(L), m.store, claims.SampleOptions{
		Customers: int(o.whole("customers", claims.DefaultSampleCustomers, 1, claims.MaxSampleRecords)),
		Policies:  int(o.whole("policies", claims.DefaultSamplePolicies, 1, claims.MaxSampleRecords)),
		Seed:      o.whole("seed", defaultSeed(m.store), math.MinInt64, math.MaxInt64),
	})
	if err != nil {
		return raise(L, err)
	}
	t := L.NewTable()
	t.RawSetString("customers", toLua(L, res.Customers))
	t.RawSetString("policies", toLua(L, res.Policies))
	t.RawSetString("lapsed", toLua(L, res.Lapsed))
	t.RawSetString("adjusters", toLua(L, res.Adjusters))
	m.echo.summary(t, "loaded %d customers, %d policies (%d lapsed), %d adjusters", len(res.Customers), len(res.Policies), len(res.Lapsed), len(res.Adjusters))
	L.Push(t)
	return 1
}

func (m *workersModule) stats(L *lua.LState) int {
	st, err := m.store.Stats(ctxOf(L))
	if err != nil {
		return raise(L, err)
	}
	if st.Events == 0 && m.echo.on {
		// All zeros reads as "no claims" to a student who has filed some.
		if running, err := workers.Running(ctxOf(L), m.store, "analytics"); err == nil && len(running) == 0 {
			m.echo.note("stats() is all zeros: these are the analytics worker's counters, and none has counted an event here yet.\n" +
				"start(\"analytics\") (or claimsctl worker analytics in another terminal) counts every event from the first;\n" +
				"report() computes the same figures from the events themselves, now.")
		}
	}
	L.Push(structToLua(L, st))
	return 1
}

func (m *workersModule) auditTrail(L *lua.LState) int {
	records, err := m.store.AuditTrail(ctxOf(L), L.CheckString(1))
	if err != nil {
		return raise(L, err)
	}
	t := L.NewTable()
	for _, rec := range records {
		rt := L.NewTable()
		rt.RawSetString("at", lua.LString(rec.At.UTC().Format(timeOut)))
		rt.RawSetString("actor", lua.LString(rec.Actor))
		rt.RawSetString("type", lua.LString(rec.Type))
		rt.RawSetString("version", lua.LNumber(rec.Version))
		rt.RawSetString("entry_id", lua.LString(rec.EntryID))
		rt.RawSetString("detail", lua.LString(rec.Detail))
		t.Append(rt)
	}
	L.Push(t)
	return 1
}

// rebuildReadModel refuses while a processor runs: it would project events
// into the views being deleted.
func (m *workersModule) rebuildReadModel(L *lua.LState) int {
	if b := m.pool.runningIn(streams.GroupProcessors); b != nil {
		return raise(L, fmt.Errorf("rebuild_read_model: the processor %s is running; stop(%q) first", b.consumer, b.name))
	}
	res, err := upkeep.RebuildReadModel(ctxOf(L), m.store)
	if err != nil {
		return raise(L, err)
	}
	t := L.NewTable()
	t.RawSetString("deleted", lua.LNumber(res.Deleted))
	t.RawSetString("claims", lua.LNumber(res.Claims))
	t.RawSetString("events", lua.LNumber(res.Events))
	t.RawSetString("gaps", lua.LNumber(res.Gaps))
	m.echo.summary(t, "read model rebuilt: %d claim views from %d events (%d old views deleted, %d events skipped: their claim's start was trimmed)", res.Claims, res.Events, res.Deleted, res.Gaps)
	L.Push(t)
	return 1
}
