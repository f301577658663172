package streams

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"

	"claimsctl/streams/claims"

	"github.com/redis/go-redis/v9"
)

// auditScript appends one line to a claim's trail unless the trail holds
// this event already. A claim's trail is short (one entry per event of the
// claim), so scanning it is cheaper than keeping a marker key per event,
// and the trail stays the single record an auditor reads.
//
// KEYS[1] trail stream; ARGV[1] event id, ARGV[2..] field/value pairs.
// Reply: {'ok'|'duplicate', id}.
var auditScript = redis.NewScript(`
for _, entry in ipairs(redis.call('XRANGE', KEYS[1], '-', '+')) do
  local f = entry[2]
  for i = 1, #f, 2 do
    if f[i] == 'event_id' and f[i + 1] == ARGV[1] then return {'duplicate', entry[1]} end
  end
end
return {'ok', redis.call('XADD', KEYS[1], '*', unpack(ARGV, 2))}
`)

// Auditor is the audit group's worker: an append-only compliance trail per
// claim, one stream claims:audit:<claim_id> with a line per event.
type Auditor struct{ s *Store }

// NewAuditor returns the audit worker's handler.
func (s *Store) NewAuditor() *Auditor { return &Auditor{s: s} }

// Name is the group: audit.
func (a *Auditor) Name() string { return GroupAudit }

// Label names the worker in the log.
func (a *Auditor) Label() string { return "audit" }

// Handle appends the event to its claim's trail, once per event_id (an
// event re-appended from the DLQ is the same event under a new entry id).
func (a *Auditor) Handle(ctx context.Context, d Delivery) (string, error) {
	e := d.Event
	args := []any{e.EventID,
		"at", e.OccurredAt.UTC().Format(claims.TimeLayout),
		"actor", e.Actor,
		"type", string(e.Type),
		"version", strconv.FormatInt(e.Version, 10),
		"entry_id", d.ID,
		"event_id", e.EventID,
		"detail", claims.DescribeEvent(e),
		"recorded_at", a.s.now().Format(claims.TimeLayout),
	}
	reply, err := auditScript.Run(ctx, a.s.rdb, []string{a.s.keys.Audit(e.ClaimID)}, args...).StringSlice()
	if err != nil {
		return "", fmt.Errorf("audit %s v%d of %s: %w", e.Type, e.Version, claims.Short(e.ClaimID), err)
	}
	if len(reply) != 2 {
		return "", fmt.Errorf("audit %s: unexpected script reply %v", e.ID, reply)
	}
	if reply[0] == "duplicate" {
		return "already in the trail as " + reply[1], nil
	}
	return fmt.Sprintf("recorded v%d by %s as %s", e.Version, e.Actor, reply[1]), nil
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
