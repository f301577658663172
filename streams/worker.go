package streams

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"claimsctl/streams/claims"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

// Handler is a worker's logic: the effect of one event on one consumer
// group of claims:events. Delivery is at least once, so Handle must be
// idempotent: handling the same delivery twice has the effect of once.
type Handler interface {
	// Name is the consumer group the handler reads (processors, analytics …).
	Name() string
	// Handle applies the delivery's effect and returns a one-line summary
	// for the log. An error leaves the entry pending, to be retried; a
	// *PermanentError sends it to the DLQ at once.
	Handle(ctx context.Context, d Delivery) (string, error)
}

// Flusher is implemented by handlers that buffer something (the analytics
// snapshot); RunWorker calls Flush once when it stops.
type Flusher interface {
	Flush(ctx context.Context) error
}

// PermanentError marks a handler failure that no retry can fix (the event
// contradicts the store, e.g. a hand-written entry out of the state
// machine); the worker dead-letters the entry at once instead of retrying.
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

// Defaults of WorkerOptions; MinIdle and MaxDeliveries default to
// DefaultMinIdle and DefaultMaxDeliveries (recovery.go).
const (
	DefaultCount        = 10
	DefaultRecoverEvery = 5 * time.Second
)

// WorkerOptions tune RunWorker. Zero values take the defaults.
type WorkerOptions struct {
	// Consumer is this worker's name in its group (default the handler's
	// name and a random suffix). Give a restarted worker its old name and it
	// finishes its own pending entries first.
	Consumer string
	// Count is the most entries per read (default 10).
	Count int64
	// Block is how long one read waits for new entries (default and most
	// 1s: a blocked XREADGROUP cannot be interrupted, so this bounds how
	// long a cancelled worker takes to stop).
	Block time.Duration
	// MinIdle is how long an entry must have been pending before recovery
	// takes it over from its consumer, presumed dead (default 30s).
	MinIdle time.Duration
	// RecoverEvery is how often idle entries are looked for (default 5s).
	RecoverEvery time.Duration
	// MaxDeliveries: an entry that failed this often goes to the DLQ
	// (default 5).
	MaxDeliveries int64
	// Log receives one line per handled event and per incident (nil: quiet).
	Log func(line string)
}

func (o WorkerOptions) withDefaults(name string) WorkerOptions {
	if o.Consumer == "" {
		o.Consumer = name + "-" + uuid.NewString()[:8]
	}
	if o.Count <= 0 {
		o.Count = DefaultCount
	}
	if o.Block <= 0 {
		o.Block = time.Second
	}
	o.Block = min(o.Block, time.Second)
	if o.MinIdle <= 0 {
		o.MinIdle = DefaultMinIdle
	}
	if o.RecoverEvery <= 0 {
		o.RecoverEvery = DefaultRecoverEvery
	}
	if o.MaxDeliveries <= 0 {
		o.MaxDeliveries = DefaultMaxDeliveries
	}
	if o.Log == nil {
		o.Log = func(string) {}
	}
	return o
}

// Backoff bounds of a worker waiting for Redis to come back.
const (
	backoffMin = 100 * time.Millisecond
	backoffMax = 5 * time.Second
	// gapRetries and gapWait bound the in-place retry of an ErrOutOfOrder
	// delivery: its predecessor is usually being handled by another
	// consumer right now (20+40+80+160+320 ms).
	gapRetries = 5
	gapWait    = 20 * time.Millisecond
	// maxRememberedErrors bounds the last-error memory used for DLQ messages.
	maxRememberedErrors = 1000
)

type worker struct {
	s       *Store
	h       Handler
	o       WorkerOptions
	group   string
	label   string
	backoff time.Duration
	lastErr map[string]string // entry id -> last handler error, for the DLQ message
}

// labeler names a built-in worker in the log ("processor") where its
// group name is plural ("processors").
type labeler interface{ Label() string }

