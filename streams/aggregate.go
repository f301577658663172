package streams

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"claimsctl/streams/claims"
	"claimsctl/streams/redisconn"
	"claimsctl/streams/scripts"
)

// The aggregate of a claim (claims:aggregate:<id>) is its write side: what
// the commands check (version, status, claimed and approved amount,
// payment id) and the entry id of each of its events, kept by append.lua in
// the same step as the XADD. Everything else about a claim is folded from
// its events when asked for (Claim, History), and the recent-claims cache
// holds claims so folded, for the next command on them.

// aggregateState is the claim's state as the aggregate keeps it: the
// field/value pairs append.lua writes next to version and entries.
func aggregateState(c *claims.Claim) []any {
	num := func(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
	out := []any{"status", string(c.Status), "amount", num(c.Amount)}
	if c.ApprovedAmount != 0 {
		out = append(out, "approved", num(c.ApprovedAmount))
	}
	if c.PaymentID != "" {
		out = append(out, "payment", c.PaymentID)
	}
	return out
}

// FoldedAggregate is a claim folded from its events, for
// RestoreAggregates to write as its aggregate.
type FoldedAggregate struct {
	Claim     *claims.Claim // its id, version, state and entry ids
	LastEvent string        // the event_id of its last event
}

// RestoreAggregates writes each claim's aggregate (version, state, entry
// ids: what append.lua keeps) as folded from its events, through
// ops/rebuild.lua in one pipeline: the write of rebuild()
// (upkeep.Rebuild). An aggregate a command moved on since the fold read
// the stream is left alone; written says which were written.
func (s *Store) RestoreAggregates(ctx context.Context, folded []FoldedAggregate) (written []bool, err error) {
	effects := make([]scripts.Effect, len(folded))
	for i, f := range folded {
		effects[i] = scripts.RebuildCall{
			Aggregate: s.keys.Aggregate(f.Claim.ID), Version: f.Claim.Version, LastEvent: f.LastEvent,
			Entries: strings.Join(f.Claim.Entries, ","), State: aggregateState(f.Claim),
		}.Effect()
	}
	replies, errs, err := s.RunAll(ctx, nil, effects)
	if err != nil {
		return nil, fmt.Errorf("write aggregates: %w", err)
	}
	written = make([]bool, len(folded))
	for i, f := range folded {
		if errs[i] != nil {
			return nil, fmt.Errorf("aggregate of %s: %w", f.Claim.ID, errs[i])
		}
		written[i] = replies[i].Status == "ok"
	}
	return written, nil
}

// parseAggregate reads an aggregate hash; an empty one is a new claim.
func parseAggregate(claimID string, fields map[string]string) (*claims.Claim, error) {
	c := &claims.Claim{ID: claimID}
	if len(fields) == 0 {
		return c, nil
	}
	bad := func(field string) error {
		return fmt.Errorf("read claim %s: its aggregate's %s %q is unreadable (rebuild() restores it)", claimID, field, fields[field])
	}
	var err error
	if c.Version, err = strconv.ParseInt(fields["version"], 10, 64); err != nil || c.Version < 1 {
		return nil, bad("version")
	}
	c.Status = claims.Status(fields["status"])
	if c.Amount, err = strconv.ParseFloat(fields["amount"], 64); err != nil {
		return nil, bad("amount")
	}
	if v, ok := fields["approved"]; ok {
		if c.ApprovedAmount, err = strconv.ParseFloat(v, 64); err != nil {
			return nil, bad("approved")
		}
	}
	c.PaymentID = fields["payment"]
	if e := fields["entries"]; e != "" {
		c.Entries = strings.Split(e, ",")
	}
	if int64(len(c.Entries)) != c.Version {
		return nil, fmt.Errorf("read claim %s: its aggregate lists %d entries for version %d (rebuild() restores it)", claimID, len(c.Entries), c.Version)
	}
	return c, nil
}

// readState reads a claim's aggregate (a new claim has version 0).
func readState(ctx context.Context, s *Store, claimID string) (*claims.Claim, error) {
	var fields map[string]string
	err := retry(ctx, s, func() error {
		var err error
		fields, err = s.rdb.HGetAll(ctx, s.keys.Aggregate(claimID)).Result()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read claim %s: %w", claimID, err)
	}
	return parseAggregate(claimID, fields)
}

// stateOf is the claim a command starts from, and whether it came from the
// cache: the state this process last wrote or read, which a worker or
// another process may have moved on since (Emit then reads it again), or
// else the claim as it is now. An id that matches no claim is tried as a
// prefix (the 8 characters printed everywhere).
func stateOf(ctx context.Context, s *Store, claimID string) (*claims.Claim, bool, error) {
	if c := s.recent.get(claimID); c != nil {
		return c, true, nil
	}
	c, err := readClaim(ctx, s, claimID)
	return c, false, err
}

// readClaim reads a claim as it is now and as Claim returns it, folded
// from its events (a command checks it and returns it whole), and keeps it
// in the cache; a claim with no events comes back at version 0. id may be
// a unique prefix.
func readClaim(ctx context.Context, s *Store, claimID string) (*claims.Claim, error) {
	agg, err := currentState(ctx, s, claimID)
	if err != nil || agg.Version == 0 {
		return agg, err
	}
	events, err := eventsOf(ctx, s, agg)
	c := agg
	switch {
	case errors.Is(err, errTrimmed):
		c.Trimmed = true
	case err != nil:
		return nil, err
	default:
		if c, err = claims.Fold(events); err != nil {
			return nil, err
		}
	}
	s.recent.put(c)
	return c, nil
}

// currentState reads a claim's aggregate as it is now; an id that matches
// no claim is tried as a prefix.
func currentState(ctx context.Context, s *Store, claimID string) (*claims.Claim, error) {
	c, err := readState(ctx, s, claimID)
	if err != nil || c.Version > 0 {
		return c, err
	}
	full, err := s.ResolveClaimID(ctx, claimID)
	if err != nil || full == claimID {
		return c, err
	}
	return readState(ctx, s, full)
}

// minPrefix is the shortest claim-id prefix looked up: what is printed.
const minPrefix = 8

// ResolveClaimID turns a unique prefix of a claim id (at least 8
// characters) into the whole id. An id that is whole already, or matches
// nothing, comes back as it is (callers report "not found" in their own
// words); a prefix of several claims is an error listing them.
func (s *Store) ResolveClaimID(ctx context.Context, id string) (string, error) {
	if len(id) < minPrefix || claims.ValidClaimID(id) != nil {
		return id, nil
	}
	matches := s.recent.withPrefix(id)
	if len(matches) == 0 {
		keys, err := redisconn.ScanAll(ctx, s.rdb, s.keys.aggregatePattern(id))
		if err != nil {
			return "", fmt.Errorf("look up claim %s: %w", id, err)
		}
		for _, k := range keys {
			for _, pk := range s.keys.All() {
				if full, ok := strings.CutPrefix(k, pk.Aggregate("")); ok && strings.HasPrefix(full, id) {
					matches = append(matches, full)
				}
			}
		}
	}
	switch len(matches) {
	case 0:
		return id, nil
	case 1:
		return matches[0], nil
	}
	sort.Strings(matches)
	return "", fmt.Errorf("claim id %s is ambiguous, it starts %s: give more of it: %w", id, strings.Join(matches, ", "), claims.ErrInvalid)
}

// Claim returns a claim's current state, folded from its events, or
// ErrNotFound. id may be a unique prefix. A claim whose first events were
// trimmed comes back as its aggregate keeps it (version, status, amounts,
// payment), marked Trimmed.
func (s *Store) Claim(ctx context.Context, claimID string) (*claims.Claim, error) {
	c, err := readClaim(ctx, s, claimID)
	if err != nil {
		return nil, err
	}
	if c.Version == 0 {
		return nil, fmt.Errorf("claim %s: %w", claimID, claims.ErrNotFound)
	}
	return c, nil
}

// claimCache holds the claims this process wrote or read last, whole, so
// that the next command on one of them needs no read. Anyone else may have
// moved the claim since: the append script's version check catches that,
// and a command the cached state refuses is checked again against the
// claim read anew, so the cache only ever saves a read. It is bounded; the
// oldest half is dropped when it is full.
type claimCache struct {
	mu    sync.Mutex
	byID  map[string]*claims.Claim
	order []string
}

// maxCachedClaims bounds the claims a process remembers.
const maxCachedClaims = 10000

func newClaimCache() *claimCache { return &claimCache{byID: map[string]*claims.Claim{}} }

func (c *claimCache) get(id string) *claims.Claim {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl := c.byID[id]; cl != nil {
		cp := *cl
		return &cp
	}
	return nil
}

func (c *claimCache) put(cl *claims.Claim) {
	cp := *cl
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.byID[cl.ID]; !ok {
		if len(c.order) >= maxCachedClaims {
			for _, old := range c.order[:maxCachedClaims/2] {
				delete(c.byID, old)
			}
			c.order = append([]string(nil), c.order[maxCachedClaims/2:]...)
		}
		c.order = append(c.order, cl.ID)
	}
	c.byID[cl.ID] = &cp
}

func (c *claimCache) forget(id string) {
	c.mu.Lock()
	delete(c.byID, id) // its place in order is reclaimed at the next trim
	c.mu.Unlock()
}

func (c *claimCache) withPrefix(prefix string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for id := range c.byID {
		if strings.HasPrefix(id, prefix) {
			out = append(out, id)
		}
	}
	return out
}
