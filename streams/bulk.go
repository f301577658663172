package streams

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"claimsctl/streams/claims"
	"claimsctl/streams/redisconn"
	"claimsctl/streams/scripts"
)

// DefaultChunk is how many submissions one call of a bulk submit appends.
const DefaultChunk = 100

// bulkWriters is how many chunks are on their way at once: one is being
// encoded while Redis appends another.
const bulkWriters = 2

// writers is how many goroutines a bulk submission prepares and sends on:
// one in a seeded run, whose clock and ids must be read in order.
func writers(s *Store) int {
	if s.opts.Seeded != nil {
		return 1
	}
	return bulkWriters
}

// BulkOptions tune SubmitMany.
type BulkOptions struct {
	// Chunk is how many claims one script call appends (default 100).
	Chunk int
	// Actor is who submits them (default Options.Actor).
	Actor string
	// Progress, if set, is told how many claims are appended so far.
	Progress func(done, total int)
}

// BulkResult says what SubmitMany appended.
type BulkResult struct {
	Submitted int      // claims appended
	ClaimIDs  []string // their ids, in the order given
	EntryIDs  []string // their claim.submitted entries, in the same order
}

// BulkError names the submission a bulk submit refused, by its index
// (1-based, as Lua counts).
type BulkError struct {
	Index int
	Err   error
}

func (e *BulkError) Error() string {
	return fmt.Sprintf("submission %d: %v", e.Index, e.Err)
}

func (e *BulkError) Unwrap() error { return e.Err }

// NewClaim is one submission of a bulk submit: the claim.submitted
// payload and, optionally, the claim id ("" gives a new uuid).
type NewClaim struct {
	ClaimID string
	Data    map[string]any
}

// NewClaim is the submission as a bulk submit takes it.
func (sub Submission) NewClaim() NewClaim { return NewClaim{ClaimID: sub.ClaimID, Data: sub.Data()} }

// SubmitMany appends claim.submitted for many new claims. Every submission
// is checked first, exactly as Submit checks one; if any is invalid,
// nothing is written and the error names its index and field. Then they
// are appended in chunks, one script call per chunk (the append of
// Submit, so versions, ids and the event-id check are the same), with two
// chunks on their way at once. A claim id that exists already is refused
// by the script and reported; the others are appended.
func (s *Store) SubmitMany(ctx context.Context, subs []NewClaim, o BulkOptions) (BulkResult, error) {
	if o.Chunk <= 0 {
		o.Chunk = DefaultChunk
	}
	events, states, err := prepareMany(s, subs, EmitOptions{Actor: o.Actor})
	if err != nil {
		return BulkResult{}, err
	}
	if err := ensureLayout(ctx, s); err != nil {
		return BulkResult{}, err
	}
	res := BulkResult{ClaimIDs: make([]string, len(subs)), EntryIDs: make([]string, len(subs))}
	for i, ev := range events {
		res.ClaimIDs[i] = ev.ClaimID
	}
	type chunk struct{ from, to int }
	work := make(chan chunk)
	var (
		mu       sync.Mutex
		errs     []error
		done     int
		wg       sync.WaitGroup
		fatal    error
		stopOnce sync.Once
	)
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range writers(s) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range work {
				effects := make([]scripts.Effect, 0, c.to-c.from)
				for i := c.from; i < c.to; i++ {
					e, err := appendEffect(s, events[i], states[i], false)
					if err != nil {
						stopOnce.Do(func() { fatal = &BulkError{Index: i + 1, Err: err}; cancel() })
						return
					}
					effects = append(effects, e)
				}
				replies, perr, err := appendEach(cctx, s, effects)
				mu.Lock()
				for j, r := range replies {
					i := c.from + j
					switch {
					case err != nil && (perr[j] == nil || redisconn.Transient(perr[j])) && r.Status == "":
						// Not sent, or its node still down: the chunk's
						// error says why.
					case perr[j] != nil:
						errs = append(errs, &BulkError{Index: i + 1, Err: perr[j]})
					case r.Status == "ok" || r.Status == "duplicate":
						res.EntryIDs[i] = r.Detail
						res.Submitted++
					default:
						actual, _ := strconv.ParseInt(r.Detail, 10, 64)
						errs = append(errs, &BulkError{Index: i + 1, Err: fmt.Errorf("claim %s exists already (at version %d): %w", events[i].ClaimID, actual, claims.ErrConflict)})
					}
				}
				done += c.to - c.from
				if o.Progress != nil {
					o.Progress(done, len(subs))
				}
				mu.Unlock()
				if err != nil {
					stopOnce.Do(func() { fatal = err; cancel() })
					return
				}
			}
		}()
	}
