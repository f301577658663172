package luaapi

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"claimsctl/streams"
	"claimsctl/streams/claims"

	lua "github.com/yuin/gopher-lua"
)

// opsModule is claims.ops: the streams themselves (info, groups) and their
// maintenance (trim, import).
type opsModule struct {
	store   *streams.Store
	out     io.Writer // trim prints its plan here
	echo    *echo
	backend string // the start-up line, in info()
}

func (m *opsModule) Loader(L *lua.LState) int {
	L.Push(L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
		"info":   m.info,
		"groups": m.groups,
		"trim":   m.trim,
		"import": m.importArchive,
	}))
	return 1
}

func (m *opsModule) info(L *lua.LState) int {
	details, err := m.store.StreamDetails(ctxOf(L))
	if err != nil {
		return raise(L, err)
	}
	L.Push(detailsTable(L, details, m.store.Keys(), m.backend))
	return 1
}

func (m *opsModule) groups(L *lua.LState) int {
	st, err := m.store.State(ctxOf(L))
	if err != nil {
		return raise(L, err)
	}
	t := L.NewTable()
	if ss := st.Stream(m.store.Keys().Events()); ss != nil {
		for _, g := range ss.Groups {
			gt := groupTable(L, g, false)
			if err := m.markRunning(L, g, gt); err != nil {
				return raise(L, err)
			}
			t.Append(gt)
		}
	}
	L.Push(t)
	return 1
}

// markRunning lists the consumers live workers run now, in this session
// or another process (streams.Store.KeepAlive), as running= of the group,
// and sets running=true on those of its consumers.
func (m *opsModule) markRunning(L *lua.LState, g streams.GroupState, gt *lua.LTable) error {
	running, err := m.store.Running(ctxOf(L), g.Name)
	if err != nil {
		return err
	}
	gt.RawSetString("running", toLua(L, running))
	cons := gt.RawGetString("consumers").(*lua.LTable)
	for i, c := range g.Consumers {
		cons.RawGetInt(i+1).(*lua.LTable).RawSetString("running", lua.LBool(slices.Contains(running, c.Name)))
	}
	return nil
}

// trim plans first and carries the plan out only when confirmed: the plan
// the student reads is exactly what is archived and removed.
func (m *opsModule) trim(L *lua.LState) int {
	const fn = "trim"
	if _, ok := L.Get(1).(*lua.LTable); !ok {
		argError(L, 1, fn, "give the options as a table: trim{maxlen=1000} or trim{before=\"2026-11-25T10:00:00Z\"}")
	}
	o := optionsAt(L, 1, fn, "maxlen", "before", "archive", "confirm", "force", "stream")
	opts := claims.TrimOptions{Stream: streamArg(m.store.Keys(), o.str("stream", ""))}
	switch {
	case o.has("maxlen") && o.has("before"):
		argError(L, 1, fn, "give maxlen or before, not both")
	case o.has("maxlen"):
		n := o.num("maxlen", 0)
		if n < 0 || n != float64(int64(n)) {
			argError(L, 1, fn, fmt.Sprintf("maxlen must be a whole number, 0 or more, got %v", n))
		}
		maxLen := int64(n)
		opts.MaxLen = &maxLen
	case o.has("before"):
		id, at := timeArg(L, 1, fn, "before", o.str("before", ""))
		switch {
		case !at.IsZero():
			opts.Before = claims.IDAt(at)
		case id == "-" || id == "+":
			argError(L, 1, fn, "before must be a time or a stream id, not "+id)
		default:
			opts.Before = id
		}
	default:
		argError(L, 1, fn, "give maxlen=N (keep the newest N) or before=time (remove what is older)")
	}
	archive := o.str("archive", "")
	confirm, force := o.boolean("confirm", false), o.boolean("force", false)

	ctx := ctxOf(L)
	plan, err := m.store.PlanTrim(ctx, opts)
	if err != nil {
		return raise(L, err)
	}
	fmt.Fprint(m.out, plan.Describe())
	t := planTable(L, plan)
	if !confirm || plan.Count() == 0 {
		if plan.Count() > 0 {
			also := ""
			if archive != "" {
				also = " and archive them to " + archive
			}
			fmt.Fprintf(m.out, "dry run: nothing removed; add confirm=true to remove them%s\n", also)
		}
		t.RawSetString("dry_run", lua.LBool(!confirm))
		t.RawSetString("removed", lua.LNumber(0))
		m.echo.quiet(t)
		L.Push(t)
		return 1
	}
	exec := streams.TrimExec{Force: force}
	if archive != "" {
		exec.Archive = func(entries []claims.ArchiveEntry) error { return appendArchive(archive, entries) }
	}
	removed, err := m.store.Trim(ctx, plan, exec)
	if err != nil {
		return raise(L, err)
	}
	if archive != "" {
		fmt.Fprintf(m.out, "archived %d entries to %s\n", plan.Count(), archive)
		t.RawSetString("archive", lua.LString(archive))
	}
	fmt.Fprintf(m.out, "removed %d entries from %s\n", removed, plan.Stream)
	t.RawSetString("dry_run", lua.LFalse)
	t.RawSetString("removed", lua.LNumber(removed))
	m.echo.quiet(t)
	L.Push(t)
	return 1
}

