package streams

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Stream maintenance (lab step 11): what each stream holds and costs,
// trimming with a plan first and an archive, and importing archives back.

// trimPageSize is how many entries one XRANGE of the trim planner reads.
const trimPageSize = 1000

// importChunk is how many XADDs of an import go in one MULTI/EXEC.
const importChunk = 1000

// Named is the key of any stream name under the prefix, e.g.
// Named("claims:restored") for an import target.
func (k Keys) Named(name string) string { return k.Prefix + name }

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
	if _, err := pipe.Exec(ctx); err != nil && !missingKey(err) {
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
		} else if !missingKey(err) {
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
		} else if !missingKey(err) {
			return nil, fmt.Errorf("memory usage of %s: %w", key, err)
		}
		out = append(out, d)
	}
	return out, nil
}

func summarize(m redis.XMessage) *EntrySummary {
	e := &EntrySummary{ID: m.ID}
	e.Type, _ = m.Values[fieldType].(string)
	if at, ok := m.Values[fieldOccurredAt].(string); ok {
		if t, err := time.Parse(time.RFC3339Nano, at); err == nil {
			e.OccurredAt = t.UTC()
		}
	}
	return e
}

// ArchiveEntry is one stream entry exactly as stored: its id and its
// field/value pairs in their original order (an entry may repeat a field
// name, and go-redis's map would lose both the order and the repeat).
type ArchiveEntry struct {
	ID     string
	Fields []string // name, value, name, value ...
}

// Values is the entry as go-redis hands entries out (later repeats win).
func (e ArchiveEntry) Values() map[string]any {
	m := make(map[string]any, len(e.Fields)/2)
	for i := 0; i+1 < len(e.Fields); i += 2 {
		m[e.Fields[i]] = e.Fields[i+1]
	}
	return m
}

// TrimOptions choose what a trim removes: everything but the newest
// MaxLen entries, or every entry whose id is below Before.
type TrimOptions struct {
	// Stream is the key to trim ("" means claims:events).
	Stream string
	// MaxLen, when not nil, keeps the newest *MaxLen entries.
	MaxLen *int64
	// Before is a stream id; entries below it go. A time maps to
	// IDAt(time), the first id of that millisecond.
	Before string
}

// GroupRisk is what trimming would take from one consumer group: entries
// it holds pending (delivered, not acked) and entries it has not read yet.
type GroupRisk struct {
	Group   string
	Pending int64
	Unread  int64
}

// AtRisk reports whether the group would lose work to the trim.
func (g GroupRisk) AtRisk() bool { return g.Pending > 0 || g.Unread > 0 }

// TrimPlan is what a trim would do, computed before anything is removed.
type TrimPlan struct {
	Stream  string
	Options TrimOptions
	Length  int64          // the stream's length when planned
	Entries []ArchiveEntry // what would go, oldest first
	// FirstAt and LastAt are the occurred_at of the first and last entry
	// that would go (zero when those entries carry none).
	FirstAt, LastAt time.Time
	Groups          []GroupRisk // every group of the stream, by name
}

// Count is how many entries the trim would remove.
func (p *TrimPlan) Count() int { return len(p.Entries) }

// FirstID and LastID bound the entries that would go ("" when none).
func (p *TrimPlan) FirstID() string {
	if len(p.Entries) == 0 {
		return ""
	}
	return p.Entries[0].ID
}

// LastID is the newest entry that would go.
func (p *TrimPlan) LastID() string {
	if len(p.Entries) == 0 {
		return ""
	}
	return p.Entries[len(p.Entries)-1].ID
}

// MinID is the XTRIM MINID threshold that removes exactly the planned
// entries: the id right after the last of them. Trimming by it instead of
// by MAXLEN means an event appended between planning and trimming is never
// removed without having been archived and checked.
func (p *TrimPlan) MinID() string {
	if len(p.Entries) == 0 {
		return ""
	}
	return nextID(p.LastID())
}

// AtRisk lists the groups that still have pending or unread entries among
// those that would go.
func (p *TrimPlan) AtRisk() []GroupRisk {
	var out []GroupRisk
	for _, g := range p.Groups {
		if g.AtRisk() {
			out = append(out, g)
		}
	}
	return out
}

