package streams

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"claimsctl/streams/claims"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

// EmitOptions tune one append.
type EmitOptions struct {
	// ExpectedVersion, when not nil, must equal the claim's version or the
	// append fails with a *ConflictError. Nil means "the version just read".
	ExpectedVersion *int64
	// Actor is who caused the event (default Options.Actor).
	Actor string
	// EventID is the idempotency key (default a new uuid).
	EventID string
}

// Emit validates and appends one event to a claim: it reads the claim,
// checks the payload schema and the state machine in Go, then appends
// through the version-checking script. Nothing is written when it fails.
func (s *Store) Emit(ctx context.Context, claimID string, t claims.EventType, data map[string]any, opts EmitOptions) (claims.Event, *claims.Claim, error) {
	what := claims.Verb(t) + " " + claims.Short(claimID)
	newClaim := false
	if t == claims.ClaimSubmitted && claimID == "" {
		// A new claim gets its id here; errors name no id nobody asked for.
		what, claimID, newClaim = claims.Verb(t), uuid.NewString(), true
	}
	fail := func(err error) (claims.Event, *claims.Claim, error) {
		return claims.Event{}, nil, fmt.Errorf("%s: %w", what, err)
	}
	if strings.TrimSpace(claimID) == "" {
		return fail(&claims.ValidationError{Type: t, Field: "claim_id", Rule: "must not be empty"})
	}
	// The claim and, for a caller-chosen event_id, whether that id was
	// appended already: one round trip.
	claim, appendedAs, err := s.readForEmit(ctx, claimID, opts.EventID)
	if err != nil {
		return fail(err)
	}
	if appendedAs != "" {
		// A caller retrying an append whose first attempt did land must get
		// that event back, not a conflict or a transition its own first
		// attempt made impossible.
		prev, err := s.appendedEvent(ctx, opts.EventID, appendedAs)
		if err != nil {
			return fail(err)
		}
		switch {
		case prev.Type == t && (prev.ClaimID == claimID || newClaim):
			if prev.ClaimID != claimID {
				if claim, err = s.aggregate(ctx, prev.ClaimID); err != nil {
					return fail(err)
				}
			}
			return prev, claim, nil
		case prev.ClaimID == claimID && opts.ExpectedVersion != nil:
			// Another event under this id moved the claim past the expected
			// version: the check below reports the conflict ("already decided").
		default:
			return fail(&claims.ValidationError{Type: t, Field: "event_id", Rule: fmt.Sprintf("%q was already used for %s of claim %s", opts.EventID, prev.Type, prev.ClaimID)})
		}
	}
	if opts.ExpectedVersion != nil && *opts.ExpectedVersion != claim.Version {
		return fail(&claims.ConflictError{ClaimID: claimID, Expected: *opts.ExpectedVersion, Actual: claim.Version})
	}
	if claim.Version == 0 && t != claims.ClaimSubmitted {
		return fail(fmt.Errorf("claim %s has no events (submit it first): %w", claimID, claims.ErrNotFound))
	}
	data = claim.Defaults(t, data)
	now := s.now()
	// The status first: "claim is submitted; claim.payment.initiated needs
	// an approved claim" explains more than the defaulted amount 0 failing
	// the schema.
	if err := claim.CheckTransition(t, data); errors.Is(err, claims.ErrInvalidTransition) {
		return fail(err)
	}
	if err := claims.ValidateData(t, data, now); err != nil {
		return fail(err)
	}
	if err := claim.CheckTransition(t, data); err != nil {
		return fail(err)
	}
	ev := claims.Event{
		Type: t, ClaimID: claimID, Version: claim.Version + 1,
		EventID: opts.EventID, OccurredAt: now, Actor: opts.Actor, Data: data,
	}
	if ev.EventID == "" {
		ev.EventID = uuid.NewString()
	}
	if ev.Actor == "" {
		ev.Actor = s.opts.Actor
	}
	// JSON round trip so the payload holds exactly what a reader decodes
	// (float64 numbers), whichever Go types the caller used.
	if ev.Data, err = claims.RoundTrip(data); err != nil {
		return fail(err)
	}
	next := *claim
	next.Entries = nil
	if err := next.Apply(ev); err != nil {
		return fail(err)
	}
	id, err := s.appendEvent(ctx, ev, &next)
	if err != nil {
		return fail(err)
	}
	ev.ID = id
	next.Entries = append(claim.Entries, id)
	return ev, &next, nil
}

func (s *Store) appendEvent(ctx context.Context, ev claims.Event, next *claims.Claim) (string, error) {
	fields, err := ev.Fields()
	if err != nil {
		return "", err
	}
	state, err := json.Marshal(next)
	if err != nil {
		return "", fmt.Errorf("encode claim state: %w", err)
	}
	reply, err := s.run(ctx, appendCall{
		Stream: s.keys.Events(), Aggregate: s.keys.Aggregate(ev.ClaimID), Dedup: s.keys.Dedup(ev.EventID),
		Expected: ev.Version - 1, State: string(state), DedupTTL: s.opts.DedupTTL, Fields: fields,
	}.effect())
	if err != nil {
		return "", fmt.Errorf("append to %s: %w", s.keys.Events(), err)
	}
	switch reply.Status {
	case "ok", "duplicate":
		return reply.Detail, nil
	case "conflict":
		actual, _ := strconv.ParseInt(reply.Detail, 10, 64)
		return "", &claims.ConflictError{ClaimID: ev.ClaimID, Expected: ev.Version - 1, Actual: actual}
	}
	return "", fmt.Errorf("append to %s: unexpected script reply %v", s.keys.Events(), reply)
}

