package streams

import (
	"context"
	"fmt"
	"time"

	"claimsctl/streams/claims"

	"github.com/redis/go-redis/v9"
)

// notifyScript appends a notification unless this event was notified
// before; the marker and the XADD are one atomic step, so a redelivery (or
// a crash between the two) can neither lose nor double an alert.
//
// KEYS[1] notifications stream, KEYS[2] marker; ARGV[1] marker TTL in
// seconds, ARGV[2..] field/value pairs. Reply: {'ok'|'duplicate', id}.
var notifyScript = redis.NewScript(`
local seen = redis.call('GET', KEYS[2])
if seen then return {'duplicate', seen} end
local id = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 2))
redis.call('SET', KEYS[2], id, 'EX', ARGV[1])
return {'ok', id}
`)

// Notification kinds.
const (
// approved or rejected
// payment completed
// a claim over the high-value threshold was submitted
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

// Name is the group: notifications.
func (n *Notifier) Name() string { return GroupNotifications }

// Label names the worker in the log.
func (n *Notifier) Label() string { return "notifications" }

// Handle appends the event's notification, if it has one.
//
// Notifications are deduplicated on the event's event_id rather than its
// entry id: an event re-appended from the DLQ has a new entry id but is
// the same event, and must not alert twice.
func (n *Notifier) Handle(ctx context.Context, d Delivery) (string, error) {
	e := d.Event
	kind, msg := claims.Notification(e, n.o.HighValue)
	if kind == "" {
		return "no notification", nil
	}
	args := []any{int64(n.o.Remember / time.Second),
		"kind", kind,
		"claim_id", e.ClaimID,
		"message", msg,
		"event_type", string(e.Type),
		"source_id", d.ID,
		"at", n.s.now().Format(claims.TimeLayout),
	}
	reply, err := notifyScript.Run(ctx, n.s.rdb, []string{n.s.keys.Notifications(), n.s.keys.Notified(e.EventID)}, args...).StringSlice()
	if err != nil {
		return "", fmt.Errorf("notify %s of %s: %w", kind, claims.Short(e.ClaimID), err)
	}
	if len(reply) != 2 {
		return "", fmt.Errorf("notify %s: unexpected script reply %v", e.ID, reply)
	}
	if reply[0] == "duplicate" {
		return fmt.Sprintf("already notified (%s)", reply[1]), nil
	}
	return fmt.Sprintf("%s: %s", kind, msg), nil
}