// Warnings are one sentence per group at risk.
func (p *TrimPlan) Warnings() []string {
	var out []string
	for _, g := range p.AtRisk() {
		out = append(out, fmt.Sprintf("group %s still has %s of the %d entries to remove",
			g.Group, riskWords(g), p.Count()))
	}
	return out
}

func riskWords(g GroupRisk) string {
	var parts []string
	if g.Pending > 0 {
		parts = append(parts, fmt.Sprintf("%d pending (delivered, not acked)", g.Pending))
	}
	if g.Unread > 0 {
		parts = append(parts, fmt.Sprintf("%d unread", g.Unread))
	}
	return strings.Join(parts, " and ")
}

// Describe is the plan in words, one line each, as a dry run prints it.
func (p *TrimPlan) Describe() string {
	var b strings.Builder
	what := "entries below " + p.Options.Before
	if keep := p.Options.MaxLen; keep != nil {
		switch *keep {
		case 0:
			what = "every entry"
		case 1:
			what = "all but the newest entry"
		default:
			what = fmt.Sprintf("all but the newest %d entries", *keep)
		}
	}
	if p.Count() == 0 {
		fmt.Fprintf(&b, "trim %s (%s): nothing to remove (%d entries)\n", p.Stream, what, p.Length)
		return b.String()
	}
	fmt.Fprintf(&b, "trim %s (%s): %d of %d entries would go, %d stay\n", p.Stream, what, p.Count(), p.Length, p.Length-int64(p.Count()))
	fmt.Fprintf(&b, "  ids %s .. %s", p.FirstID(), p.LastID())
	if !p.FirstAt.IsZero() && !p.LastAt.IsZero() {
		fmt.Fprintf(&b, ", occurred %s .. %s", p.FirstAt.Format(timeLayout), p.LastAt.Format(timeLayout))
	}
	b.WriteString("\n")
	for _, w := range p.Warnings() {
		fmt.Fprintf(&b, "  warning: %s\n", w)
	}
	return b.String()
}

// ErrTrimRefused is a confirmed trim that would take entries some group
// still has pending or has not read, without Force.
var ErrTrimRefused = errors.New("trim refused")

// TrimRefusedError names the groups that would lose work.
type TrimRefusedError struct {
	Stream string
	Count  int
	Groups []GroupRisk
}

func (e *TrimRefusedError) Error() string {
	parts := make([]string, len(e.Groups))
	for i, g := range e.Groups {
		parts[i] = fmt.Sprintf("group %s still has %s", g.Group, riskWords(g))
	}
	return fmt.Sprintf("trim %s refused: %s of the %d entries to remove; consume and ack them first, or trim with force=true (nothing removed)",
		e.Stream, strings.Join(parts, "; "), e.Count)
}

// Unwrap makes the refusal an ErrTrimRefused.
func (e *TrimRefusedError) Unwrap() error { return ErrTrimRefused }

// CompareIDs orders two stream ids numerically (-1, 0, 1).
func CompareIDs(a, b string) int { return compareIDs(a, b) }

// IDAt is the first stream id of the millisecond of t: entries below it
// were added before t (by the server's clock).
func IDAt(t time.Time) string { return fmt.Sprintf("%d-0", t.UnixMilli()) }

