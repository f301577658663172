package streams

import (
	"context"
	"fmt"
	"time"

	"claimsctl/streams/claims"
)

// NotifyOptions tune the notifications worker.
type NotifyOptions struct {
	// HighValue: a submitted claim above this amount raises a high_value
	// alert (default 10000).
	HighValue float64
	// Remember is how long an event is remembered as notified (default 7
	// days); a redelivery after that would notify again.
	Remember time.Duration
}

// Notifier is the notifications group's worker: it appends alerts to
// claims:notifications for decisions, payments and high-value claims.
type Notifier struct {
	s *Store
	o NotifyOptions
}

// NewNotifier returns the notifications worker's handler.
func (s *Store) NewNotifier(o NotifyOptions) *Notifier {
	if o.HighValue <= 0 {
		o.HighValue = 10000
	}
	if o.Remember <= 0 {
		o.Remember = 7 * 24 * time.Hour
	}
	return &Notifier{s: s, o: o}
}

// Group is notifications.
func (n *Notifier) Group() string { return GroupNotifications }

// Label names the worker in the log.
func (n *Notifier) Label() string { return "notifications" }

// Needs nothing: notify.lua checks its own marker.
func (n *Notifier) Needs([]Delivery) []Read { return nil }

// Decide appends each event's notification, if it has one.
//
// Notifications are deduplicated on the event's event_id rather than its
// entry id: an event re-appended from the DLQ has a new entry id but is
// the same event, and must not alert twice.
func (n *Notifier) Decide(_ context.Context, batch []Delivery, _ *Snapshot) []Decision {
	out := make([]Decision, len(batch))
	at := n.s.now().Format(claims.TimeLayout)
	for i, d := range batch {
		e := d.Event
		kind, msg := claims.Notification(e, n.o.HighValue)
		if kind == "" {
			out[i] = Decision{Summary: "no notification"}
			continue
		}
		eff := notifyCall{
			Notifications: n.s.keys.Notifications(), Marker: n.s.keys.Notified(e.EventID), Remember: n.o.Remember,
			Fields: []any{
				"kind", kind,
				"claim_id", e.ClaimID,
				"message", msg,
				"event_type", string(e.Type),
				"source_id", d.ID,
				"at", at,
			},
		}.effect()
		out[i] = Decision{Effects: []Effect{eff}, Explain: func(r []Reply) (string, error) {
			if r[0].Status == "duplicate" {
				return fmt.Sprintf("already notified (%s)", r[0].Detail), nil
			}
			return fmt.Sprintf("%s: %s", kind, msg), nil
		}}
	}
	return out
}
