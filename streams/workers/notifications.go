package workers

import (
	"context"
	"fmt"

	"claimsctl/streams"
	"claimsctl/streams/claims"
	"claimsctl/streams/scripts"
)

// NotifyOptions tune the notifications worker.
type NotifyOptions struct {
	// HighValue: a submitted claim above this amount raises a high_value
	// alert (default 10000).
	HighValue float64
}

// Notifier is the notifications group's worker: it appends alerts to
// claims:notifications for decisions, payments and high-value claims.
type Notifier struct {
	s *streams.Store
	o NotifyOptions
}

// NewNotifier returns the notifications worker's handler.
func NewNotifier(s *streams.Store, o NotifyOptions) *Notifier {
	if o.HighValue <= 0 {
		o.HighValue = 10000
	}
	return &Notifier{s: s, o: o}
}

// Group is notifications.
func (n *Notifier) Group() string { return streams.GroupNotifications }

// Label names the worker in the log.
func (n *Notifier) Label() string { return "notifications" }

// Needs nothing: notify.lua checks its own marker.
func (n *Notifier) Needs([]streams.Delivery) []streams.Read { return nil }

// Decide takes each event of a claim in version order and appends its
// notification, if it has one.
//
// Notifications are deduplicated on the claim's version rather than the
// entry id: an event put back from the DLQ has a new entry id but is the
// same event, and must not alert twice.
func (n *Notifier) Decide(_ context.Context, batch []streams.Delivery, _ *streams.Snapshot) []Decision {
	out := make([]Decision, len(batch))
	now := n.s.Now()
	at, entryAt := now.Format(claims.TimeLayout), n.s.EntryAt(now)
	for i, d := range batch {
		e := d.Event
		pk := n.s.Keys().ForClaim(e.ClaimID)
		call := scripts.NotifyCall{Notifications: pk.Notifications(), Seen: pk.NotifySeen(), ClaimID: e.ClaimID, Version: e.Version, At: entryAt}
		kind, msg := claims.Notification(e, n.o.HighValue)
		if kind != "" {
			call.Fields = []any{
				"kind", kind,
				"claim_id", e.ClaimID,
				"message", msg,
				"event_type", string(e.Type),
				"source_id", e.ID, // the event stream's entry, also for a retry
				"at", at,
			}
		}
		out[i] = Decision{Effects: []scripts.Effect{call.Effect()}, Explain: func(r []scripts.Reply) (string, error) {
			switch {
			case r[0].Status == "skip":
				return fmt.Sprintf("already taken (claim seen up to v%s)", r[0].Detail), nil
			case r[0].Status == "gap":
				return "", fmt.Errorf("notify %s v%d of %s: seen up to v%s: %w", e.Type, e.Version, claims.Short(e.ClaimID), r[0].Detail, claims.ErrOutOfOrder)
			case kind == "":
				return "no notification", nil
			}
			return fmt.Sprintf("%s: %s", kind, msg), nil
		}}
	}
	return out
}