feed:
	for from := 0; from < len(subs); from += o.Chunk {
		select {
		case work <- chunk{from, min(from+o.Chunk, len(subs))}:
		case <-cctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if fatal == nil && ctx.Err() != nil {
		fatal = ctx.Err()
	}
	if fatal != nil {
		return res, fmt.Errorf("submit many: %d of %d appended: %w", res.Submitted, len(subs), fatal)
	}
	for i := range res.ClaimIDs {
		if res.EntryIDs[i] != "" {
			states[i].Entries = []string{res.EntryIDs[i]}
			s.recent.put(states[i])
		}
	}
	if len(errs) > 0 {
		return res, fmt.Errorf("submit many: %d of %d appended: %w", res.Submitted, len(subs), errors.Join(errs...))
	}
	return res, nil
}

// appendEach runs a chunk's appends, sending again (for up to
// Options.RetryFor) only those that failed because their node was
// unavailable: in a failover, the appends to the partitions of healthy
// masters go in at once, and are not sent a second time, when a retry
// after the processor has assigned the claim would be refused as a
// conflict.
func appendEach(ctx context.Context, s *Store, effects []scripts.Effect) ([]scripts.Reply, []error, error) {
	replies := make([]scripts.Reply, len(effects))
	errs := make([]error, len(effects))
	todo := make([]int, len(effects))
	for i := range todo {
		todo[i] = i
	}
	err := retry(ctx, s, func() error {
		batch := make([]scripts.Effect, len(todo))
		for j, i := range todo {
			batch[j] = effects[i]
		}
		got, gotErrs, err := s.RunAll(ctx, nil, batch)
		if err != nil && got == nil {
			return err
		}
		var again []int
		for j, i := range todo {
			replies[i], errs[i] = got[j], gotErrs[j]
			if redisconn.Transient(gotErrs[j]) {
				again = append(again, i)
			}
		}
		todo = again
		if len(todo) > 0 {
			return errs[todo[0]]
		}
		return nil
	})
	return replies, errs, err
}

// prepareMany checks every submission, as Submit checks one, on as many
// goroutines as there are writers (it is half of a bulk submit's work),
// and reports the first invalid one by index.
func prepareMany(s *Store, subs []NewClaim, opts EmitOptions) ([]claims.Event, []*claims.Claim, error) {
	events := make([]claims.Event, len(subs))
	states := make([]*claims.Claim, len(subs))
	ids := make([]string, len(subs))
	seen := make(map[string]int, len(subs))
	for i, sub := range subs {
		id := sub.ClaimID
		if id == "" {
			id = s.opts.NewID()
		} else if err := claims.ValidClaimID(id); err != nil {
			return nil, nil, &BulkError{Index: i + 1, Err: err}
		}
		if first, dup := seen[id]; dup {
			return nil, nil, &BulkError{Index: i + 1, Err: fmt.Errorf("claim id %s is also submission %d's: %w", id, first, claims.ErrInvalid)}
		}
		seen[id] = i + 1
		ids[i] = id
	}
	errs := make([]error, len(subs))
	var wg sync.WaitGroup
	per := (len(subs) + writers(s) - 1) / writers(s)
	for from := 0; from < len(subs); from += per {
		to := min(from+per, len(subs))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := from; i < to; i++ {
				events[i], states[i], errs[i] = prepare(s, &claims.Claim{ID: ids[i]}, claims.ClaimSubmitted, subs[i].Data, opts)
				if errs[i] != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, nil, &BulkError{Index: i + 1, Err: err}
		}
	}
	return events, states, nil
}

// appendEffect is the append of one event as an operation of batch.lua.
func appendEffect(s *Store, ev claims.Event, next *claims.Claim, record bool) (scripts.Effect, error) {
	fields, err := ev.Fields()
	if err != nil {
		return scripts.Effect{}, err
	}
	pk := s.keys.ForClaim(ev.ClaimID)
	return scripts.AppendCall{
		Stream: pk.Events(), Aggregate: pk.Aggregate(ev.ClaimID), EventIDs: pk.EventIDs(),
		ClaimID: ev.ClaimID, Expected: ev.Version - 1, EventID: ev.EventID, Record: record, At: s.EntryAt(ev.OccurredAt),
		State: aggregateState(next), Fields: fields,
	}.Effect(), nil
}
