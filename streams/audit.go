package streams

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"

	"claimsctl/streams/claims"
)

// Auditor is the audit group's worker: an append-only compliance trail per
// claim, one stream claims:audit:<claim_id> with a line per event.
type Auditor struct{ s *Store }

// NewAuditor returns the audit worker's handler.
func (s *Store) NewAuditor() *Auditor { return &Auditor{s: s} }

// Group is audit.
func (a *Auditor) Group() string { return GroupAudit }

// Label names the worker in the log.
func (a *Auditor) Label() string { return "audit" }

// Needs nothing: audit.lua reads the trail it appends to.
func (a *Auditor) Needs([]Delivery) []Read { return nil }

// Decide appends each event to its claim's trail in version order, once (an
// event put back from the DLQ is the same version under a new entry id).
func (a *Auditor) Decide(_ context.Context, batch []Delivery, _ *Snapshot) []Decision {
	out := make([]Decision, len(batch))
	recorded := a.s.now().Format(claims.TimeLayout)
	for i, d := range batch {
		e := d.Event
		eff := auditCall{Trail: a.s.keys.Audit(e.ClaimID), Version: e.Version, Fields: []any{
			"at", e.OccurredAt.UTC().Format(claims.TimeLayout),
			"actor", e.Actor,
			"type", string(e.Type),
			"version", strconv.FormatInt(e.Version, 10),
			"entry_id", d.ID,
			"event_id", e.EventID,
			"detail", claims.DescribeEvent(e),
			"recorded_at", recorded,
		}}.effect()
		out[i] = Decision{Effects: []Effect{eff}, Explain: func(r []Reply) (string, error) {
			switch r[0].Status {
			case "skip":
				return "already in the trail (recorded up to v" + r[0].Detail + ")", nil
			case "gap":
				return "", fmt.Errorf("audit %s v%d of %s: recorded up to v%s: %w", e.Type, e.Version, claims.Short(e.ClaimID), r[0].Detail, claims.ErrOutOfOrder)
			}
			return fmt.Sprintf("recorded v%d by %s as %s", e.Version, e.Actor, r[0].Detail), nil
		}}
	}
	return out
}

// AuditRecord is one line of a claim's audit trail.
type AuditRecord struct {
	ID         string    // id in the trail stream
	At         time.Time // when the event occurred
	Actor      string
	Type       claims.EventType
	Version    int64
	EntryID    string // the event's entry in claims:events
	EventID    string
	Detail     string // what happened, in words
	RecordedAt time.Time
}

// AuditTrail reads a claim's audit trail in version order (two audit
// consumers may have recorded a claim's events out of order), or
// ErrNotFound if there is none.
func (s *Store) AuditTrail(ctx context.Context, claimID string) ([]AuditRecord, error) {
	msgs, err := s.rdb.XRange(ctx, s.keys.Audit(claimID), "-", "+").Result()
	if err != nil {
		return nil, fmt.Errorf("audit trail of %s: %w", claimID, err)
	}
	if len(msgs) == 0 {
		return nil, fmt.Errorf("audit trail of %s: %w", claimID, claims.ErrNotFound)
	}
	out := make([]AuditRecord, 0, len(msgs))
	for _, m := range msgs {
		str := func(k string) string { v, _ := m.Values[k].(string); return v }
		r := AuditRecord{ID: m.ID, Actor: str("actor"), Type: claims.EventType(str("type")),
			EntryID: str("entry_id"), EventID: str("event_id"), Detail: str("detail")}
		r.Version, _ = strconv.ParseInt(str("version"), 10, 64)
		r.At, _ = time.Parse(time.RFC3339Nano, str("at"))
		r.RecordedAt, _ = time.Parse(time.RFC3339Nano, str("recorded_at"))
		out = append(out, r)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}
