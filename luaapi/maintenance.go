package luaapi

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"claimsctl/streams"
	"claimsctl/streams/claims"

	lua "github.com/yuin/gopher-lua"
)

// Stream maintenance (lab step 11): groups(), trim{}, import(), and the
// details info() adds to the state view; rebuild() of the aggregates.

// timeOut is how times appear in tables: RFC 3339, UTC, milliseconds.
const timeOut = "2006-01-02T15:04:05.000Z"

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

// groups() -> {{name=, pending=, lag=, lag_counted=, last_delivered_id=, consumers={{name=, pending=, idle_ms=}}}}
//
// The consumer groups of claims:events in name order, as a list.
func (r *Runtime) groups(L *lua.LState) int {
	st, err := r.store.State(ctxOf(L))
	if err != nil {
		return raise(L, err)
	}
	t := L.NewTable()
	if ss := st.Stream(r.store.Keys().Events()); ss != nil {
		for _, g := range ss.Groups {
			gt := groupTable(L, g, false)
			t.Append(gt)
		}
	}
	L.Push(t)
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

// trim{maxlen=N | before=time|id [, archive=file.jsonl] [, confirm=true] [, force=true] [, stream=]} -> plan
//
// Always prints the plan first. Without confirm=true it is a dry run and
// writes nothing. With it: refuses if a group still has pending or unread
// entries among those to remove (unless force=true), writes the archive,
// and only then removes exactly the planned entries.
func (r *Runtime) trim(L *lua.LState) int {
	const fn = "trim"
	if _, ok := L.Get(1).(*lua.LTable); !ok {
		argError(L, 1, fn, "give the options as a table: trim{maxlen=1000} or trim{before=\"2026-11-25T10:00:00Z\"}")
	}
	o := optionsAt(L, 1, fn, "maxlen", "before", "archive", "confirm", "force", "stream")
	opts := claims.TrimOptions{Stream: streamArg(r.store.Keys(), o.str("stream", ""))}
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
	plan, err := r.store.PlanTrim(ctx, opts)
	if err != nil {
		return raise(L, err)
	}
	fmt.Fprint(r.out, plan.Describe())
	t := planTable(L, plan)
	if !confirm || plan.Count() == 0 {
		if plan.Count() > 0 {
			also := ""
			if archive != "" {
				also = " and archive them to " + archive
			}
			fmt.Fprintf(r.out, "dry run: nothing removed; add confirm=true to remove them%s\n", also)
		}
		t.RawSetString("dry_run", lua.LBool(!confirm))
		t.RawSetString("removed", lua.LNumber(0))
		r.quiet(t)
		L.Push(t)
		return 1
	}
	exec := streams.TrimExec{Force: force}
	if archive != "" {
		exec.Archive = func(entries []claims.ArchiveEntry) error { return appendArchive(archive, entries) }
	}
	removed, err := r.store.Trim(ctx, plan, exec)
	if err != nil {
		return raise(L, err)
	}
	if archive != "" {
		fmt.Fprintf(r.out, "archived %d entries to %s\n", plan.Count(), archive)
		t.RawSetString("archive", lua.LString(archive))
	}
	fmt.Fprintf(r.out, "removed %d entries from %s\n", removed, plan.Stream)
	t.RawSetString("dry_run", lua.LFalse)
	t.RawSetString("removed", lua.LNumber(removed))
	r.quiet(t)
	L.Push(t)
	return 1
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

// quiet marks a value its command already described, so the REPL does not
// print the table again as the chunk's value.
func (r *Runtime) quiet(v lua.LValue) {
	if r.cfg.Echo {
		r.echoed = append(r.echoed, v)
	}
}

// appendArchive adds entries to a JSON-lines archive, creating its folder.
// An existing archive must end before these entries begin, or the file
// would no longer import in order. A failed write is cut back off, so the
// file holds whole lines only and the trim removes nothing.
func appendArchive(path string, entries []claims.ArchiveEntry) error {
	if len(entries) == 0 {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create the folder of %s: %w", path, err)
	}
	existing, err := readArchiveFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("%s exists and is not an archive (choose another file): %w", path, err)
	case len(existing) > 0:
		if last := existing[len(existing)-1].ID; claims.CompareIDs(last, entries[0].ID) >= 0 {
			return fmt.Errorf("%s already holds entries up to %s, not older than %s (choose another file)", path, last, entries[0].ID)
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("stat %s: %w", path, err)
	}
	err = claims.WriteArchive(f, entries)
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		_ = f.Truncate(info.Size())
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func readArchiveFile(path string) ([]claims.ArchiveEntry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return claims.ReadArchive(f)
}

// import(file.jsonl [, {stream=}]) -> number imported
//
// Loads an archive written by trim back with the entries' original ids,
// into claims:events or, with stream=, any stream. The whole file is
// checked first: a bad line or a clash with existing entries writes nothing.
func (r *Runtime) importArchive(L *lua.LState) int {
	const fn = "import"
	path := L.CheckString(1)
	o := optionsAt(L, 2, fn, "stream")
	name := o.str("stream", "")
	key := streamArg(r.store.Keys(), name)
	entries, err := readArchiveFile(path)
	if err != nil {
		var lineErr *claims.ArchiveLineError
		if errors.As(err, &lineErr) {
			return raise(L, fmt.Errorf("import %s: %v (nothing written)", path, lineErr))
		}
		return raise(L, fmt.Errorf("import: %w", err))
	}
	n, err := r.store.Import(ctxOf(L), key, entries)
	if err != nil {
		var conflict *claims.ImportConflictError
		if errors.As(err, &conflict) {
			return raise(L, fmt.Errorf("import %s: %v. Import it into another stream instead: import(%q, {stream=\"claims:restored\"}) (nothing written)", path, conflict, path))
		}
		return raise(L, fmt.Errorf("import %s: %w", path, err))
	}
	v := lua.LNumber(n)
	hint := ""
	if key == r.store.Keys().Events() && n > 0 {
		hint = "; rebuild() brings back their claims"
	}
	r.echo(v, "imported %d entries into %s%s", n, key, hint)
	L.Push(v)
	return 1
}

// rebuild() -> {claims=, events=, malformed=, broken=, skipped=, newer=, problems={...}}
//
// Recomputes every claim's aggregate (the write side: version, state,
// entry ids) by folding claims:events from the start.
func (r *Runtime) rebuild(L *lua.LState) int {
	res, err := r.store.Rebuild(ctxOf(L))
	if err != nil {
		return raise(L, err)
	}
	t := L.NewTable()
	t.RawSetString("claims", lua.LNumber(res.Claims))
	t.RawSetString("events", lua.LNumber(res.Events))
	t.RawSetString("malformed", lua.LNumber(res.Malformed))
	t.RawSetString("broken", lua.LNumber(res.Broken))
	t.RawSetString("skipped", lua.LNumber(res.Skipped))
	t.RawSetString("newer", lua.LNumber(res.Newer))
	problems := L.NewTable()
	for _, p := range res.Problems {
		problems.Append(lua.LString(p))
		// Always shown: a claim left unrebuilt is something to look at.
		fmt.Fprintf(r.out, "warning: %s\n", p)
	}
	t.RawSetString("problems", problems)
	var notes []string
	if res.Malformed > 0 {
		notes = append(notes, fmt.Sprintf("%d malformed entries skipped", res.Malformed))
	}
	if res.Broken > 0 {
		notes = append(notes, fmt.Sprintf("%d claims left as they were", res.Broken))
	}
	if res.Newer > 0 {
		notes = append(notes, fmt.Sprintf("%d changed meanwhile, left newer", res.Newer))
	}
	summary := fmt.Sprintf("rebuilt %d claims from %d events", res.Claims, res.Events)
	if len(notes) > 0 {
		summary += " (" + strings.Join(notes, ", ") + ")"
	}
	r.echo(t, "%s", summary)
	L.Push(t)
	return 1
}
