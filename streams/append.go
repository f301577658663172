package streams

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"claimsctl/streams/claims"
	"claimsctl/streams/redisconn"
	"claimsctl/streams/scripts"
)

// EmitOptions tune one append.
type EmitOptions struct {
	// ExpectedVersion, when not nil, must equal the claim's version or the
	// append fails with a *ConflictError. Nil means "the version the
	// command saw": on a conflict the claim is read again and the command
	// checked again once.
	ExpectedVersion *int64
	// Actor is who caused the event (default Options.Actor).
	Actor string
	// EventID is a caller-chosen idempotency key (default a new uuid): a
	// retried append with the same id returns the first append's event
	// instead of writing a second one, even when the caller cannot tell
	// whether its first attempt landed.
	EventID string
}

// derivedClaims names the claims of submissions whose caller chose the
// event_id but not the claim id, so a retried submit finds its claim.
var derivedClaims = uuid.NewSHA1(uuid.NameSpaceURL, []byte("claimsctl:submit"))

// Emit validates and appends one event to a claim: it checks the payload
// schema and the state machine in Go against the claim's state, then
// appends through the version-checking script, and returns the event and
// the claim after it, whole, as Claim would. A claim this process wrote or
// read last is checked against the state it holds, so the command is one
// round trip; a claim it does not hold is read first. Someone else (a
// worker, another process) may have moved a held claim on: a refusal of
// the held state, or the script's version conflict, reads the claim again
// and checks the command once more, so a command is only ever refused by
// the claim as it is. Nothing is written when it fails. claimID may be a
// unique prefix of at least 8 characters, as printed.
func (s *Store) Emit(ctx context.Context, claimID string, t claims.EventType, data map[string]any, opts EmitOptions) (claims.Event, *claims.Claim, error) {
	if t == claims.ClaimSubmitted {
		return submit(ctx, s, claimID, data, opts)
	}
	what := claims.Verb(t) + " " + claims.Short(claimID)
	fail := func(err error) (claims.Event, *claims.Claim, error) {
		return claims.Event{}, nil, fmt.Errorf("%s: %w", what, err)
	}
	if strings.TrimSpace(claimID) == "" {
		return fail(&claims.ValidationError{Type: t, Field: "claim_id", Rule: "must not be empty"})
	}
	claim, cached, err := stateOf(ctx, s, claimID)
	if err != nil {
		return fail(err)
	}
	claimID = claim.ID
	if opts.EventID != "" {
		if prev, ok, err := usedEventID(ctx, s, claimID, t, opts); err != nil || ok {
			if err != nil {
				return fail(err)
			}
			c, err := readClaim(ctx, s, claimID)
			return prev, c, err
		}
	}
	// readAgain replaces the claim with what it is now.
	readAgain := func() error {
		s.recent.forget(claimID)
		cached = false
		claim, err = readClaim(ctx, s, claimID)
		return err
	}
	for conflicts := 0; ; {
		ev, next, err := check(s, claim, t, data, opts)
		if err != nil && cached {
			// The held state may be behind (a worker assigned the claim
			// since this process submitted it): refuse only what the
			// claim as it is now refuses.
			if err := readAgain(); err != nil {
				return fail(err)
			}
			continue
		}
		if err != nil {
			return fail(err)
		}
		if t == claims.PaymentInitiated {
			if err := reservePayment(ctx, s, claimID, ev.String("payment_id")); err != nil {
				return fail(err)
			}
		}
		id, err := appendEvent(ctx, s, ev, next, opts.EventID != "")
		var conflict *claims.ConflictError
		if errors.As(err, &conflict) && opts.ExpectedVersion == nil && conflicts == 0 {
			// Someone else changed the claim between the check and the
			// append: read it again and check the command against what it
			// is now.
			conflicts++
			if err := readAgain(); err != nil {
				return fail(err)
			}
			continue
		}
		if err != nil {
			s.recent.forget(claimID)
			return fail(err)
		}
		ev.ID = id
		next.Entries = append(append([]string(nil), claim.Entries...), id)
		s.recent.put(next)
		return ev, next, nil
	}
}

