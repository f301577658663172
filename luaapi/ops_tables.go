package luaapi

import (
	"fmt"
	"strings"
	"time"

	"claimsctl/streams"
	"claimsctl/streams/claims"
	"claimsctl/streams/streamview"
	"claimsctl/streams/upkeep"

	lua "github.com/yuin/gopher-lua"
)

// The Lua tables info(), groups(), trim() and stream_details() return:
// the state view, trim plans and stream details as plain tables.

// stateTable is the state view as Lua sees it: events, analytics,
// notifications and dlq, each a stream table. With partitions each kind is
// every partition's streams combined (lengths and group figures summed),
// and its partitions are listed in .partitions.
func stateTable(L *lua.LState, st *streamview.State, keys streams.Keys, backend string) *lua.LTable {
	t := L.NewTable()
	if backend != "" {
		t.RawSetString("backend", lua.LString(backend))
	}
	for name, kind := range streamKinds(keys) {
		var ss *streamview.StreamState
		if len(kind) == 1 {
			ss = st.Stream(kind[0])
		} else {
			ss = st.Combined(kind)
		}
		if ss == nil {
			ss = &streamview.StreamState{Key: strings.Join(kind, " ")}
		}
		s := streamTable(L, *ss)
		// Where each of the kind's streams ends now, one id per partition:
		// monitor{from=} and XREAD take one id per stream.
		lastIDs := L.NewTable()
		for _, key := range kind {
			id := "0-0"
			if p := st.Stream(key); p != nil && p.LastID != "" {
				id = p.LastID
			}
			lastIDs.Append(lua.LString(id))
		}
		s.RawSetString("last_ids", lastIDs)
		if keys.Partitioned() {
			parts := L.NewTable()
			for _, key := range kind {
				if p := st.Stream(key); p != nil {
					parts.Append(streamTable(L, *p))
				}
			}
			s.RawSetString("partitions", parts)
		}
		t.RawSetString(name, s)
	}
	return t
}

// streamKinds are the streams of each kind, by the names info() uses.
func streamKinds(keys streams.Keys) map[string][]string {
	kinds := map[string][]string{"events": keys.EventStreams(), "analytics": {keys.Analytics()}}
	for _, pk := range keys.All() {
		kinds["notifications"] = append(kinds["notifications"], pk.Notifications())
		kinds["dlq"] = append(kinds["dlq"], pk.DLQ())
	}
	return kinds
}

func streamTable(L *lua.LState, ss streamview.StreamState) *lua.LTable {
	s := L.NewTable()
	s.RawSetString("key", lua.LString(ss.Key))
	s.RawSetString("node", lua.LString(ss.Node))
	s.RawSetString("exists", lua.LBool(ss.Exists))
	s.RawSetString("length", lua.LNumber(ss.Length))
	s.RawSetString("first_id", lua.LString(ss.FirstID))
	s.RawSetString("last_id", lua.LString(ss.LastID))
	groups := L.NewTable()
	for _, g := range ss.Groups {
		groups.RawSetString(g.Name, groupTable(L, g, true))
	}
	s.RawSetString("groups", groups)
	return s
}

// retriesText is " retries N" for a group retry_dlq handed entries back to
// that it has yet to handle, else "".
func retriesText(g *streamview.GroupState) string {
	if g.Retries == 0 {
		return ""
	}
	return fmt.Sprintf(" retries %d", g.Retries)
}

// groupTable is one consumer group as Lua sees it. Its consumers are keyed
// by name for info() (info().events.groups.processors.consumers.w1) and a
// list for groups().
func groupTable(L *lua.LState, g streamview.GroupState, consumersByName bool) *lua.LTable {
	gt := L.NewTable()
	gt.RawSetString("name", lua.LString(g.Name))
	gt.RawSetString("pending", lua.LNumber(g.Pending))
	gt.RawSetString("lag", lua.LNumber(g.Lag))
	gt.RawSetString("lag_counted", lua.LBool(g.LagCounted))
	gt.RawSetString("retries", lua.LNumber(g.Retries))
	gt.RawSetString("last_delivered_id", lua.LString(g.LastDeliveredID))
	cons := L.NewTable()
	for _, c := range g.Consumers {
		ct := L.NewTable()
		ct.RawSetString("name", lua.LString(c.Name))
		ct.RawSetString("pending", lua.LNumber(c.Pending))
		ct.RawSetString("idle_ms", lua.LNumber(max(c.Idle.Milliseconds(), 0)))
		ct.RawSetString("idle", lua.LBool(c.LongIdle()))
		if consumersByName {
			cons.RawSetString(c.Name, ct)
		} else {
			cons.Append(ct)
		}
	}
	gt.RawSetString("consumers", cons)
	return gt
}

