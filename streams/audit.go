package streams

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"claimsctl/streams/claims"
)

// Auditor is the audit group's worker: an append-only compliance trail per
// claim, claims:audit:<claim_id>, a list with a JSON line per event in
// version order. A list, not a stream: Redis gives every stream a 4 KB
// node however few its entries, which for a trail of a handful of lines
// per claim was three quarters of the keyspace's memory.
type Auditor struct{ s *Store }

// NewAuditor returns the audit worker's handler.
func (s *Store) NewAuditor() *Auditor { return &Auditor{s: s} }

// Group is audit.
func (a *Auditor) Group() string { return GroupAudit }

// Label names the worker in the log.
func (a *Auditor) Label() string { return "audit" }

// Needs nothing: audit.lua reads the trail it appends to.
func (a *Auditor) Needs([]Delivery) []Read { return nil }

// Decide appends each event to its claim's trail in version order, once (a
// dead letter handed back by retry_dlq is the same version again).
func (a *Auditor) Decide(_ context.Context, batch []Delivery, _ *Snapshot) []Decision {
	out := make([]Decision, len(batch))
	recorded := a.s.now().Format(claims.TimeLayout)
	for i, d := range batch {
		e := d.Event
		line, err := json.Marshal(auditLine{At: e.OccurredAt.UTC().Format(claims.TimeLayout), Actor: e.Actor, Type: string(e.Type),
			Version: e.Version, EntryID: e.ID, EventID: e.EventID, Detail: claims.DescribeEvent(e), RecordedAt: recorded})
		if err != nil {
			out[i] = Decision{Err: err}
			continue
		}
		eff := auditCall{Trail: a.s.keys.Audit(e.ClaimID), Version: e.Version, Line: string(line)}.effect()
		out[i] = Decision{Effects: []Effect{eff}, Explain: func(r []Reply) (string, error) {
			switch r[0].Status {
			case "skip":
				return "already in the trail (recorded up to v" + r[0].Detail + ")", nil
			case "gap":
				return "", fmt.Errorf("audit %s v%d of %s: recorded up to v%s: %w", e.Type, e.Version, claims.Short(e.ClaimID), r[0].Detail, claims.ErrOutOfOrder)
			}
			return fmt.Sprintf("recorded v%d by %s in %s", e.Version, e.Actor, claims.Short(e.ClaimID)+"'s trail"), nil
		}}
	}
	return out
}

// auditLine is a trail's line as stored: self-contained, so the record
// stays when old events are trimmed from the stream.
type auditLine struct {
	Version    int64  `json:"version"`
	Type       string `json:"type"`
	Actor      string `json:"actor"`
	At         string `json:"at"`
	EntryID    string `json:"entry_id"`
	EventID    string `json:"event_id"`
	Detail     string `json:"detail"`
	RecordedAt string `json:"recorded_at"`
}

// AuditRecord is one line of a claim's audit trail.
type AuditRecord struct {
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
	lines, err := s.rdb.LRange(ctx, s.keys.Audit(claimID), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("audit trail of %s: %w", claimID, err)
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("audit trail of %s: %w", claimID, claims.ErrNotFound)
	}
	out := make([]AuditRecord, 0, len(lines))
	for i, raw := range lines {
		var l auditLine
		if err := json.Unmarshal([]byte(raw), &l); err != nil {
			return nil, fmt.Errorf("audit trail of %s: line %d is not a trail line: %w", claimID, i+1, err)
		}
		r := AuditRecord{Actor: l.Actor, Type: claims.EventType(l.Type), Version: l.Version,
			EntryID: l.EntryID, EventID: l.EventID, Detail: l.Detail}
		r.At, _ = time.Parse(time.RFC3339Nano, l.At)
		r.RecordedAt, _ = time.Parse(time.RFC3339Nano, l.RecordedAt)
		out = append(out, r)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}