// retry runs op again while Redis is unavailable (connection lost, timeout,
// server loading), with exponential backoff; replies are not retried.
func (s *Store) retry(ctx context.Context, op func() error) error {
	backoff := 50 * time.Millisecond
	var err error
	for attempt := 0; attempt <= s.opts.Retries; attempt++ {
		if err = op(); err == nil || !unavailable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(backoff):
		}
		backoff *= 2
	}
	return err
}

// aggregate reads the write side of a claim; an unknown id is a new claim.
func (s *Store) aggregate(ctx context.Context, claimID string) (*claims.Claim, error) {
	var fields map[string]string
	err := s.retry(ctx, func() error {
		var err error
		fields, err = s.rdb.HGetAll(ctx, s.keys.Aggregate(claimID)).Result()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read claim %s: %w", claimID, err)
	}
	return parseAggregate(claimID, fields)
}

// parseAggregate reads the hash the append script keeps; an empty one is
// a new claim.
func parseAggregate(claimID string, fields map[string]string) (*claims.Claim, error) {
	if len(fields) == 0 {
		return &claims.Claim{ID: claimID}, nil
	}
	c := &claims.Claim{}
	if err := json.Unmarshal([]byte(fields["state"]), c); err != nil {
		return nil, fmt.Errorf("read claim %s: state is not JSON (rebuild() restores it): %w", claimID, err)
	}
	version, err := strconv.ParseInt(fields["version"], 10, 64)
	if err != nil || version != c.Version {
		return nil, fmt.Errorf("read claim %s: version %q does not match its state v%d (rebuild() restores it)", claimID, fields["version"], c.Version)
	}
	c.Entries = nil
	if e := fields["entries"]; e != "" {
		c.Entries = strings.Split(e, ",")
	}
	return c, nil
}

// readForEmit reads a claim's aggregate and, when eventID is set, the
// entry id that event_id was appended as ("" if it never was), pipelined.
func (s *Store) readForEmit(ctx context.Context, claimID, eventID string) (*claims.Claim, string, error) {
	var (
		fields map[string]string
		dedup  string
	)
	err := s.retry(ctx, func() error {
		pipe := s.rdb.Pipeline()
		agg := pipe.HGetAll(ctx, s.keys.Aggregate(claimID))
		var seen *redis.StringCmd
		if eventID != "" {
			seen = pipe.Get(ctx, s.keys.Dedup(eventID))
		}
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return err
		}
		fields, dedup = agg.Val(), ""
		if seen != nil {
			dedup = seen.Val()
		}
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("read claim %s: %w", claimID, err)
	}
	c, err := parseAggregate(claimID, fields)
	return c, dedup, err
}

// appendedEvent reads back the event an event_id was appended as.
func (s *Store) appendedEvent(ctx context.Context, eventID, id string) (claims.Event, error) {
	msgs, err := s.rdb.XRange(ctx, s.keys.Events(), id, id).Result()
	if err != nil {
		return claims.Event{}, fmt.Errorf("look up event_id %s: %w", eventID, err)
	}
	if len(msgs) == 0 {
		return claims.Event{}, fmt.Errorf("event_id %s was appended as %s, which was trimmed from %s", eventID, id, s.keys.Events())
	}
	ev, err := claims.DecodeEvent(msgs[0].ID, msgs[0].Values)
	if err != nil {
		return claims.Event{}, fmt.Errorf("look up event_id %s: %w", eventID, err)
	}
	return ev, nil
}

// Claim returns a claim's current state, or ErrNotFound.
func (s *Store) Claim(ctx context.Context, claimID string) (*claims.Claim, error) {
	c, err := s.aggregate(ctx, claimID)
	if err != nil {
		return nil, err
	}
	if c.Version == 0 {
		return nil, fmt.Errorf("claim %s: %w", claimID, claims.ErrNotFound)
	}
	return c, nil
}

// Submission is a new claim as a customer files it.
type Submission struct {
	CustomerID   string
	PolicyID     string
	Amount       float64
	ClaimType    string
	IncidentDate string // YYYY-MM-DD
	Description  string
	ClaimID      string // optional; "" gives a new uuid
}

// Submit appends claim.submitted for a new claim.
func (s *Store) Submit(ctx context.Context, sub Submission, opts EmitOptions) (claims.Event, *claims.Claim, error) {
	data := map[string]any{
		"customer_id": sub.CustomerID, "policy_id": sub.PolicyID, "amount": sub.Amount,
		"claim_type": sub.ClaimType, "incident_date": sub.IncidentDate, "description": sub.Description,
	}
	return s.Emit(ctx, sub.ClaimID, claims.ClaimSubmitted, data, opts)
}
