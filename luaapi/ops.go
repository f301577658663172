package luaapi

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"

	"claimsctl/streams"
	"claimsctl/streams/claims"
	"claimsctl/streams/streamview"
	"claimsctl/streams/upkeep"
	"claimsctl/streams/workers"

	lua "github.com/yuin/gopher-lua"
)

// opsModule is claims.ops: the streams themselves (info, groups) and their
// maintenance (trim, import).
type opsModule struct {
	store    *streams.Store
	out      io.Writer // trim prints its plan here
	echo     *echo
	jail     *jail    // where trim{archive=} writes and import() reads
	progress progress // trim's archiving and import's writing, on a terminal
	backend  string   // the start-up line, in info()
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
	details, err := upkeep.StreamDetails(ctxOf(L), m.store)
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
	if ss := st.Events(); ss != nil {
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
func (m *opsModule) markRunning(L *lua.LState, g streamview.GroupState, gt *lua.LTable) error {
	running, err := workers.Running(ctxOf(L), m.store, g.Name)
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
	o := optionsAt(L, 1, fn, "maxlen", "before", "archive", "confirm", "force", "stream", "quiet")
	var opts claims.TrimOptions
	if name := o.str("stream", ""); !eventsName(name) {
		opts.Stream = streamArg(m.store.Keys(), name)
	}
	switch {
	case o.has("maxlen") && o.has("before"):
		argError(L, 1, fn, "give maxlen or before, not both")
	case o.has("maxlen"):
		maxLen := o.whole("maxlen", 0, 0, math.MaxInt64)
		opts.MaxLen = &maxLen
	case o.has("before"):
		id, at := o.bound("before", false)
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
	confirm, force, quiet := o.boolean("confirm", false), o.boolean("force", false), o.boolean("quiet", false)

	ctx := ctxOf(L)
	plan, err := upkeep.PlanTrim(ctx, m.store, opts)
	if err != nil {
		return raise(L, err)
	}
	if !quiet {
		fmt.Fprint(m.out, plan.Describe())
	}
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
	exec := upkeep.TrimExec{Force: force}
	finish := func() {}
	if archive != "" {
		path, err := m.jail.write(L, fn, archive)
		if err != nil {
			return raise(L, err)
		}
		exec.Archive = func(firsts map[string]string) (upkeep.Archiver, error) { return openArchive(path, firsts) }
		var update func(int)
		update, finish = m.progress.start(int(plan.Count()), "archiving")
		exec.Progress = func(done, _ int64) { update(int(done)) }
	}
	res, err := upkeep.Trim(ctx, m.store, plan, exec)
	finish()
	if err != nil {
		return raise(L, err)
	}
	if archive != "" {
		fmt.Fprintf(m.out, "archived %s to %s\n", claims.Plural(int64(res.Archived), "entry", "entries"), archive)
		t.RawSetString("archive", lua.LString(archive))
	}
	from := plan.Name()
	if parts, ok := t.RawGetString("partitions").(*lua.LTable); ok {
		from = fmt.Sprintf("%d partitions", len(plan.Streams))
		for i, removed := range res.Removed {
			parts.RawGetInt(i+1).(*lua.LTable).RawSetString("removed", lua.LNumber(removed))
		}
	}
	fmt.Fprintf(m.out, "removed %s from %s\n", claims.Plural(int64(res.Total()), "entry", "entries"), from)
	t.RawSetString("dry_run", lua.LFalse)
	t.RawSetString("removed", lua.LNumber(res.Total()))
	m.echo.quiet(t)
	L.Push(t)
	return 1
}

// importArchive is import() (a Go keyword). The file is read twice: once
// to check every line before anything is written, once to write.
func (m *opsModule) importArchive(L *lua.LState) int {
	const fn = "import"
	path := L.CheckString(1)
	o := optionsAt(L, 2, fn, "stream")
	keys := m.store.Keys()
	var opts upkeep.ImportOptions
	if name := o.str("stream", ""); !eventsName(name) {
		opts.Stream = streamArg(keys, name)
	}
	file, err := m.jail.read(L, fn, path)
	if err != nil {
		return raise(L, err)
	}
	f, err := os.Open(file)
	if err != nil {
		return raise(L, fmt.Errorf("import: %w", err))
	}
	defer f.Close()
	var update func(int)
	finish := func() {}
	opts.Progress = func(done, total int64) {
		if update == nil {
			update, finish = m.progress.start(int(total), "importing")
		}
		update(int(done))
	}
	res, err := upkeep.Import(ctxOf(L), m.store, f, opts)
	finish()
	if err != nil {
		var lineErr *claims.ArchiveLineError
		var conflict *claims.ImportConflictError
		switch {
		case errors.As(err, &lineErr):
			return raise(L, fmt.Errorf("import %s: %v (nothing written)", path, lineErr))
		case errors.As(err, &conflict):
			return raise(L, fmt.Errorf("import %s: %v. Import it into another stream instead: import(%q, {stream=\"claims:restored\"}) (nothing written)", path, conflict, path))
		}
		return raise(L, fmt.Errorf("import %s: %w", path, err))
	}
	n := lua.LNumber(res.Imported)
	targets := L.NewTable()
	for _, t := range res.Targets {
		targets.Append(lua.LString(strings.TrimPrefix(t.Stream, keys.Prefix)))
	}
	hint := ""
	if opts.Stream == "" && res.Imported > 0 {
		hint = "; rebuild() brings back their claims"
	}
	switch last := len(res.Targets) - 1; {
	case res.PerSource:
		m.echo.summary(n, "imported %s into %s .. %s: one stream per partition of the archive, as their ids interleave and may repeat",
			claims.Plural(int64(res.Imported), "entry", "entries"), res.Targets[0].Stream, res.Targets[last].Stream)
	case len(res.Targets) > 1:
		m.echo.summary(n, "imported %s into %d partitions, each to its claim's%s", claims.Plural(int64(res.Imported), "entry", "entries"), len(res.Targets), hint)
	default:
		target := keys.Events()
		switch {
		case last == 0:
			target = res.Targets[0].Stream
		case opts.Stream != "":
			target = opts.Stream
		}
		m.echo.summary(n, "imported %s into %s%s", claims.Plural(int64(res.Imported), "entry", "entries"), target, hint)
	}
	m.echo.quiet(targets)
	L.Push(n)
	L.Push(targets)
	return 2
}

// eventsName reports whether a stream= option means the event streams:
// every partition's, by its claim.
func eventsName(name string) bool { return name == "" || name == "events" || name == "claims:events" }

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
