package streams

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"claimsctl/streams/claims"
	"claimsctl/streams/redisconn"

	"github.com/redis/go-redis/v9"
)

// Stream maintenance (lab step 11): what each stream holds and costs,
// trimming with a plan first and an archive, and importing archives back.

// trimPageSize is how many entries one XRANGE of the trim planner reads.
const trimPageSize = 1000

// importChunk is how many XADDs of an import go in one MULTI/EXEC.
const importChunk = 1000

// StreamDetail is one stream as info() shows it: the state view plus what
// XINFO STREAM and MEMORY USAGE tell.
type StreamDetail struct {
	StreamState
	// LastGeneratedID is the id the stream last handed out; it stays after
	// the entries themselves are trimmed, and XADD with an explicit id must
	// be above it.
	LastGeneratedID string
	// EntriesAdded counts every XADD ever made (0 when the server does not
	// report it: the embedded server).
	EntriesAdded int64
	// First and Last are the oldest and newest entries (nil when empty).
	First, Last *EntrySummary
	// MemoryBytes is MEMORY USAGE of the key. On the embedded server it is
	// an estimate of the Go memory the stream holds, not Redis's figure.
	MemoryBytes int64
}

// EntrySummary names one stream entry and, when it is a claim event (or
// carries an occurred_at field), when it happened.
type EntrySummary struct {
	ID         string
	Type       string    // the entry's "type" field, if any
	OccurredAt time.Time // zero when the entry has no readable occurred_at
}

// StreamDetails reads every stream's details: the state view (with lag
// counted where the server gives none, as State does) plus first and last
// entry, last generated id and memory usage, in one more pipelined trip.
func (s *Store) StreamDetails(ctx context.Context) ([]StreamDetail, error) {
	st, err := s.State(ctx)
	if err != nil {
		return nil, err
	}
	type cmds struct {
		info  *redis.XInfoStreamCmd
		first *redis.XMessageSliceCmd
		last  *redis.XMessageSliceCmd
		mem   *redis.IntCmd
	}
	keys := s.keys.Streams()
	cs := make([]cmds, len(keys))
	pipe := s.rdb.Pipeline()
	for i, key := range keys {
		cs[i].info = pipe.XInfoStream(ctx, key)
		// XINFO STREAM's first-entry/last-entry are missing on the
		// embedded server, so both ends are read with XRANGE everywhere.
		cs[i].first = pipe.XRangeN(ctx, key, "-", "+", 1)
		cs[i].last = pipe.XRevRangeN(ctx, key, "+", "-", 1)
		cs[i].mem = pipe.MemoryUsage(ctx, key)
	}
	if _, err := pipe.Exec(ctx); err != nil && !redisconn.Missing(err) {
		return nil, fmt.Errorf("stream details: %w", err)
	}
	out := make([]StreamDetail, 0, len(keys))
	for i, key := range keys {
		d := StreamDetail{StreamState: StreamState{Key: key}}
		if ss := st.Stream(key); ss != nil {
			d.StreamState = *ss
		}
		if info, err := cs[i].info.Result(); err == nil {
			d.LastGeneratedID, d.EntriesAdded = info.LastGeneratedID, info.EntriesAdded
		} else if !redisconn.Missing(err) {
			return nil, fmt.Errorf("details of %s: %w", key, err)
		}
		if msgs, err := cs[i].first.Result(); err == nil && len(msgs) > 0 {
			d.First = summarize(msgs[0])
			d.FirstID = msgs[0].ID
		}
		if msgs, err := cs[i].last.Result(); err == nil && len(msgs) > 0 {
			d.Last = summarize(msgs[0])
			d.LastID = msgs[0].ID
		}
		if n, err := cs[i].mem.Result(); err == nil {
			d.MemoryBytes = n
		} else if !redisconn.Missing(err) {
			return nil, fmt.Errorf("memory usage of %s: %w", key, err)
		}
		out = append(out, d)
	}
	return out, nil
}

func summarize(m redis.XMessage) *EntrySummary {
	e := &EntrySummary{ID: m.ID}
	e.Type, _ = m.Values[claims.FieldType].(string)
	at, _ := m.Values[claims.FieldOccurredAt].(string)
	e.OccurredAt = parseOccurredAt(at)
	return e
}

