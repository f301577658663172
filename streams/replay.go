package streams

import (
	"context"
	"errors"
	"fmt"
	"time"

	"claimsctl/streams/claims"
	"claimsctl/streams/redisconn"

	"github.com/redis/go-redis/v9"
)

// ReplayOptions select events of claims:events. Bounds are inclusive.
type ReplayOptions struct {
	FromID, ToID     string           // stream ids; "" means the start / the end
	FromTime, ToTime time.Time        // business time (occurred_at); zero means open
	Type             claims.EventType // only this type, if set
	ClaimID          string           // only this claim, if set
	PageSize         int64            // XRANGE COUNT per round trip (default 2000)
}

// defaultReplayPage is how many entries one XRANGE of a replay reads:
// large pages keep a long replay close to the speed of the stream itself.
const defaultReplayPage = 2000

// Replay calls fn for each matching entry in stream order, reading the
// stream in pages with XRANGE. It applies the integrity rule as workers
// do: entries that are malformed or that the store did not write reach fn
// with Err set.
// Time bounds filter on occurred_at, the business time of the event, so
// "what happened before X" is exact whatever the server's clock said.
func (s *Store) Replay(ctx context.Context, opts ReplayOptions, fn func(Delivery) error) error {
	if opts.Type != "" && !opts.Type.Known() {
		return fmt.Errorf("replay: type %q is not an event type (want one of %s): %w", opts.Type, claims.JoinTypes(), claims.ErrInvalid)
	}
	if opts.ClaimID != "" {
		return replayClaim(ctx, s, opts, fn)
	}
	size := opts.PageSize
	if size <= 0 {
		size = defaultReplayPage
	}
	start, end := opts.FromID, opts.ToID
	if start == "" {
		start = "-"
	}
	if end == "" {
		end = "+"
	}
	// One reader goroutine per partition reads, decodes and vets its next
	// pages while fn takes this one; the partitions are merged in entry id
	// order, so a replay reads as one stream would.
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	streams := s.keys.EventStreams()
	readers := make([]*pageReader, len(streams))
	for i, stream := range streams {
		readers[i] = readPages(rctx, s, stream, start, end, size)
	}
	for {
		var next *pageReader
		for _, r := range readers {
			ok, err := r.ready()
			if err != nil {
				return err
			}
			if ok && (next == nil || claims.CompareIDs(r.head().ID, next.head().ID) < 0) {
				next = r
			}
		}
		if next == nil {
			return ctx.Err()
		}
		d := next.pop()
		if !opts.match(d) {
			continue
		}
		if err := fn(d); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("replay: %w", err)
		}
	}
}

// pageReader reads one stream a page ahead, decoded and vetted.
type pageReader struct {
	pages chan page
	cur   []Delivery
	done  bool
}

type page struct {
	ds  []Delivery
	err error
}

func readPages(ctx context.Context, s *Store, stream, start, end string, size int64) *pageReader {
	r := &pageReader{pages: make(chan page, 2)}
	// Two stages, so that reading and parsing the next page (go-redis
	// builds a map per entry) overlaps decoding and vetting this one (a
	// round trip for the claims' aggregates). Only the second stage sends
	// on r.pages, and closes it.
	type fetched struct {
		msgs []redis.XMessage
		err  error
	}
	raw := make(chan fetched, 2)
	go func() {
		defer close(raw)
		for {
			msgs, err := s.rdb.XRangeN(ctx, stream, start, end, size).Result()
			if err != nil && redisconn.Missing(err) {
				err = nil
			}
			select {
			case raw <- fetched{msgs, err}:
			case <-ctx.Done():
				return
			}
			if err != nil || int64(len(msgs)) < size {
				return
			}
			start = "(" + msgs[len(msgs)-1].ID
		}
	}()
	go func() {
		defer close(r.pages)
		for f := range raw {
			var p page
			if f.err == nil {
				p.ds = make([]Delivery, len(f.msgs))
				for i, m := range f.msgs {
					p.ds[i] = decode(stream, m)
				}
				f.err = vetAll(ctx, s, p.ds)
			}
			if f.err != nil {
				p = page{err: fmt.Errorf("replay %s: %w", stream, f.err)}
			}
			select {
			case r.pages <- p:
			case <-ctx.Done():
				return
			}
			if p.err != nil {
				return
			}
		}
	}()
	return r
}

// ready waits for the reader's next entry; false when it has none left.
func (r *pageReader) ready() (bool, error) {
	for len(r.cur) == 0 && !r.done {
		p, ok := <-r.pages
		if !ok {
			r.done = true
			break
		}
		if p.err != nil {
			return false, p.err
		}
		r.cur = p.ds
	}
	return len(r.cur) > 0, nil
}

func (r *pageReader) head() Delivery { return r.cur[0] }

func (r *pageReader) pop() Delivery {
	d := r.cur[0]
	r.cur = r.cur[1:]
	return d
}