// RunWorker runs h as consumer o.Consumer of group h.Name() on
// claims:events until ctx is cancelled, then finishes the batch in hand and
// returns nil. It
//   - first re-reads this consumer's own pending entries once (a restarted
//     worker finishes what it had been given);
//   - reads new entries (XREADGROUP >) and acknowledges the handled ones
//     (one XACK per batch);
//   - every RecoverEvery takes over entries idle for MinIdle (XAUTOCLAIM),
//     including its own failures, which is how a failed entry is retried;
//   - sends malformed entries, permanent failures and entries delivered
//     MaxDeliveries times to the DLQ;
//   - waits for Redis with backoff when it is unreachable, logging one line
//     per retry, and never gives up on its own.
//
// It returns an error only for unusable options (an invalid name). With
// trace on, its commands are traced like any other; pass Untraced(ctx) to
// keep a background worker out of a student's trace.
func (s *Store) RunWorker(ctx context.Context, h Handler, o WorkerOptions) error {
	if h == nil {
		return fmt.Errorf("run worker: no handler: %w", claims.ErrInvalid)
	}
	group := h.Name()
	o = o.withDefaults(group)
	if err := claims.ValidName("group", group); err != nil {
		return fmt.Errorf("run worker: %w", err)
	}
	if err := claims.ValidName("consumer", o.Consumer); err != nil {
		return fmt.Errorf("run worker %s: %w", group, err)
	}
	w := &worker{s: s, h: h, o: o, group: group, label: group, lastErr: map[string]string{}}
	if l, ok := h.(labeler); ok {
		w.label = l.Label()
	}
	defer w.flush(ctx)
	for ctx.Err() == nil {
		err := s.EnsureGroup(ctx, group)
		if err == nil {
			break
		}
		w.trouble(ctx, err)
	}
	if ctx.Err() != nil {
		return nil
	}
	w.logf("started: group %s on %s, recovering entries idle > %s every %s, dead-letter after %d deliveries",
		group, s.keys.Events(), o.MinIdle, o.RecoverEvery, o.MaxDeliveries)
	// A read whose reply was lost with the connection leaves entries in our
	// PEL that we never saw, so the own-PEL pass runs again after an error.
	needOwn := true
	var lastRecover time.Time
	for ctx.Err() == nil {
		if needOwn {
			if !w.ownPending(ctx) {
				continue
			}
			needOwn = false
		}
		if time.Since(lastRecover) >= o.RecoverEvery {
			if !w.recover(ctx) {
				needOwn = true
				continue
			}
			lastRecover = time.Now()
		}
		block := min(o.Block, time.Until(lastRecover.Add(o.RecoverEvery)))
		ds, err := w.read(ctx, max(block, time.Millisecond))
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			w.trouble(ctx, err)
			needOwn = true
			continue
		}
		w.backoff = 0
		w.handleBatch(ctx, ds)
	}
	w.logf("stopped")
	return nil
}

func (w *worker) read(ctx context.Context, block time.Duration) ([]Delivery, error) {
	res, err := w.s.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group: w.group, Consumer: w.o.Consumer, Streams: []string{w.s.keys.Events(), ">"},
		Count: w.o.Count, Block: block,
	}).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("consume %s/%s: %w", w.group, w.o.Consumer, err)
	}
	var out []Delivery
	for _, st := range res {
		for _, m := range st.Messages {
			d := decodeDelivery(m)
			d.Deliveries = 1 // a ">" read is the first delivery by definition
			out = append(out, d)
		}
	}
	return out, nil
}

// ownPending handles this consumer's own pending entries once, page by
// page (never re-reading one: that would bump its count and hide it from
// recovery). It reports false if Redis failed.
func (w *worker) ownPending(ctx context.Context) bool {
	after := "0"
	for ctx.Err() == nil {
		ds, err := w.s.readOwnPending(ctx, w.group, w.o.Consumer, after, w.o.Count)
		if err != nil {
			w.trouble(ctx, err)
			return false
		}
		if len(ds) == 0 {
			return true
		}
		w.logf("re-reading %d of its own pending entries", len(ds))
		w.handleBatch(ctx, ds)
		after = ds[len(ds)-1].ID
	}
	return true
}