// PlanTrim works out what a trim would remove and which groups would lose
// pending or unread entries, in one pass over those entries a page at a
// time, so its memory does not grow with the stream. Without a stream it
// plans the event stream of every partition; maxlen then keeps that many
// of each (XTRIM works on one stream). It writes nothing.
func (s *Store) PlanTrim(ctx context.Context, opts claims.TrimOptions) (*claims.TrimPlan, error) {
	targets, name := []string{opts.Stream}, opts.Stream
	if opts.Stream == "" {
		targets, name = s.keys.EventStreams(), s.keys.Events()
		if len(targets) > 1 {
			name = "every partition"
		}
	}
	if opts.Before != "" && !strings.Contains(opts.Before, "-") {
		opts.Before += "-0" // a bare millisecond is the first id in it
	}
	switch {
	case opts.MaxLen == nil && opts.Before == "":
		return nil, fmt.Errorf("trim %s: give a maxlen or a before bound: %w", name, claims.ErrInvalid)
	case opts.MaxLen != nil && opts.Before != "":
		return nil, fmt.Errorf("trim %s: give maxlen or before, not both: %w", name, claims.ErrInvalid)
	case opts.MaxLen != nil && *opts.MaxLen < 0:
		return nil, fmt.Errorf("trim %s: maxlen must be 0 or more, got %d: %w", name, *opts.MaxLen, claims.ErrInvalid)
	case opts.Before != "" && !claims.ValidStreamID(opts.Before):
		return nil, fmt.Errorf("trim %s: before %q is not a stream id like 1795597353284-0: %w", name, opts.Before, claims.ErrInvalid)
	}
	plan := &claims.TrimPlan{Options: opts}
	for _, key := range targets {
		st, err := s.planStream(ctx, key, opts)
		if err != nil {
			return nil, fmt.Errorf("trim %s: %w", key, err)
		}
		plan.Streams = append(plan.Streams, st)
	}
	return plan, nil
}

// planStream counts what a trim takes from one stream: the entries, their
// ends, and per group the unread ones (past its last-delivered-id) and
// the pending ones (XPENDING over each page's range).
func (s *Store) planStream(ctx context.Context, key string, opts claims.TrimOptions) (*claims.StreamTrim, error) {
	pipe := s.rdb.Pipeline()
	xlen := pipe.XLen(ctx, key)
	xgroups := pipe.XInfoGroups(ctx, key)
	_, _ = pipe.Exec(ctx) // each command's error is read below
	length, err := xlen.Result()
	if err != nil && !redisconn.Missing(err) {
		return nil, err
	}
	groups, err := xgroups.Result()
	if err != nil && !redisconn.Missing(err) {
		return nil, fmt.Errorf("groups: %w", err)
	}
	positions := make([]claims.GroupPosition, len(groups))
	var withPending []string
	for i, g := range groups {
		positions[i] = claims.GroupPosition{Name: g.Name, LastDelivered: g.LastDeliveredID}
		if g.Pending > 0 {
			withPending = append(withPending, g.Name)
		}
	}
	st := claims.NewStreamTrim(key, length, positions)
	var limit int64 = math.MaxInt64
	end := "+"
	if opts.MaxLen != nil {
		limit = max(length-*opts.MaxLen, 0)
	} else {
		end = "(" + opts.Before
	}
	if limit == 0 {
		return st, nil
	}
	err = s.scanEntries(ctx, key, "-", end, limit, func(page []claims.ArchiveEntry) error {
		ids := make([]string, len(page))
		for i, e := range page {
			ids[i] = e.ID
			at, _ := e.Field(claims.FieldOccurredAt)
			st.Add(e.ID, parseOccurredAt(at))
		}
		return s.countPending(ctx, key, withPending, ids, st)
	})
	return st, err
}

// countPending asks each group that has pending entries which of the
// page's ids it holds (XPENDING over the page's range, counted, not kept).
// The range can hold more pending ids than the page has entries (pending
// entries deleted since), hence the inner loop.
func (s *Store) countPending(ctx context.Context, key string, groups, ids []string, st *claims.StreamTrim) error {
	if len(groups) == 0 || len(ids) == 0 {
		return nil
	}
	last := ids[len(ids)-1]
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.XPendingExtCmd, len(groups))
	for i, g := range groups {
		cmds[i] = pipe.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: key, Group: g, Start: ids[0], End: last, Count: trimPageSize})
	}
	_, _ = pipe.Exec(ctx) // each command's error is read below
	for i, g := range groups {
		pending, err := cmds[i].Result()
		for {
			if err != nil && !redisconn.Missing(err) {
				return fmt.Errorf("pending of %s: %w", g, err)
			}
			pendingIDs := make([]string, len(pending))
			for j, p := range pending {
				pendingIDs[j] = p.ID
			}
			st.AddPending(g, ids, pendingIDs)
			if len(pending) < trimPageSize {
				break
			}
			next := claims.NextID(pending[len(pending)-1].ID)
			pending, err = s.rdb.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: key, Group: g, Start: next, End: last, Count: trimPageSize}).Result()
		}
	}
	return nil
}

