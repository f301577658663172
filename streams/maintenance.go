package streams

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"claimsctl/streams/claims"

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
	if _, err := pipe.Exec(ctx); err != nil && !missing(err) {
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
		} else if !missing(err) {
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
		} else if !missing(err) {
			return nil, fmt.Errorf("memory usage of %s: %w", key, err)
		}
		out = append(out, d)
	}
	return out, nil
}

func summarize(m redis.XMessage) *EntrySummary {
	e := &EntrySummary{ID: m.ID}
	e.Type, _ = m.Values[claims.FieldType].(string)
	if at, ok := m.Values[claims.FieldOccurredAt].(string); ok {
		if t, err := time.Parse(time.RFC3339Nano, at); err == nil {
			e.OccurredAt = t.UTC()
		}
	}
	return e
}

// PlanTrim works out what a trim would remove and which groups would lose
// pending or unread entries. It writes nothing.
func (s *Store) PlanTrim(ctx context.Context, opts claims.TrimOptions) (*claims.TrimPlan, error) {
	if opts.Stream == "" {
		opts.Stream = s.keys.Events()
	}
	key := opts.Stream
	if opts.Before != "" && !strings.Contains(opts.Before, "-") {
		opts.Before += "-0" // a bare millisecond is the first id in it
	}
	switch {
	case opts.MaxLen == nil && opts.Before == "":
		return nil, fmt.Errorf("trim %s: give a maxlen or a before bound: %w", key, claims.ErrInvalid)
	case opts.MaxLen != nil && opts.Before != "":
		return nil, fmt.Errorf("trim %s: give maxlen or before, not both: %w", key, claims.ErrInvalid)
	case opts.MaxLen != nil && *opts.MaxLen < 0:
		return nil, fmt.Errorf("trim %s: maxlen must be 0 or more, got %d: %w", key, *opts.MaxLen, claims.ErrInvalid)
	case opts.Before != "" && !claims.ValidStreamID(opts.Before):
		return nil, fmt.Errorf("trim %s: before %q is not a stream id like 1795597353284-0: %w", key, opts.Before, claims.ErrInvalid)
	}
	length, err := s.rdb.XLen(ctx, key).Result()
	if err != nil && !missing(err) {
		return nil, fmt.Errorf("trim %s: %w", key, err)
	}
	plan := &claims.TrimPlan{Stream: key, Options: opts, Length: length}
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
func (s *Store) groupRisks(ctx context.Context, key string, entries []claims.ArchiveEntry) ([]claims.GroupRisk, error) {
	groups, err := s.rdb.XInfoGroups(ctx, key).Result()
	if err != nil && !missing(err) {
		return nil, fmt.Errorf("groups: %w", err)
	}
	sort.Slice(groups, func(a, b int) bool { return groups[a].Name < groups[b].Name })
	ids := make([]string, len(entries))
	for i, e := range entries {
		ids[i] = e.ID
	}
	out := make([]claims.GroupRisk, 0, len(groups))
	for _, g := range groups {
		var pending []string
		if g.Pending > 0 && len(ids) > 0 {
			pe, err := s.rdb.XPendingExt(ctx, &redis.XPendingExtArgs{
				Stream: key, Group: g.Name, Start: ids[0], End: ids[len(ids)-1], Count: g.Pending,
			}).Result()
			if err != nil && !missing(err) {
				return nil, fmt.Errorf("pending of %s: %w", g.Name, err)
			}
			for _, p := range pe {
				pending = append(pending, p.ID)
			}
		}
		out = append(out, claims.AssessGroup(g.Name, g.LastDeliveredID, ids, pending))
	}
	return out, nil
}

// TrimExec is how a planned trim is carried out.
type TrimExec struct {
	// Force removes entries some group still has pending or unread.
	Force bool
	// Archive, when set, is called with the entries before anything is
	// removed; if it fails, nothing is removed.
	Archive func([]claims.ArchiveEntry) error
}

// Trim carries out a plan: it refuses (ErrTrimRefused) when a group would
// lose pending or unread entries unless Force, archives, then removes
// exactly the planned entries with XTRIM MINID. It returns how many went.
func (s *Store) Trim(ctx context.Context, plan *claims.TrimPlan, exec TrimExec) (int64, error) {
	if plan.Count() == 0 {
		return 0, nil
	}
	if risk := plan.AtRisk(); len(risk) > 0 && !exec.Force {
		return 0, &claims.TrimRefusedError{Stream: plan.Stream, Count: plan.Count(), Groups: risk}
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
func (s *Store) rangeEntries(ctx context.Context, key, start, end string, limit int64) ([]claims.ArchiveEntry, error) {
	var out []claims.ArchiveEntry
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

// Import adds archived entries to stream ("" means claims:events) with
// their original ids. It refuses, writing nothing, when the stream already
// has an entry at or after the first of them. It returns how many went in.
func (s *Store) Import(ctx context.Context, stream string, entries []claims.ArchiveEntry) (int, error) {
	if stream == "" {
		stream = s.keys.Events()
	}
	if len(entries) == 0 {
		return 0, nil
	}
	if err := claims.CheckArchiveOrder(entries); err != nil {
		return 0, fmt.Errorf("import into %s: %w", stream, err)
	}
	first := entries[0].ID
	after, err := s.rdb.XRangeN(ctx, stream, first, "+", 1).Result()
	if err != nil && !missing(err) {
		return 0, fmt.Errorf("import into %s: %w", stream, err)
	}
	if len(after) > 0 {
		return 0, fmt.Errorf("import into %s: %w", stream, &claims.ImportConflictError{Stream: stream, Existing: after[0].ID, Archived: first})
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
		if missing(err) {
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
	case classify(err) == errUnsupported:
		return nil
	case streamTopError(err):
		return &claims.ImportConflictError{Stream: stream, Existing: info.LastGeneratedID, Archived: first, Trimmed: true}
	}
	return fmt.Errorf("lower the last id of %s with XSETID: %w", stream, err)
}