// planTable is a trim's plan as Lua sees it. With several streams
// (partitions) the figures are totals, and each stream's are in
// .partitions.
func planTable(L *lua.LState, p *claims.TrimPlan) *lua.LTable {
	t := L.NewTable()
	if len(p.Streams) == 1 {
		setStreamTrim(L, t, p.Streams[0])
	} else {
		t.RawSetString("length", lua.LNumber(p.Length()))
		t.RawSetString("count", lua.LNumber(p.Count()))
		t.RawSetString("remaining", lua.LNumber(p.Remaining()))
		first, last := p.Span()
		setTime(t, "first_occurred_at", first)
		setTime(t, "last_occurred_at", last)
		t.RawSetString("groups", groupRisksTable(L, p.Groups()))
		parts := L.NewTable()
		for _, st := range p.Streams {
			pt := L.NewTable()
			setStreamTrim(L, pt, st)
			parts.Append(pt)
		}
		t.RawSetString("partitions", parts)
	}
	if p.Options.MaxLen != nil {
		t.RawSetString("maxlen", lua.LNumber(*p.Options.MaxLen))
	} else {
		t.RawSetString("before", lua.LString(p.Options.Before))
	}
	warnings := L.NewTable()
	for _, w := range p.Warnings() {
		warnings.Append(lua.LString(w))
	}
	t.RawSetString("warnings", warnings)
	return t
}

// setStreamTrim sets what a plan takes from one stream.
func setStreamTrim(L *lua.LState, t *lua.LTable, st *claims.StreamTrim) {
	t.RawSetString("stream", lua.LString(st.Stream))
	t.RawSetString("length", lua.LNumber(st.Length))
	t.RawSetString("count", lua.LNumber(st.Count))
	t.RawSetString("remaining", lua.LNumber(st.Remaining()))
	if st.Count > 0 {
		t.RawSetString("first_id", lua.LString(st.FirstID))
		t.RawSetString("last_id", lua.LString(st.LastID))
		t.RawSetString("min_id", lua.LString(st.MinID()))
	}
	setTime(t, "first_occurred_at", st.FirstAt)
	setTime(t, "last_occurred_at", st.LastAt)
	t.RawSetString("groups", groupRisksTable(L, st.Groups))
}

func setTime(t *lua.LTable, key string, at time.Time) {
	if !at.IsZero() {
		t.RawSetString(key, lua.LString(at.Format(timeOut)))
	}
}

func groupRisksTable(L *lua.LState, groups []claims.GroupRisk) *lua.LTable {
	out := L.NewTable()
	for _, g := range groups {
		gt := L.NewTable()
		gt.RawSetString("name", lua.LString(g.Group))
		gt.RawSetString("pending", lua.LNumber(g.Pending))
		gt.RawSetString("unread", lua.LNumber(g.Unread))
		out.Append(gt)
	}
	return out
}

// detailsTable is info(): the state view's table (stateTable, whose shape
// scripts rely on) with what XINFO STREAM and MEMORY USAGE add.
func detailsTable(L *lua.LState, details []upkeep.StreamDetail, keys streams.Keys, backend string) *lua.LTable {
	st := &streamview.State{}
	for _, d := range details {
		st.Streams = append(st.Streams, d.StreamState)
	}
	st.EventStreams = keys.EventStreams()
	t := stateTable(L, st, keys, backend)
	byKey := map[string]upkeep.StreamDetail{}
	for _, d := range details {
		byKey[d.Key] = d
	}
	for name, kind := range streamKinds(keys) {
		s, ok := t.RawGetString(name).(*lua.LTable)
		if !ok {
			continue
		}
		var memory int64
		for _, key := range kind {
			memory += byKey[key].MemoryBytes
		}
		s.RawSetString("memory_bytes", lua.LNumber(memory))
		if len(kind) > 1 {
			continue // the details of each partition's stream are in .partitions
		}
		d := byKey[kind[0]]
		s.RawSetString("last_generated_id", lua.LString(d.LastGeneratedID))
		if d.EntriesAdded > 0 {
			s.RawSetString("entries_added", lua.LNumber(d.EntriesAdded))
		}
		for prefix, e := range map[string]*upkeep.EntrySummary{"first": d.First, "last": d.Last} {
			if e == nil {
				continue
			}
			if e.Type != "" {
				s.RawSetString(prefix+"_type", lua.LString(e.Type))
			}
			if !e.OccurredAt.IsZero() {
				s.RawSetString(prefix+"_occurred_at", lua.LString(e.OccurredAt.Format(timeOut)))
			}
		}
	}
	return t
}