// recover takes over idle entries and handles them; false if Redis failed.
func (w *worker) recover(ctx context.Context) bool {
	for range maxAutoClaimCalls {
		res, err := w.s.Recover(ctx, w.group, w.o.Consumer, RecoverOptions{MinIdle: w.o.MinIdle, Count: w.o.Count})
		if err != nil {
			w.trouble(ctx, err)
			return false
		}
		if n := len(res.DeletedIDs); n > 0 {
			w.logf("%d pending entries were deleted from the stream; Redis dropped them from the group: %s", n, strings.Join(res.DeletedIDs, " "))
		}
		if len(res.Claimed) == 0 {
			return true
		}
		w.logf("took over %d entries idle for more than %s", len(res.Claimed), w.o.MinIdle)
		w.handleBatch(ctx, res.Claimed)
		if int64(len(res.Claimed)) < w.o.Count || ctx.Err() != nil {
			return true
		}
	}
	return true
}

// handleBatch handles deliveries in order and acknowledges the handled
// ones in one XACK. The handlers run on a context that is not cancelled
// with ctx, so a stop request finishes the batch instead of cutting an
// effect from its acknowledgement.
func (w *worker) handleBatch(ctx context.Context, ds []Delivery) {
	hctx := context.WithoutCancel(ctx)
	w.s.vetDeliveries(hctx, ds)
	failed := map[string]bool{} // claims with a failed event in this batch
	var acks []string
	for _, d := range ds {
		if w.handleOne(ctx, hctx, d, failed) {
			acks = append(acks, d.ID)
		}
	}
	if len(acks) == 0 {
		return
	}
	for {
		err := w.s.rdb.XAck(hctx, w.s.keys.Events(), w.group, acks...).Err()
		if err == nil {
			w.backoff = 0
			return
		}
		if !redisDown(err) || ctx.Err() != nil {
			// Left pending: the handlers are idempotent, so the redelivery
			// only acknowledges.
			w.logf("ack %d entries: %v (they stay pending and are redelivered)", len(acks), err)
			return
		}
		w.trouble(ctx, err)
	}
}

// handleOne reports whether the entry should be acknowledged.
func (w *worker) handleOne(ctx, hctx context.Context, d Delivery, failed map[string]bool) bool {
	line := w.prefix(d)
	switch {
	case len(d.Fields) == 0:
		w.o.Log(line + " -> deleted from the stream while pending; acked")
		return true
	case d.Deliveries > w.o.MaxDeliveries:
		cause := fmt.Errorf("gave up after %d deliveries (limit %d)", d.Deliveries-1, w.o.MaxDeliveries)
		if last := w.lastErr[d.ID]; last != "" {
			cause = fmt.Errorf("%w; last error: %s", cause, last)
		}
		w.deadLetter(ctx, hctx, d, cause)
		return false
	case d.Err != nil:
		w.deadLetter(ctx, hctx, d, d.Err)
		return false
	}
	summary, err := w.handle(ctx, hctx, d, failed)
	if err == nil {
		delete(w.lastErr, d.ID)
		w.o.Log(line + " -> " + summary)
		return true
	}
	failed[d.Event.ClaimID] = true
	if redisDown(err) { // stopping while Redis is away: not the entry's fault
		w.o.Log(fmt.Sprintf("%s -> left pending (stopping): %v", line, err))
		return false
	}
	var perm *PermanentError
	if errors.As(err, &perm) || d.Deliveries >= w.o.MaxDeliveries {
		w.deadLetter(ctx, hctx, d, err)
		return false
	}
	if len(w.lastErr) >= maxRememberedErrors {
		clear(w.lastErr)
	}
	w.lastErr[d.ID] = err.Error()
	w.o.Log(fmt.Sprintf("%s -> error (delivery %d of %d; left pending, retried once idle for %s): %v",
		line, d.Deliveries, w.o.MaxDeliveries, w.o.MinIdle, err))
	return false
}

// handle calls the handler, retrying in place while Redis is unreachable
// (the event is fine; a retry costs no delivery) and, briefly, while the
// event's predecessor has not been projected yet.
func (w *worker) handle(ctx, hctx context.Context, d Delivery, failed map[string]bool) (string, error) {
	wait := gapWait
	for gaps := 0; ; {
		summary, err := w.h.Handle(hctx, d)
		switch {
		case err == nil:
			w.backoff = 0
			return summary, nil
		case ctx.Err() != nil:
			return "", err
		case redisDown(err):
			w.trouble(ctx, err)
			continue
		case errors.Is(err, claims.ErrOutOfOrder) && gaps < gapRetries && !failed[d.Event.ClaimID]:
			gaps++
			sleep(ctx, wait)
			wait *= 2
			continue
		}
		return "", err
	}
}

