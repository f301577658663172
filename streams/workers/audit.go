package workers

import (
	"context"
	"encoding/json"
	"fmt"

	"claimsctl/streams"
	"claimsctl/streams/claims"
	"claimsctl/streams/scripts"
)

// Auditor is the audit group's worker: an append-only compliance trail per
// claim, claims:audit:<claim_id>, a list with a JSON line per event in
// version order. A list, not a stream: Redis gives every stream a 4 KB
// node however few its entries, which for a trail of a handful of lines
// per claim was three quarters of the keyspace's memory.
type Auditor struct{ s *streams.Store }

// NewAuditor returns the audit worker's handler.
func NewAuditor(s *streams.Store) *Auditor { return &Auditor{s: s} }

// Group is audit.
func (a *Auditor) Group() string { return streams.GroupAudit }

// Label names the worker in the log.
func (a *Auditor) Label() string { return "audit" }

// Needs nothing: audit.lua reads the trail it appends to.
func (a *Auditor) Needs([]streams.Delivery) []streams.Read { return nil }

// Decide appends each event to its claim's trail in version order, once (a
// dead letter handed back by retry_dlq is the same version again).
func (a *Auditor) Decide(_ context.Context, batch []streams.Delivery, _ *streams.Snapshot) []Decision {
	out := make([]Decision, len(batch))
	recorded := a.s.Now().Format(claims.TimeLayout)
	for i, d := range batch {
		e := d.Event
		line, err := json.Marshal(streams.AuditLine{At: e.OccurredAt.UTC().Format(claims.TimeLayout), Actor: e.Actor, Type: string(e.Type),
			Version: e.Version, EntryID: e.ID, EventID: e.EventID, Detail: claims.DescribeEvent(e), RecordedAt: recorded})
		if err != nil {
			out[i] = Decision{Err: err}
			continue
		}
		eff := scripts.AuditCall{Trail: a.s.Keys().Audit(e.ClaimID), Version: e.Version, Line: string(line)}.Effect()
		out[i] = Decision{Effects: []scripts.Effect{eff}, Explain: func(r []scripts.Reply) (string, error) {
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