// PlanTrim works out what a trim would remove and which groups would lose
// pending or unread entries. It writes nothing.
func (s *Store) PlanTrim(ctx context.Context, opts TrimOptions) (*TrimPlan, error) {
	if opts.Stream == "" {
		opts.Stream = s.keys.Events()
	}
	key := opts.Stream
	if opts.Before != "" && !strings.Contains(opts.Before, "-") {
		opts.Before += "-0" // a bare millisecond is the first id in it
	}
	switch {
	case opts.MaxLen == nil && opts.Before == "":
		return nil, fmt.Errorf("trim %s: give a maxlen or a before bound: %w", key, ErrInvalid)
	case opts.MaxLen != nil && opts.Before != "":
		return nil, fmt.Errorf("trim %s: give maxlen or before, not both: %w", key, ErrInvalid)
	case opts.MaxLen != nil && *opts.MaxLen < 0:
		return nil, fmt.Errorf("trim %s: maxlen must be 0 or more, got %d: %w", key, *opts.MaxLen, ErrInvalid)
	case opts.Before != "" && !validStreamID(opts.Before):
		return nil, fmt.Errorf("trim %s: before %q is not a stream id like 1795597353284-0: %w", key, opts.Before, ErrInvalid)
	}
	length, err := s.rdb.XLen(ctx, key).Result()
	if err != nil && !missingKey(err) {
		return nil, fmt.Errorf("trim %s: %w", key, err)
	}
	plan := &TrimPlan{Stream: key, Options: opts, Length: length}
	var limit int64 = math.MaxInt64
	end := "+"
	if opts.MaxLen != nil {
		limit = max(length-*opts.MaxLen, 0)
	} else {
		end = "(" + opts.Before
	}
	if plan.Entries, err = s.rangeEntries(ctx, key, "-", end, limit); err != nil {
		return nil, fmt.Errorf("trim %s: %w", key, err)
	}
	if n := len(plan.Entries); n > 0 {
		plan.FirstAt = summarize(redis.XMessage{ID: plan.Entries[0].ID, Values: plan.Entries[0].Values()}).OccurredAt
		plan.LastAt = summarize(redis.XMessage{ID: plan.Entries[n-1].ID, Values: plan.Entries[n-1].Values()}).OccurredAt
	}
	if plan.Groups, err = s.groupRisks(ctx, key, plan.Entries); err != nil {
		return nil, fmt.Errorf("trim %s: %w", key, err)
	}
	return plan, nil
}

// groupRisks asks each group of the stream which of the entries it holds
// pending (XPENDING over their range) and compares its last-delivered-id.
func (s *Store) groupRisks(ctx context.Context, key string, entries []ArchiveEntry) ([]GroupRisk, error) {
	groups, err := s.rdb.XInfoGroups(ctx, key).Result()
	if err != nil && !missingKey(err) {
		return nil, fmt.Errorf("groups: %w", err)
	}
	sort.Slice(groups, func(a, b int) bool { return groups[a].Name < groups[b].Name })
	ids := make([]string, len(entries))
	for i, e := range entries {
		ids[i] = e.ID
	}
	out := make([]GroupRisk, 0, len(groups))
	for _, g := range groups {
		var pending []string
		if g.Pending > 0 && len(ids) > 0 {
			pe, err := s.rdb.XPendingExt(ctx, &redis.XPendingExtArgs{
				Stream: key, Group: g.Name, Start: ids[0], End: ids[len(ids)-1], Count: g.Pending,
			}).Result()
			if err != nil && !missingKey(err) {
				return nil, fmt.Errorf("pending of %s: %w", g.Name, err)
			}
			for _, p := range pe {
				pending = append(pending, p.ID)
			}
		}
		out = append(out, assessGroup(g.Name, g.LastDeliveredID, ids, pending))
	}
	return out, nil
}

// assessGroup counts, among ids (the entries to remove, ascending), those
// the group holds pending and those past its last-delivered-id (never
// handed to any of its consumers).
func assessGroup(name, lastDelivered string, ids, pending []string) GroupRisk {
	r := GroupRisk{Group: name}
	planned := make(map[string]bool, len(ids))
	for _, id := range ids {
		planned[id] = true
		if lastDelivered == "" || compareIDs(id, lastDelivered) > 0 {
			r.Unread++
		}
	}
	for _, id := range pending {
		// A pending id no longer in the stream (trimmed before) is not
		// taken by this trim: it is gone already.
		if planned[id] {
			r.Pending++
		}
	}
	return r
}

// TrimExec is how a planned trim is carried out.
type TrimExec struct {
	// Force removes entries some group still has pending or unread.
	Force bool
	// Archive, when set, is called with the entries before anything is
	// removed; if it fails, nothing is removed.
	Archive func([]ArchiveEntry) error
}

