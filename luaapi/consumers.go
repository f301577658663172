package luaapi

import (
	"fmt"
	"math"
	"strings"
	"time"

	"claimsctl/streams"
	"claimsctl/streams/claims"
	"claimsctl/streams/workers"

	lua "github.com/yuin/gopher-lua"
)

// claims.workers' view of the consumer groups: what is pending, recovery
// of idle entries, forgetting consumers, and the dead letters.

func (m *workersModule) pending(L *lua.LState) int {
	sum, entries, err := m.store.Pending(ctxOf(L), L.CheckString(1))
	if err != nil {
		return raise(L, err)
	}
	t := L.NewTable()
	t.RawSetString("count", lua.LNumber(sum.Count))
	t.RawSetString("lower", lua.LString(sum.Lower))
	t.RawSetString("higher", lua.LString(sum.Higher))
	cons := L.NewTable()
	for name, n := range sum.Consumers {
		cons.RawSetString(name, lua.LNumber(n))
	}
	t.RawSetString("consumers", cons)
	list := L.NewTable()
	for _, e := range entries {
		et := L.NewTable()
		et.RawSetString("id", lua.LString(e.ID))
		et.RawSetString("consumer", lua.LString(e.Consumer))
		et.RawSetString("idle_ms", lua.LNumber(e.Idle.Milliseconds()))
		et.RawSetString("deliveries", lua.LNumber(e.Deliveries))
		list.Append(et)
	}
	t.RawSetString("entries", list)
	L.Push(t)
	return 1
}

func (m *workersModule) recoverIdle(L *lua.LState) int {
	group, consumer := L.CheckString(1), consumerArg(L, "recover")
	o := optionsAt(L, 3, "recover", "min_idle", "count")
	res, err := workers.Recover(ctxOf(L), m.store, group, consumer, workers.RecoverOptions{
		MinIdle: o.millis("min_idle", streams.DefaultMinIdle, 1),
		Count:   o.whole("count", 0, 1, math.MaxInt64),
	})
	if err != nil {
		return raise(L, err)
	}
	t := L.NewTable()
	for _, d := range res.Claimed {
		t.Append(deliveryTable(L, d))
	}
	m.echo.summary(t, "took over %d idle entries for %s/%s%s", len(res.Claimed), group, consumer, deletedNote(res.DeletedIDs))
	L.Push(t)
	L.Push(toLua(L, res.DeletedIDs))
	return 2
}

func (m *workersModule) forgetConsumers(L *lua.LState) int {
	const fn = "forget_consumers"
	group := L.CheckString(1)
	o := optionsAt(L, 2, fn, "idle", "to")
	idle := o.num("idle", float64(streams.LongIdle.Milliseconds()))
	if idle <= 0 {
		argError(L, 2, fn, fmt.Sprintf("idle must be a number of milliseconds above 0, got %v", idle))
	}
	res, err := workers.DeleteIdleConsumers(ctxOf(L), m.store, group, workers.ForgetOptions{
		Idle: time.Duration(idle) * time.Millisecond, To: o.str("to", ""),
	})
	if err != nil {
		return raise(L, err)
	}
	t := L.NewTable()
	t.RawSetString("deleted", toLua(L, res.Deleted))
	t.RawSetString("handed_over", lua.LNumber(res.HandedOver))
	kept := L.NewTable()
	var why []string
	for _, k := range res.Kept {
		kt := L.NewTable()
		kt.RawSetString("name", lua.LString(k.Name))
		kt.RawSetString("reason", lua.LString(k.Reason))
		kept.Append(kt)
		why = append(why, k.Name+": "+k.Reason)
	}
	t.RawSetString("kept", kept)
	summary := fmt.Sprintf("removed %d consumers of %s", len(res.Deleted), group)
	if len(res.Deleted) > 0 {
		summary += " (" + strings.Join(res.Deleted, ", ") + ")"
	}
	if res.HandedOver > 0 {
		summary += fmt.Sprintf(", after handing %d pending entries to %s", res.HandedOver, o.str("to", ""))
	}
	if len(why) > 0 {
		summary += "; kept " + strings.Join(why, "; ")
	}
	m.echo.summary(t, "%s", summary)
	L.Push(t)
	return 1
}

func deletedNote(ids []string) string {
	if len(ids) == 0 {
		return ""
	}
	return fmt.Sprintf(" (%d were deleted from the stream: %s)", len(ids), strings.Join(ids, ", "))
}

func (m *workersModule) dlq(L *lua.LState) int {
	letters, err := workers.DLQ(ctxOf(L), m.store)
	if err != nil {
		return raise(L, err)
	}
	t := L.NewTable()
	for _, d := range letters {
		dt := L.NewTable()
		dt.RawSetString("id", lua.LString(d.ID))
		dt.RawSetString("source_stream", lua.LString(d.SourceStream))
		dt.RawSetString("group", lua.LString(d.Group))
		dt.RawSetString("source_id", lua.LString(d.SourceID))
		dt.RawSetString("error", lua.LString(d.Error))
		dt.RawSetString("deliveries", lua.LNumber(d.Deliveries))
		dt.RawSetString("dead_at", lua.LString(d.DeadAt.UTC().Format(time.RFC3339)))
		dt.RawSetString("type", lua.LString(d.Type))
		dt.RawSetString("claim_id", lua.LString(d.ClaimID))
		fields := L.NewTable()
		for k, v := range d.Fields {
			fields.RawSetString(k, lua.LString(v))
		}
		dt.RawSetString("fields", fields)
		t.Append(dt)
	}
	L.Push(t)
	return 1
}

func (m *workersModule) retryDLQ(L *lua.LState) int {
	if _, ok := L.Get(1).(lua.LString); !ok {
		argError(L, 1, "retry_dlq", `want a dead letter's id (dlq()[1].id) or "all"`)
	}
	n, err := workers.RetryDLQ(ctxOf(L), m.store, L.CheckString(1))
	if err != nil {
		return raise(L, err)
	}
	m.echo.summary(lua.LNumber(n), "%s handed back to their groups' retry streams (claims:retry:<group>); %s is unchanged", claims.Plural(int64(n), "dead letter", "dead letters"), m.store.Keys().Events())
	L.Push(lua.LNumber(n))
	return 1
}