func (o ReplayOptions) match(d Delivery) bool {
	if d.Err != nil {
		return o.Type == "" && o.ClaimID == "" && o.FromTime.IsZero() && o.ToTime.IsZero()
	}
	e := d.Event
	if o.Type != "" && e.Type != o.Type {
		return false
	}
	if o.ClaimID != "" && e.ClaimID != o.ClaimID {
		return false
	}
	if !o.FromTime.IsZero() && e.OccurredAt.Before(o.FromTime) {
		return false
	}
	if !o.ToTime.IsZero() && e.OccurredAt.After(o.ToTime) {
		return false
	}
	return true
}

// replayClaim reads one claim's entries by id (the aggregate lists them)
// instead of scanning the whole stream.
func replayClaim(ctx context.Context, s *Store, opts ReplayOptions, fn func(Delivery) error) error {
	events, err := s.History(ctx, opts.ClaimID)
	if err != nil {
		return err
	}
	for _, e := range events {
		if opts.FromID != "" && opts.FromID != "-" && claims.CompareIDs(e.ID, opts.FromID) < 0 {
			continue
		}
		if opts.ToID != "" && opts.ToID != "+" && claims.CompareIDs(e.ID, opts.ToID) > 0 {
			continue
		}
		d := Delivery{Stream: s.keys.ForClaim(e.ClaimID).Events(), ID: e.ID, Event: e}
		if !opts.match(d) {
			continue
		}
		if err := fn(d); err != nil {
			return err
		}
	}
	return nil
}

// History returns a claim's events in order (one pipelined XRANGE per
// entry id), or ErrNotFound. claimID may be a unique prefix.
func (s *Store) History(ctx context.Context, claimID string) ([]claims.Event, error) {
	_, events, err := history(ctx, s, claimID)
	return events, err
}

// errTrimmed marks a history whose first events were trimmed; its text
// ends the message, so it says what to do.
var errTrimmed = errors.New("a trim archive of it, if one was written (trim{archive=}), can be imported back")

// history reads a claim's aggregate and its events. When some were
// trimmed it returns the aggregate and an error wrapping errTrimmed.
func history(ctx context.Context, s *Store, claimID string) (*claims.Claim, []claims.Event, error) {
	c, err := currentState(ctx, s, claimID)
	if err != nil {
		return nil, nil, fmt.Errorf("history: %w", err)
	}
	if c.Version == 0 {
		return nil, nil, fmt.Errorf("claim %s: %w", claimID, claims.ErrNotFound)
	}
	events, err := eventsOf(ctx, s, c)
	return c, events, err
}

// eventsOf reads the events an aggregate lists, one pipelined XRANGE per
// entry id. When some were trimmed it returns an error wrapping errTrimmed.
func eventsOf(ctx context.Context, s *Store, c *claims.Claim) ([]claims.Event, error) {
	claimID := c.ID
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.XMessageSliceCmd, len(c.Entries))
	for i, id := range c.Entries {
		cmds[i] = pipe.XRange(ctx, s.keys.ForClaim(claimID).Events(), id, id)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("history of %s: %w", claimID, err)
	}
	events := make([]claims.Event, 0, len(cmds))
	for i, cmd := range cmds {
		msgs := cmd.Val()
		if len(msgs) == 0 {
			return nil, fmt.Errorf("the events of claim %s: entry %s (v%d) was trimmed from %s: %w", claimID, c.Entries[i], i+1, s.keys.ForClaim(claimID).Events(), errTrimmed)
		}
		e, err := claims.DecodeEvent(msgs[0].ID, msgs[0].Values)
		if err != nil {
			return nil, fmt.Errorf("history of %s: %w", claimID, err)
		}
		events = append(events, e)
	}
	return events, nil
}

// ClaimAt is a temporal query: the claim as it stood at time at, folded
// from the events that had occurred by then. ErrNotFound if none had.
func (s *Store) ClaimAt(ctx context.Context, claimID string, at time.Time) (*claims.Claim, error) {
	events, err := s.History(ctx, claimID)
	if err != nil {
		return nil, err
	}
	var upTo []claims.Event
	for _, e := range events {
		if !e.OccurredAt.After(at) {
			upTo = append(upTo, e)
		}
	}
	if len(upTo) == 0 {
		return nil, fmt.Errorf("claim %s did not exist yet at %s: %w", claimID, at.UTC().Format(time.RFC3339), claims.ErrNotFound)
	}
	return claims.Fold(upTo)
}

// ClaimAtVersion is the claim as it stood after its first version events:
// exact even when several events share a millisecond.
func (s *Store) ClaimAtVersion(ctx context.Context, claimID string, version int64) (*claims.Claim, error) {
	events, err := s.History(ctx, claimID)
	if err != nil {
		return nil, err
	}
	if version < 1 || version > int64(len(events)) {
		return nil, fmt.Errorf("claim %s has versions 1 to %d, not %d: %w", claimID, len(events), version, claims.ErrNotFound)
	}
	return claims.Fold(events[:version])
}