// Trim carries out a plan: it refuses (ErrTrimRefused) when a group would
// lose pending or unread entries unless Force, archives, then removes
// exactly the planned entries with XTRIM MINID. It returns how many went.
func (s *Store) Trim(ctx context.Context, plan *TrimPlan, exec TrimExec) (int64, error) {
	if plan.Count() == 0 {
		return 0, nil
	}
	if risk := plan.AtRisk(); len(risk) > 0 && !exec.Force {
		return 0, &TrimRefusedError{Stream: plan.Stream, Count: plan.Count(), Groups: risk}
	}
	if exec.Archive != nil {
		if err := exec.Archive(plan.Entries); err != nil {
			return 0, fmt.Errorf("trim %s: archive failed, nothing removed: %w", plan.Stream, err)
		}
	}
	// MINID is exact (no "~") on both servers; real Redis would trim a
	// "~" only by whole radix-tree nodes, the embedded server exactly.
	n, err := s.rdb.XTrimMinID(ctx, plan.Stream, plan.MinID()).Result()
	if err != nil {
		return 0, fmt.Errorf("trim %s: %w", plan.Stream, err)
	}
	return n, nil
}

// rangeEntries reads entries from start to end (XRANGE bounds) with their
// fields in stored order, at most limit of them, in pages.
func (s *Store) rangeEntries(ctx context.Context, key, start, end string, limit int64) ([]ArchiveEntry, error) {
	var out []ArchiveEntry
	for int64(len(out)) < limit {
		page := min(int64(trimPageSize), limit-int64(len(out)))
		// A raw XRANGE keeps each entry's field order (go-redis's XMessage
		// is a map), so an archive holds exactly what the stream held.
		raw, err := s.rdb.Do(ctx, "XRANGE", key, start, end, "COUNT", page).Slice()
		if err != nil {
			if errors.Is(err, redis.Nil) {
				return out, nil
			}
			return nil, fmt.Errorf("read %s: %w", key, err)
		}
		for _, item := range raw {
			e, err := rawEntry(item)
			if err != nil {
				return nil, fmt.Errorf("read %s: %w", key, err)
			}
			out = append(out, e)
		}
		if int64(len(raw)) < page {
			return out, nil
		}
		start = "(" + out[len(out)-1].ID
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func rawEntry(item any) (ArchiveEntry, error) {
	pair, ok := item.([]any)
	if !ok || len(pair) != 2 {
		return ArchiveEntry{}, fmt.Errorf("unexpected XRANGE item %v", item)
	}
	id, ok := pair[0].(string)
	if !ok {
		return ArchiveEntry{}, fmt.Errorf("unexpected XRANGE id %v", pair[0])
	}
	e := ArchiveEntry{ID: id}
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
		return ArchiveEntry{}, fmt.Errorf("unexpected fields of %s: %v", id, pair[1])
	}
	return e, nil
}

// ImportConflictError is an import whose target stream already has an
// entry at or after the first archived one: XADD only appends, so the
// archived ids cannot go back in there.
type ImportConflictError struct {
	Stream   string
	Existing string // the target's entry (or last generated id) in the way
	Archived string // the first archived id
	Trimmed  bool   // Existing is a last-generated-id, no longer an entry
}

func (e *ImportConflictError) Error() string {
	if e.Trimmed {
		return fmt.Sprintf("%s has already handed out ids up to %s, at or after the archived %s, and cannot be rewound", e.Stream, e.Existing, e.Archived)
	}
	return fmt.Sprintf("%s already has entry %s at or after the archived %s: entries only append, so the archive cannot go back in with its original ids", e.Stream, e.Existing, e.Archived)
}

// Import adds archived entries to stream ("" means claims:events) with
// their original ids. It refuses, writing nothing, when the stream already
// has an entry at or after the first of them. It returns how many went in.
func (s *Store) Import(ctx context.Context, stream string, entries []ArchiveEntry) (int, error) {
	if stream == "" {
		stream = s.keys.Events()
	}
	if len(entries) == 0 {
		return 0, nil
	}
	if err := checkArchiveOrder(entries); err != nil {
		return 0, fmt.Errorf("import into %s: %w", stream, err)
	}
	first := entries[0].ID
	after, err := s.rdb.XRangeN(ctx, stream, first, "+", 1).Result()
	if err != nil && !missingKey(err) {
		return 0, fmt.Errorf("import into %s: %w", stream, err)
	}
	if len(after) > 0 {
		return 0, fmt.Errorf("import into %s: %w", stream, &ImportConflictError{Stream: stream, Existing: after[0].ID, Archived: first})
	}
	if err := s.rewind(ctx, stream, first); err != nil {
		return 0, fmt.Errorf("import into %s: %w", stream, err)
	}
	done := 0
	for start := 0; start < len(entries); start += importChunk {
		chunk := entries[start:min(start+importChunk, len(entries))]
		// MULTI/EXEC so that no consumer sees half a chunk.
		pipe := s.rdb.TxPipeline()
		cmds := make([]*redis.StringCmd, len(chunk))
		for i, e := range chunk {
			values := make([]any, len(e.Fields))
			for j, f := range e.Fields {
				values[j] = f
			}
			cmds[i] = pipe.XAdd(ctx, &redis.XAddArgs{Stream: stream, ID: e.ID, Values: values})
		}
		_, err := pipe.Exec(ctx)
		for i, c := range cmds {
			if c.Err() != nil {
				return done, fmt.Errorf("import into %s: entry %s: %d of %d imported: %w", stream, chunk[i].ID, done, len(entries), c.Err())
			}
			done++
		}
		if err != nil {
			return done, fmt.Errorf("import into %s: %d of %d imported: %w", stream, done, len(entries), err)
		}
	}
	return done, nil
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
		if missingKey(err) {
			return nil
		}
		return fmt.Errorf("read %s before import: %w", stream, err)
	}
	if info.LastGeneratedID == "" || compareIDs(info.LastGeneratedID, first) < 0 {
		return nil
	}
	err = s.rdb.Do(ctx, "XSETID", stream, prevID(first)).Err()
	switch {
	case err == nil:
		return nil
	case strings.Contains(strings.ToLower(err.Error()), "unknown command"):
		return nil
	case strings.Contains(strings.ToLower(err.Error()), "smaller than the target stream top item"):
		return &ImportConflictError{Stream: stream, Existing: info.LastGeneratedID, Archived: first, Trimmed: true}
	}
	return fmt.Errorf("lower the last id of %s with XSETID: %w", stream, err)
}