func (w *worker) deadLetter(ctx, hctx context.Context, d Delivery, cause error) {
	for {
		err := w.s.DeadLetter(hctx, w.group, d, cause, d.Deliveries)
		if err == nil {
			delete(w.lastErr, d.ID)
			w.o.Log(fmt.Sprintf("%s -> dead-lettered to %s after %s: %v", w.prefix(d), w.s.keys.DLQ(), claims.Plural(d.Deliveries, "delivery", "deliveries"), cause))
			return
		}
		if !redisDown(err) || ctx.Err() != nil {
			w.o.Log(fmt.Sprintf("%s -> %v (left pending)", w.prefix(d), err))
			return
		}
		w.trouble(ctx, err)
	}
}

// prefix starts a log line: "processor w1  1795597353284-0  claim.submitted  3f9c1234 v1".
func (w *worker) prefix(d Delivery) string {
	head := fmt.Sprintf("%s %s  %s", w.label, w.o.Consumer, d.ID)
	if d.Err != nil {
		return head + "  (not a claim event)"
	}
	return fmt.Sprintf("%s  %s  %s v%d", head, d.Event.Type, claims.Short(d.Event.ClaimID), d.Event.Version)
}

func (w *worker) logf(format string, args ...any) {
	w.o.Log(fmt.Sprintf("%s %s  ", w.label, w.o.Consumer) + fmt.Sprintf(format, args...))
}

// trouble logs a failed Redis call and waits before the retry, longer
// each time in a row (100ms doubling to 5s). A deleted group is recreated.
func (w *worker) trouble(ctx context.Context, err error) {
	if ctx.Err() != nil {
		return // stopping: a cancelled call is not Redis's trouble
	}
	if strings.Contains(err.Error(), "NOGROUP") {
		w.logf("group %s is gone (deleted?); creating it again", w.group)
		if w.s.EnsureGroup(ctx, w.group) == nil {
			return
		}
	}
	w.backoff = min(max(w.backoff*2, backoffMin), backoffMax)
	what := "redis unavailable"
	if !redisDown(err) {
		what = "redis error"
	}
	w.logf("%s, retrying in %s: %v", what, w.backoff, err)
	sleep(ctx, w.backoff)
}

func (w *worker) flush(ctx context.Context) {
	f, ok := w.h.(Flusher)
	if !ok {
		return
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := f.Flush(fctx); err != nil {
		w.logf("flush on stop: %v", err)
	}
}

// sleep waits d or until ctx is cancelled.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// redisDown tells a Redis that cannot answer right now (connection refused
// or lost, timeout, still loading its AOF) from one that answered with an
// error: only the first is worth waiting for.
func redisDown(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	for _, target := range []error{io.EOF, io.ErrUnexpectedEOF, syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.EPIPE, net.ErrClosed, redis.ErrPoolTimeout} {
		if errors.Is(err, target) {
			return true
		}
	}
	var nerr net.Error
	if errors.As(err, &nerr) {
		return true
	}
	var rerr redis.Error
	if errors.As(err, &rerr) {
		msg := rerr.Error()
		for _, p := range []string{"LOADING", "BUSY ", "TRYAGAIN", "MASTERDOWN", "CLUSTERDOWN"} {
			if strings.HasPrefix(msg, p) {
				return true
			}
		}
	}
	return false
}

// WorkerNames are the built-in workers, as `claimsctl worker NAME` and
// Lua's start(NAME) know them.
var WorkerNames = []string{"processor", "analytics", "notifications", "audit"}

// NewWorker returns a built-in worker's handler, with default options.
func (s *Store) NewWorker(name string) (Handler, error) {
	switch name {
	case "processor":
		return s.NewProcessor(), nil
	case "analytics":
		return s.NewAnalytics(AnalyticsOptions{}), nil
	case "notifications":
		return s.NewNotifier(NotifyOptions{}), nil
	case "audit":
		return s.NewAuditor(), nil
	}
	return nil, fmt.Errorf("no worker %q (want one of %s): %w", name, strings.Join(WorkerNames, ", "), claims.ErrInvalid)
}
