package streams

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"claimsctl/streams/claims"
)

// AuditLine is a trail's line as stored (JSON, written by the audit
// worker): self-contained, so the record stays when old events are
// trimmed from the stream.
type AuditLine struct {
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
		var l AuditLine
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