// check is prepare after the checks of the claim's version: the caller's
// expected version, and that the claim exists.
func check(s *Store, claim *claims.Claim, t claims.EventType, data map[string]any, opts EmitOptions) (claims.Event, *claims.Claim, error) {
	if opts.ExpectedVersion != nil && *opts.ExpectedVersion != claim.Version {
		return claims.Event{}, nil, &claims.ConflictError{ClaimID: claim.ID, Expected: *opts.ExpectedVersion, Actual: claim.Version}
	}
	if claim.Version == 0 {
		return claims.Event{}, nil, fmt.Errorf("claim %s has no events (submit it first): %w", claim.ID, claims.ErrNotFound)
	}
	return prepare(s, claim, t, data, opts)
}

// reservePayment records paymentID as claimID's in claims:payments before
// the payment is appended, and refuses an id another claim holds. The
// index is one key (one slot on a cluster), so it cannot be written in the
// claim's append script; HSETNX reserves first, and a reservation is never
// given back: a payment refused by the script, lost with its connection or
// cut short by a kill leaves the id reserved for this claim, which can
// still use it, and no two claims can ever pay with one id.
func reservePayment(ctx context.Context, s *Store, claimID, paymentID string) error {
	key := s.keys.Payments()
	pipe := s.rdb.Pipeline()
	pipe.HSetNX(ctx, key, paymentID, claimID)
	owner := pipe.HGet(ctx, key, paymentID)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("reserve payment id %s: %w", claims.Quote(paymentID), err)
	}
	if owner.Val() == claimID {
		return nil
	}
	rule := fmt.Sprintf("must be unique: %s is already the payment of claim %s", claims.Quote(paymentID), claims.Short(owner.Val()))
	paid, err := s.rdb.HGet(ctx, s.keys.Aggregate(owner.Val()), "payment").Result()
	if err != nil && redisconn.Classify(err) != redisconn.KindNil {
		return fmt.Errorf("read claim %s's payment: %w", claims.Short(owner.Val()), err)
	}
	if paid != paymentID {
		rule = fmt.Sprintf("must be unique: %s is reserved by claim %s, whose payment with it did not go through; choose another", claims.Quote(paymentID), claims.Short(owner.Val()))
	}
	return &claims.ValidationError{Type: claims.PaymentInitiated, Field: "payment_id", Rule: rule}
}

// submit appends claim.submitted for a new claim: one round trip, since a
// new id has nothing to read (an id that exists is refused by the script).
func submit(ctx context.Context, s *Store, claimID string, data map[string]any, opts EmitOptions) (claims.Event, *claims.Claim, error) {
	what := "submit"
	fail := func(err error) (claims.Event, *claims.Claim, error) {
		return claims.Event{}, nil, fmt.Errorf("%s: %w", what, err)
	}
	switch {
	case claimID != "":
		// Checked before it is named, so a hostile id never reaches a message.
		if err := claims.ValidClaimID(claimID); err != nil {
			return fail(err)
		}
		what += " " + claims.Short(claimID)
	case opts.EventID != "":
		claimID = uuid.NewSHA1(derivedClaims, []byte(opts.EventID)).String()
	default:
		claimID = s.opts.NewID()
	}
	if opts.EventID != "" {
		prev, ok, err := usedEventID(ctx, s, claimID, claims.ClaimSubmitted, opts)
		if err != nil {
			return fail(err)
		}
		if ok {
			c, err := readClaim(ctx, s, claimID)
			return prev, c, err
		}
	}
	ev, next, err := prepare(s, &claims.Claim{ID: claimID}, claims.ClaimSubmitted, data, opts)
	if err != nil {
		return fail(err)
	}
	id, err := appendEvent(ctx, s, ev, next, opts.EventID != "")
	var conflict *claims.ConflictError
	if errors.As(err, &conflict) {
		// The id is taken: say so as the state machine does.
		if c, rerr := readState(ctx, s, claimID); rerr == nil && c.Version > 0 {
			if terr := c.CheckTransition(claims.ClaimSubmitted, data); terr != nil {
				return fail(terr)
			}
		}
		return fail(err)
	}
	if err != nil {
		return fail(err)
	}
	ev.ID = id
	next.Entries = []string{id}
	s.recent.put(next)
	return ev, next, nil
}

