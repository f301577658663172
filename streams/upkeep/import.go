package upkeep

import (
	"claimsctl/streams"
	"claimsctl/streams/claims"
	"claimsctl/streams/redisconn"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/redis/go-redis/v9"
)

// Importing an archive back (lab step 11).

// importChunk is how many XADDs of an import go in one MULTI/EXEC.
const importChunk = 1000

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
func Import(ctx context.Context, store *streams.Store, archive io.ReadSeeker, opts ImportOptions) (ImportResult, error) {
	s := keeperOf(store)
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
func (s keeper) planImport(archive io.Reader, stream string) (*importPlan, error) {
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
func (s keeper) eventTarget(e claims.ArchiveEntry) string {
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
func (s keeper) makeRoom(ctx context.Context, targets []*ImportTarget) error {
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
func (s keeper) importChunk(ctx context.Context, key string, chunk []claims.ArchiveEntry) (int64, error) {
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
func (s keeper) rewind(ctx context.Context, stream, first string) error {
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