func checkArchiveOrder(entries []ArchiveEntry) error {
	for i, e := range entries {
		if !validStreamID(e.ID) || !strings.Contains(e.ID, "-") || e.ID == "0-0" {
			return fmt.Errorf("entry %d: %q is not a stream id like 1795597353284-0: %w", i+1, e.ID, ErrInvalid)
		}
		if len(e.Fields) == 0 || len(e.Fields)%2 != 0 {
			return fmt.Errorf("entry %s: needs field/value pairs: %w", e.ID, ErrInvalid)
		}
		if i > 0 && compareIDs(entries[i-1].ID, e.ID) >= 0 {
			return fmt.Errorf("entry %s does not come after %s: ids must ascend: %w", e.ID, entries[i-1].ID, ErrInvalid)
		}
	}
	return nil
}

// nextID is the smallest stream id above id.
func nextID(id string) string {
	ms, seq := splitID(id)
	if seq == math.MaxUint64 {
		return strconv.FormatUint(ms+1, 10) + "-0"
	}
	return strconv.FormatUint(ms, 10) + "-" + strconv.FormatUint(seq+1, 10)
}

// prevID is the largest stream id below id ("0-0" for the smallest).
func prevID(id string) string {
	ms, seq := splitID(id)
	switch {
	case seq > 0:
		return strconv.FormatUint(ms, 10) + "-" + strconv.FormatUint(seq-1, 10)
	case ms > 0:
		return strconv.FormatUint(ms-1, 10) + "-" + strconv.FormatUint(math.MaxUint64, 10)
	}
	return "0-0"
}