// prepare checks a command against the claim and builds its event and the
// claim's state after it.
func prepare(s *Store, claim *claims.Claim, t claims.EventType, data map[string]any, opts EmitOptions) (claims.Event, *claims.Claim, error) {
	if _, named := data["payment_id"]; t == claims.PaymentInitiated && !named {
		// Named by the store's id source, so a seeded run's repeat too.
		data = maps.Clone(data)
		if data == nil {
			data = map[string]any{}
		}
		data["payment_id"] = claims.PaymentID(s.opts.NewID())
	}
	data = claim.Defaults(t, data)
	now := s.Now()
	// The status first: "claim is submitted; claim.payment.initiated needs
	// an approved claim" explains more than the defaulted amount 0 failing
	// the schema.
	if err := claim.CheckTransition(t, data); errors.Is(err, claims.ErrInvalidTransition) {
		return claims.Event{}, nil, err
	}
	if err := claims.ValidateData(t, data, now); err != nil {
		return claims.Event{}, nil, err
	}
	if err := claim.CheckTransition(t, data); err != nil {
		return claims.Event{}, nil, err
	}
	if err := claims.ValidActor(opts.Actor); err != nil {
		return claims.Event{}, nil, err
	}
	ev := claims.Event{
		Type: t, ClaimID: claim.ID, Version: claim.Version + 1,
		EventID: opts.EventID, OccurredAt: now, Actor: opts.Actor,
	}
	if ev.EventID == "" {
		ev.EventID = s.opts.NewID()
	}
	if ev.Actor == "" {
		ev.Actor = s.opts.Actor
	}
	// The payload as a reader decodes it (float64 numbers), whichever Go
	// types the caller used.
	var err error
	if ev.Data, err = claims.Normalize(data); err != nil {
		return claims.Event{}, nil, err
	}
	next := *claim
	next.Entries = nil
	if err := next.Apply(ev); err != nil {
		return claims.Event{}, nil, err
	}
	return ev, &next, nil
}

// appendEvent runs append.lua; record keeps a caller-chosen event_id in the
// event-id index.
func appendEvent(ctx context.Context, s *Store, ev claims.Event, next *claims.Claim, record bool) (string, error) {
	fields, err := ev.Fields()
	if err != nil {
		return "", err
	}
	pk := s.keys.ForClaim(ev.ClaimID)
	call := scripts.AppendCall{
		Stream: pk.Events(), Aggregate: pk.Aggregate(ev.ClaimID), EventIDs: pk.EventIDs(),
		ClaimID: ev.ClaimID, Expected: ev.Version - 1, EventID: ev.EventID, Record: record, At: s.EntryAt(ev.OccurredAt),
		State: aggregateState(next), Fields: fields,
	}
	if err := ensureLayout(ctx, s); err != nil {
		return "", err
	}
	var cmd []any // the one EVALSHA, unless the append waits for replicas
	if s.opts.Durable <= 0 {
		cmd = call.Command(scripts.Append)
	}
	var reply scripts.Reply
	err = retry(ctx, s, func() error {
		var v any
		var err error
		if cmd != nil {
			v, err = evalCommand(ctx, s, cmd)
		} else {
			keys, args := call.KeysAndArgs()
			v, err = evalDurable(ctx, s, scripts.Append, keys, args...)
		}
		if err == nil {
			reply, err = scripts.ParseReply("append", v)
		}
		return err
	})
	if err != nil {
		return "", fmt.Errorf("append to %s: %w", pk.Events(), err)
	}
	switch reply.Status {
	case "ok", "duplicate":
		return reply.Detail, nil
	case "conflict":
		actual, _ := strconv.ParseInt(reply.Detail, 10, 64)
		return "", &claims.ConflictError{ClaimID: ev.ClaimID, Expected: ev.Version - 1, Actual: actual}
	}
	return "", fmt.Errorf("append to %s: unexpected script reply %v", pk.Events(), reply)
}

