package upkeep

import (
	"claimsctl/streams"
	"claimsctl/streams/claims"
	"claimsctl/streams/redisconn"
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Trimming (lab step 11): a plan first, then an archive, then XTRIM.

// trimPageSize is how many entries one XRANGE of the trim planner reads.
const trimPageSize = 1000

// PlanTrim works out what a trim would remove and which groups would lose
// pending or unread entries, in one pass over those entries a page at a
// time, so its memory does not grow with the stream. Without a stream it
// plans the event stream of every partition; maxlen then keeps that many
// of each (XTRIM works on one stream). It writes nothing.
func PlanTrim(ctx context.Context, store *streams.Store, opts claims.TrimOptions) (*claims.TrimPlan, error) {
	s := keeperOf(store)
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
func (s keeper) planStream(ctx context.Context, key string, opts claims.TrimOptions) (*claims.StreamTrim, error) {
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
func (s keeper) countPending(ctx context.Context, key string, groups, ids []string, st *claims.StreamTrim) error {
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
func Trim(ctx context.Context, store *streams.Store, plan *claims.TrimPlan, exec TrimExec) (TrimResult, error) {
	s := keeperOf(store)
	res := TrimResult{Removed: make([]int64, len(plan.Streams))}
	if plan.Count() == 0 {
		return res, nil
	}
	name := plan.Name()
	if risk := plan.AtRisk(); len(risk) > 0 && !exec.Force {
		return res, &claims.TrimRefusedError{Streams: risk, Partitions: len(plan.Streams)}
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
func (s keeper) archive(ctx context.Context, plan *claims.TrimPlan, exec TrimExec) (int64, error) {
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
func (s keeper) archiveName(key string) string { return strings.TrimPrefix(key, s.keys.Prefix) }

// scanEntries reads entries from start to end (XRANGE bounds) with their
// fields in stored order, at most limit of them, and hands them to fn a
// page at a time.
func (s keeper) scanEntries(ctx context.Context, key, start, end string, limit int64, fn func([]claims.ArchiveEntry) error) error {
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