// importArchive is import() (a Go keyword). The whole file is read and
// checked before anything is written.
func (m *opsModule) importArchive(L *lua.LState) int {
	const fn = "import"
	path := L.CheckString(1)
	o := optionsAt(L, 2, fn, "stream")
	name := o.str("stream", "")
	key := streamArg(m.store.Keys(), name)
	entries, err := readArchiveFile(path)
	if err != nil {
		var lineErr *claims.ArchiveLineError
		if errors.As(err, &lineErr) {
			return raise(L, fmt.Errorf("import %s: %v (nothing written)", path, lineErr))
		}
		return raise(L, fmt.Errorf("import: %w", err))
	}
	n, err := m.store.Import(ctxOf(L), key, entries)
	if err != nil {
		var conflict *claims.ImportConflictError
		if errors.As(err, &conflict) {
			return raise(L, fmt.Errorf("import %s: %v. Import it into another stream instead: import(%q, {stream=\"claims:restored\"}) (nothing written)", path, conflict, path))
		}
		return raise(L, fmt.Errorf("import %s: %w", path, err))
	}
	v := lua.LNumber(n)
	hint := ""
	if key == m.store.Keys().Events() && n > 0 {
		hint = "; rebuild() brings back their claims"
	}
	m.echo.summary(v, "imported %d entries into %s%s", n, key, hint)
	L.Push(v)
	return 1
}

// streamArg turns a stream name given in Lua into its key: the short names
// info() uses (events, analytics, notifications, dlq) or any stream name,
// both under the store's prefix.
func streamArg(keys streams.Keys, name string) string {
	switch name {
	case "", "events":
		return keys.Events()
	case "analytics":
		return keys.Analytics()
	case "notifications":
		return keys.Notifications()
	case "dlq":
		return keys.DLQ()
	}
	return keys.Named(name)
}

func stateTable(L *lua.LState, st *streams.State, keys streams.Keys, backend string) *lua.LTable {
	t := L.NewTable()
	if backend != "" {
		t.RawSetString("backend", lua.LString(backend))
	}
	for _, ss := range st.Streams {
		s := L.NewTable()
		s.RawSetString("key", lua.LString(ss.Key))
		s.RawSetString("exists", lua.LBool(ss.Exists))
		s.RawSetString("length", lua.LNumber(ss.Length))
		s.RawSetString("first_id", lua.LString(ss.FirstID))
		s.RawSetString("last_id", lua.LString(ss.LastID))
		groups := L.NewTable()
		for _, g := range ss.Groups {
			gt := groupTable(L, g, true)
			groups.RawSetString(g.Name, gt)
		}
		s.RawSetString("groups", groups)
		t.RawSetString(shortStreamName(ss.Key, keys), s)
	}
	return t
}

// shortStreamName turns "claims:events" (with any prefix) into "events".
func shortStreamName(key string, keys streams.Keys) string {
	return strings.TrimPrefix(strings.TrimPrefix(key, keys.Prefix), "claims:")
}

// groupTable is one consumer group as Lua sees it. Its consumers are keyed
// by name for info() (info().events.groups.processors.consumers.w1) and a
// list for groups().
func groupTable(L *lua.LState, g streams.GroupState, consumersByName bool) *lua.LTable {
	gt := L.NewTable()
	gt.RawSetString("name", lua.LString(g.Name))
	gt.RawSetString("pending", lua.LNumber(g.Pending))
	gt.RawSetString("lag", lua.LNumber(g.Lag))
	gt.RawSetString("lag_counted", lua.LBool(g.LagCounted))
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

func planTable(L *lua.LState, p *claims.TrimPlan) *lua.LTable {
	t := L.NewTable()
	t.RawSetString("stream", lua.LString(p.Stream))
	t.RawSetString("length", lua.LNumber(p.Length))
	t.RawSetString("count", lua.LNumber(p.Count()))
	t.RawSetString("remaining", lua.LNumber(p.Length-int64(p.Count())))
	if p.Options.MaxLen != nil {
		t.RawSetString("maxlen", lua.LNumber(*p.Options.MaxLen))
	} else {
		t.RawSetString("before", lua.LString(p.Options.Before))
	}
	if p.Count() > 0 {
		t.RawSetString("first_id", lua.LString(p.FirstID()))
		t.RawSetString("last_id", lua.LString(p.LastID()))
		t.RawSetString("min_id", lua.LString(p.MinID()))
	}
	if !p.FirstAt.IsZero() {
		t.RawSetString("first_occurred_at", lua.LString(p.FirstAt.Format(timeOut)))
	}
	if !p.LastAt.IsZero() {
		t.RawSetString("last_occurred_at", lua.LString(p.LastAt.Format(timeOut)))
	}
	groups := L.NewTable()
	for _, g := range p.Groups {
		gt := L.NewTable()
		gt.RawSetString("name", lua.LString(g.Group))
		gt.RawSetString("pending", lua.LNumber(g.Pending))
		gt.RawSetString("unread", lua.LNumber(g.Unread))
		groups.Append(gt)
	}
	t.RawSetString("groups", groups)
	warnings := L.NewTable()
	for _, w := range p.Warnings() {
		warnings.Append(lua.LString(w))
	}
	t.RawSetString("warnings", warnings)
	return t
}

// detailsTable is info(): the state view's table (stateTable, whose shape
// scripts rely on) with what XINFO STREAM and MEMORY USAGE add.
func detailsTable(L *lua.LState, details []streams.StreamDetail, keys streams.Keys, backend string) *lua.LTable {
	st := &streams.State{}
	for _, d := range details {
		st.Streams = append(st.Streams, d.StreamState)
	}
	t := stateTable(L, st, keys, backend)
	for _, d := range details {
		s, ok := t.RawGetString(shortStreamName(d.Key, keys)).(*lua.LTable)
		if !ok {
			continue
		}
		s.RawSetString("memory_bytes", lua.LNumber(d.MemoryBytes))
		s.RawSetString("last_generated_id", lua.LString(d.LastGeneratedID))
		if d.EntriesAdded > 0 {
			s.RawSetString("entries_added", lua.LNumber(d.EntriesAdded))
		}
		for prefix, e := range map[string]*streams.EntrySummary{"first": d.First, "last": d.Last} {
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