// usedEventID looks a caller-chosen event_id up in the event-id index.
// A retry of an append that landed gets that event back (ok true); an id
// used for another event or claim is refused. An unknown id, or one whose
// claim moved past the expected version (the check after reports the
// conflict), lets the append go ahead.
func usedEventID(ctx context.Context, s *Store, claimID string, t claims.EventType, opts EmitOptions) (claims.Event, bool, error) {
	// Every partition's index: an id is one event, whichever claim.
	cmds := make([]*redis.StringCmd, s.keys.Partitions())
	err := retry(ctx, s, func() error {
		pipe := s.rdb.Pipeline()
		for p, pk := range s.keys.All() {
			cmds[p] = pipe.HGet(ctx, pk.EventIDs(), opts.EventID)
		}
		if _, err := pipe.Exec(ctx); err != nil && redisconn.Classify(err) != redisconn.KindNil {
			return err
		}
		return nil
	})
	if err != nil {
		return claims.Event{}, false, fmt.Errorf("look up event_id %s: %w", opts.EventID, err)
	}
	raw := ""
	for _, c := range cmds {
		if v := c.Val(); v != "" {
			raw = v
		}
	}
	if raw == "" {
		return claims.Event{}, false, nil
	}
	usedBy, entry, _ := strings.Cut(raw, " ")
	prev, err := entryEvent(ctx, s, usedBy, entry)
	if err != nil {
		return claims.Event{}, false, fmt.Errorf("look up event_id %s: %w", opts.EventID, err)
	}
	switch {
	case usedBy == claimID && prev.Type == t:
		return prev, true, nil
	case usedBy == claimID && opts.ExpectedVersion != nil:
		return claims.Event{}, false, nil
	}
	return claims.Event{}, false, &claims.ValidationError{Type: t, Field: "event_id", Rule: fmt.Sprintf("%q was already used for %s of claim %s", opts.EventID, prev.Type, usedBy)}
}

// entryEvent reads back one event of a claim by its entry id.
func entryEvent(ctx context.Context, s *Store, claimID, id string) (claims.Event, error) {
	stream := s.keys.ForClaim(claimID).Events()
	var msgs []redis.XMessage
	err := retry(ctx, s, func() (err error) {
		msgs, err = s.rdb.XRange(ctx, stream, id, id).Result()
		return err
	})
	if err != nil {
		return claims.Event{}, err
	}
	if len(msgs) == 0 {
		return claims.Event{}, fmt.Errorf("entry %s was trimmed from %s", id, stream)
	}
	return claims.DecodeEvent(msgs[0].ID, msgs[0].Values)
}

// retry runs op again while Redis is unavailable (connection lost, timeout,
// server loading, a failover) for up to Options.RetryFor, with backoff;
// replies are not retried.
func retry(ctx context.Context, s *Store, op func() error) error {
	const maxBackoff = time.Second
	backoff := 50 * time.Millisecond
	deadline := time.Now().Add(s.opts.RetryFor)
	for {
		err := op()
		if err == nil || !redisconn.Transient(err) || time.Now().Add(backoff).After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
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

// Data is the submission as the payload of claim.submitted.
func (sub Submission) Data() map[string]any {
	return map[string]any{
		"customer_id": sub.CustomerID, "policy_id": sub.PolicyID, "amount": sub.Amount,
		"claim_type": sub.ClaimType, "incident_date": sub.IncidentDate, "description": sub.Description,
	}
}

// Submit appends claim.submitted for a new claim.
func (s *Store) Submit(ctx context.Context, sub Submission, opts EmitOptions) (claims.Event, *claims.Claim, error) {
	return s.Emit(ctx, sub.ClaimID, claims.ClaimSubmitted, sub.Data(), opts)
}