func parseOccurredAt(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// Archiver receives a trim's entries before any of them is removed.
type Archiver interface {
	// Append adds a page of planned entries, oldest first, one stream
	// after the other; each names the stream it comes from, without the
	// prefix.
	Append(page []claims.ArchiveEntry) error
	// Commit makes what was appended durable (fsync). Only after it
	// succeeds is anything removed.
	Commit() error
	// Abort undoes what was appended: the trim stopped before Commit, or
	// Commit failed.
	Abort()
}

// TrimExec is how a planned trim is carried out.
type TrimExec struct {
	// Force removes entries some group still has pending or unread.
	Force bool
	// Archive, when set, opens where the planned entries go, given the id
	// of each stream's first planned entry (keyed by the stream's name in
	// the archive: without the prefix). The entries are read again page by
	// page and appended; if anything fails, nothing is removed.
	Archive func(firsts map[string]string) (Archiver, error)
	// Progress, when set, is called after each archived page with how many
	// of the plan's entries are archived.
	Progress func(done, total int64)
}

// TrimResult is what a trim removed.
type TrimResult struct {
	Removed  []int64 // per stream of the plan, in its order
	Archived int64
}

// Total is how many entries were removed in all.
func (r TrimResult) Total() int64 {
	var n int64
	for _, c := range r.Removed {
		n += c
	}
	return n
}

// Trim carries out a plan: it refuses (ErrTrimRefused) when a group of
// any of its streams would lose pending or unread entries unless Force,
// archives, then removes exactly the planned entries of each stream with
// XTRIM MINID.
func (s *Store) Trim(ctx context.Context, plan *claims.TrimPlan, exec TrimExec) (TrimResult, error) {
	res := TrimResult{Removed: make([]int64, len(plan.Streams))}
	if plan.Count() == 0 {
		return res, nil
	}
	name := plan.Name()
	if risk := plan.AtRisk(); len(risk) > 0 && !exec.Force {
		return res, &claims.TrimRefusedError{Streams: risk}
	}
	if exec.Archive != nil {
		n, err := s.archive(ctx, plan, exec)
		if err != nil {
			return res, fmt.Errorf("trim %s: archive failed, nothing removed: %w", name, err)
		}
		res.Archived = n
	}
	for i, st := range plan.Streams {
		if st.Count == 0 {
			continue
		}
		// MINID is exact (no "~") on both servers; real Redis would trim a
		// "~" only by whole radix-tree nodes, the embedded server exactly.
		n, err := s.rdb.XTrimMinID(ctx, st.Stream, st.MinID()).Result()
		if err != nil {
			return res, fmt.Errorf("trim %s: %d of %d entries removed: %w", st.Stream, res.Total(), plan.Count(), err)
		}
		res.Removed[i] = n
	}
	return res, nil
}

// archive re-reads exactly the planned entries of each stream, a page at a
// time, and appends them. A stream that no longer holds as many entries
// in its planned range changed since the plan: the trim stops there.
func (s *Store) archive(ctx context.Context, plan *claims.TrimPlan, exec TrimExec) (int64, error) {
	firsts := map[string]string{}
	for _, st := range plan.Streams {
		if st.Count > 0 {
			firsts[s.archiveName(st.Stream)] = st.FirstID
		}
	}
	a, err := exec.Archive(firsts)
	if err != nil {
		return 0, err
	}
	var done int64
	total := plan.Count()
	for _, st := range plan.Streams {
		if st.Count == 0 {
			continue
		}
		name := s.archiveName(st.Stream)
		var n int64
		// One more than planned may be read, to tell an entry that came in
		// between (an import) from none.
		err := s.scanEntries(ctx, st.Stream, st.FirstID, st.LastID, st.Count+1, func(page []claims.ArchiveEntry) error {
			n += int64(len(page))
			if n > st.Count {
				return nil
			}
			for i := range page {
				page[i].Stream = name
			}
			if err := a.Append(page); err != nil {
				return err
			}
			done += int64(len(page))
			if exec.Progress != nil {
				exec.Progress(done, total)
			}
			return nil
		})
		if err == nil && n != st.Count {
			err = fmt.Errorf("%s changed since the plan: %d entries between %s and %s, not the %d planned; plan the trim again", st.Stream, n, st.FirstID, st.LastID, st.Count)
		}
		if err != nil {
			a.Abort()
			return 0, err
		}
	}
	if err := a.Commit(); err != nil {
		a.Abort()
		return 0, err
	}
	return done, nil
}

// archiveName is a key as an archive records it: without the prefix, so
// that the archive imports under another.
func (s *Store) archiveName(key string) string { return strings.TrimPrefix(key, s.keys.Prefix) }

// scanEntries reads entries from start to end (XRANGE bounds) with their
// fields in stored order, at most limit of them, and hands them to fn a
// page at a time.
func (s *Store) scanEntries(ctx context.Context, key, start, end string, limit int64, fn func([]claims.ArchiveEntry) error) error {
	for read := int64(0); read < limit; {
		page := min(int64(trimPageSize), limit-read)
		// A raw XRANGE keeps each entry's field order (go-redis's XMessage
		// is a map), so an archive holds exactly what the stream held.
		raw, err := s.rdb.Do(ctx, "XRANGE", key, start, end, "COUNT", page).Slice()
		if err != nil {
			if errors.Is(err, redis.Nil) {
				return nil
			}
			return fmt.Errorf("read %s: %w", key, err)
		}
		entries := make([]claims.ArchiveEntry, len(raw))
		for i, item := range raw {
			if entries[i], err = rawEntry(item); err != nil {
				return fmt.Errorf("read %s: %w", key, err)
			}
		}
		if len(entries) > 0 {
			if err := fn(entries); err != nil {
				return err
			}
			read += int64(len(entries))
			start = "(" + entries[len(entries)-1].ID
		}
		if int64(len(raw)) < page {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return nil
}

func rawEntry(item any) (claims.ArchiveEntry, error) {
	pair, ok := item.([]any)
	if !ok || len(pair) != 2 {
		return claims.ArchiveEntry{}, fmt.Errorf("unexpected XRANGE item %v", item)
	}
	id, ok := pair[0].(string)
	if !ok {
		return claims.ArchiveEntry{}, fmt.Errorf("unexpected XRANGE id %v", pair[0])
	}
	e := claims.ArchiveEntry{ID: id}
	switch fields := pair[1].(type) {
	case []any:
		for _, f := range fields {
			e.Fields = append(e.Fields, fmt.Sprint(f))
		}
	case map[any]any: // RESP3 may hand the pairs out as a map
		keys := make([]string, 0, len(fields))
		for k := range fields {
			keys = append(keys, fmt.Sprint(k))
		}
		sort.Strings(keys)
		for _, k := range keys {
			e.Fields = append(e.Fields, k, fmt.Sprint(fields[k]))
		}
	case nil:
	default:
		return claims.ArchiveEntry{}, fmt.Errorf("unexpected fields of %s: %v", id, pair[1])
	}
	return e, nil
}

// ImportOptions say where an import writes.
type ImportOptions struct {
	// Stream is the key to import into. "" sends each entry to the event
	// stream of its claim's partition (by its claim_id field; without one,
	// to the stream it was archived from when that is one of the event
	// streams, else to partition 0's).
	Stream string
	// Progress, when set, is called after each chunk written with how many
	// of the archive's entries are in.
	Progress func(done, total int64)
}

// ImportResult is what an import wrote.
type ImportResult struct {
	Imported int64
	// Targets are the streams written, in the order the archive first
	// reaches them.
	Targets []ImportTarget
	// PerSource is a named import of an archive of several streams (a
	// partitioned trim): their ids interleave and may repeat, so each went
	// to a stream of its own, Stream:p0, Stream:p1, ...
	PerSource bool
}

// ImportTarget is one stream an import writes.
type ImportTarget struct {
	Stream string // the key written
	Source string // the archive's stream it takes (a PerSource import)
	Count  int64  // how many entries the archive holds for it
	// First and Last bound its ids in the archive.
	First, Last string
}

// importPlan is what the checking pass over an archive found.
type importPlan struct {
	targets   []*ImportTarget
	byKey     map[string]*ImportTarget
	perSource bool
	total     int64
	route     func(claims.ArchiveEntry) string // the key an entry goes to
}

func (p *importPlan) target(key string) *ImportTarget {
	t, ok := p.byKey[key]
	if !ok {
		t = &ImportTarget{Stream: key}
		p.byKey[key] = t
		p.targets = append(p.targets, t)
	}
	return t
}

// Import adds the entries of an archive (JSON lines, as a trim writes
// them) with their original ids, reading it twice: once to check every
// line and count, once to write, a MULTI/EXEC chunk per target stream at a
// time, so its memory does not grow with the archive. A bad line, ids
// that do not ascend, or a target that already has an entry at or after
// the first of its ids is refused, and nothing is written.
func (s *Store) Import(ctx context.Context, archive io.ReadSeeker, opts ImportOptions) (ImportResult, error) {
	name := opts.Stream
	if name == "" {
		name = s.keys.Events()
		if s.keys.Partitions() > 1 {
			name = "the event streams"
		}
	}
	plan, err := s.planImport(archive, opts.Stream)
	if err != nil {
		return ImportResult{}, fmt.Errorf("import into %s: %w", name, err)
	}
	res := ImportResult{PerSource: plan.perSource}
	for _, t := range plan.targets {
		res.Targets = append(res.Targets, *t)
	}
	if plan.total == 0 {
		return res, nil
	}
	if err := s.makeRoom(ctx, plan.targets); err != nil {
		return res, fmt.Errorf("import into %s: %w", name, err)
	}
	if _, err := archive.Seek(0, io.SeekStart); err != nil {
		return res, fmt.Errorf("import into %s: read the archive again: %w", name, err)
	}
	chunks := map[string][]claims.ArchiveEntry{}
	flush := func(key string) error {
		n, err := s.importChunk(ctx, key, chunks[key])
		res.Imported += n
		chunks[key] = chunks[key][:0]
		if opts.Progress != nil {
			opts.Progress(res.Imported, plan.total)
		}
		if err != nil {
			return fmt.Errorf("import into %s: %d of %d imported: %w", key, res.Imported, plan.total, err)
		}
		return nil
	}
	r := claims.NewArchiveReader(archive)
	for {
		e, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return res, fmt.Errorf("import into %s: %d of %d imported: the archive changed since it was checked: %w", name, res.Imported, plan.total, err)
		}
		key := plan.route(e)
		if _, ok := plan.byKey[key]; !ok {
			return res, fmt.Errorf("import into %s: %d of %d imported: the archive changed since it was checked: line %d is of %s, which it did not hold", name, res.Imported, plan.total, r.Line(), e.Stream)
		}
		chunks[key] = append(chunks[key], e)
		if len(chunks[key]) == importChunk {
			if err := flush(key); err != nil {
				return res, err
			}
		}
	}
	for _, t := range plan.targets {
		if len(chunks[t.Stream]) > 0 {
			if err := flush(t.Stream); err != nil {
				return res, err
			}
		}
	}
	return res, nil
}

// planImport is the checking pass: every line must be an entry, ids must
// ascend per source stream and per target, and it finds the targets.
func (s *Store) planImport(archive io.Reader, stream string) (*importPlan, error) {
	plan := &importPlan{byKey: map[string]*ImportTarget{}}
	var sources []*ImportTarget // a named import's, by the archive's stream
	bySource := map[string]*ImportTarget{}
	r := claims.NewArchiveReader(archive)
	for {
		e, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		plan.total++
		if stream != "" {
			src, ok := bySource[e.Stream]
			if !ok {
				src = &ImportTarget{Source: e.Stream, First: e.ID}
				bySource[e.Stream] = src
				sources = append(sources, src)
			}
			src.Count++
			src.Last = e.ID
			continue
		}
		t := plan.target(s.eventTarget(e))
		if t.Count > 0 && claims.CompareIDs(t.Last, e.ID) >= 0 {
			return nil, &claims.ArchiveLineError{Line: r.Line(), Reason: fmt.Sprintf("entry %s of %s belongs in %s, which already gets %s of another stream of this archive: ids must ascend there. "+
				"The archive's partitions differ from this store's; import it into a named stream instead", e.ID, e.Stream, t.Stream, t.Last)}
		}
		if t.Count == 0 {
			t.First = e.ID
		}
		t.Count++
		t.Last = e.ID
	}
	if stream == "" {
		plan.route = s.eventTarget
		return plan, nil
	}
	plan.perSource = len(sources) > 1
	keyOf := map[string]string{}
	for i, src := range sources {
		key := stream
		if plan.perSource {
			key = fmt.Sprintf("%s:p%d", stream, i)
		}
		keyOf[src.Source] = key
		t := plan.target(key)
		t.Count, t.First, t.Last = src.Count, src.First, src.Last
		if plan.perSource {
			t.Source = src.Source
		}
	}
	plan.route = func(e claims.ArchiveEntry) string { return keyOf[e.Stream] }
	return plan, nil
}

// eventTarget is the event stream an entry goes back to: its claim's.
func (s *Store) eventTarget(e claims.ArchiveEntry) string {
	if id, ok := e.Field(claims.FieldClaimID); ok && id != "" {
		return s.keys.ForClaim(id).Events()
	}
	if e.Stream != "" {
		if key := s.keys.Named(e.Stream); slices.Contains(s.keys.EventStreams(), key) {
			return key
		}
	}
	return s.keys.Events()
}

// makeRoom checks that no target holds an entry at or after the first id
// it gets, then lowers the last generated id of each where needed
// (rewind). The checks all come before the first change.
func (s *Store) makeRoom(ctx context.Context, targets []*ImportTarget) error {
	pipe := s.rdb.Pipeline()
	after := make([]*redis.XMessageSliceCmd, len(targets))
	for i, t := range targets {
		after[i] = pipe.XRangeN(ctx, t.Stream, t.First, "+", 1)
	}
	_, _ = pipe.Exec(ctx) // each command's error is read below
	for i, t := range targets {
		msgs, err := after[i].Result()
		if err != nil && !redisconn.Missing(err) {
			return fmt.Errorf("read %s: %w", t.Stream, err)
		}
		if len(msgs) > 0 {
			return &claims.ImportConflictError{Stream: t.Stream, Existing: msgs[0].ID, Archived: t.First}
		}
	}
	for _, t := range targets {
		if err := s.rewind(ctx, t.Stream, t.First); err != nil {
			return err
		}
	}
	return nil
}

// importChunk writes entries to one stream in one MULTI/EXEC, so that no
// consumer sees half a chunk (and on a cluster it is one key's slot). It
// returns how many went in.
func (s *Store) importChunk(ctx context.Context, key string, chunk []claims.ArchiveEntry) (int64, error) {
	pipe := s.rdb.TxPipeline()
	cmds := make([]*redis.StringCmd, len(chunk))
	for i, e := range chunk {
		values := make([]any, len(e.Fields))
		for j, f := range e.Fields {
			values[j] = f
		}
		cmds[i] = pipe.XAdd(ctx, &redis.XAddArgs{Stream: key, ID: e.ID, Values: values})
	}
	_, err := pipe.Exec(ctx)
	var done int64
	for i, c := range cmds {
		if c.Err() != nil {
			return done, fmt.Errorf("entry %s: %w", chunk[i].ID, c.Err())
		}
		done++
	}
	return done, err
}

// rewind makes room for ids at and after first in a stream whose entries
// are all older: real Redis refuses an XADD id at or below the stream's
// last generated id even once the entries themselves were trimmed, so it
// is lowered with XSETID (allowed down to the newest remaining entry).
// The embedded server has no XSETID and compares only with the newest
// remaining entry, so there is nothing to do there.
func (s *Store) rewind(ctx context.Context, stream, first string) error {
	info, err := s.rdb.XInfoStream(ctx, stream).Result()
	if err != nil {
		if redisconn.Missing(err) {
			return nil
		}
		return fmt.Errorf("read %s before import: %w", stream, err)
	}
	if info.LastGeneratedID == "" || claims.CompareIDs(info.LastGeneratedID, first) < 0 {
		return nil
	}
	err = s.rdb.Do(ctx, "XSETID", stream, claims.PrevID(first)).Err()
	switch {
	case err == nil:
		return nil
	case redisconn.Classify(err) == redisconn.KindUnsupported:
		return nil
	case redisconn.StreamTopError(err):
		return &claims.ImportConflictError{Stream: stream, Existing: info.LastGeneratedID, Archived: first, Trimmed: true}
	}
	return fmt.Errorf("lower the last id of %s with XSETID: %w", stream, err)
}
