package workers

import (
	"claimsctl/streams"
	"errors"
	"fmt"

	"claimsctl/streams/claims"
	"claimsctl/streams/redisconn"
)

// disposition is what becomes of a delivery.
type disposition int

const (
	// toHandle: nothing settles it yet; the handler decides it.
	toHandle disposition = iota
	// toAck: done (handled, or nothing left to handle).
	toAck
	// toRetrySoon: handled too early (its predecessor is being handled by
	// another consumer); this consumer tries it again with its next batch.
	toRetrySoon
	// toLeavePending: failed; it stays pending and is delivered again once
	// idle for MinIdle (recovery), which counts a delivery.
	toLeavePending
	// toDeadLetter: moved to the DLQ with its reason, and acked.
	toDeadLetter
)

func (d disposition) String() string {
	return [...]string{"handle", "ack", "retry soon", "leave pending", "dead-letter"}[d]
}

// retrySoonLimit is how many batches an event that arrived before its
// predecessor is tried again in before it is left to recovery.
const retrySoonLimit = 6

// errUnhandled asks dispose about a delivery before any handler saw it.
var errUnhandled = errors.New("not handled yet")

// dispose is the one decision of what becomes of a delivery, given what
// handling it gave (errUnhandled before it was handled, nil on success)
// and the worker's options. It returns the disposition and, for a dead
// letter, why.
func dispose(d streams.Delivery, err error, o Options) (disposition, error) {
	switch {
	case len(d.Fields) == 0:
		// Deleted from the stream (XDEL, trim) while pending: nothing to handle.
		return toAck, nil
	case d.Err != nil:
		// Not a claim event the store wrote: no handler may count it.
		return toDeadLetter, d.Err
	case errors.Is(err, errUnhandled) && d.Deliveries > o.MaxDeliveries:
		// Its handler kept failing, or its consumer kept dying with it.
		return toDeadLetter, fmt.Errorf("gave up after %s (limit %d)", claims.Plural(d.Deliveries-1, "delivery", "deliveries"), o.MaxDeliveries)
	case errors.Is(err, errUnhandled):
		return toHandle, nil
	case err == nil:
		return toAck, nil
	case redisconn.Transient(err):
		// Redis went away mid-batch: not the entry's fault.
		return toLeavePending, nil
	case errors.Is(err, claims.ErrOutOfOrder) && d.Attempts < retrySoonLimit:
		return toRetrySoon, nil
	}
	var perm *PermanentError
	if errors.As(err, &perm) || d.Deliveries >= o.MaxDeliveries {
		return toDeadLetter, err
	}
	return toLeavePending, nil
}

// PermanentError marks a handler failure that no retry can fix (the event
// contradicts the store, e.g. an entry out of the state machine); the
// delivery is dead-lettered at once instead of retried.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err as a *PermanentError (nil stays nil).
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}
