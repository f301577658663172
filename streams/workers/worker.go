package workers

import (
	"claimsctl/streams"
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"claimsctl/streams/claims"
	"claimsctl/streams/redisconn"
)

// Worker defaults (Options's zero values; MinIdle's is
// streams.DefaultMinIdle, recovery's).
const (
	DefaultCount         = 100
	DefaultBlock         = time.Second
	DefaultRecoverEvery  = 5 * time.Second
	DefaultMaxDeliveries = 5
)

// Options tune Run. Zero values take the defaults.
type Options struct {
	// Consumer is this worker's name in its group (default the handler's
	// name and a random suffix). Give a restarted worker its old name and it
	// finishes its own pending entries first.
	Consumer string
	// Count is the most entries per read, the batch size (default 100).
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
	// Verbose logs a line per event; otherwise a line per batch, plus one
	// per incident (a failure, a dead letter).
	Verbose bool
	// Log receives the log lines (nil: quiet).
	Log func(line string)
}

func (o Options) withDefaults(name string) Options {
	if o.Consumer == "" {
		o.Consumer = name + "-" + uuid.NewString()[:8]
	}
	if o.Count <= 0 {
		o.Count = DefaultCount
	}
	if o.Block <= 0 {
		o.Block = DefaultBlock
	}
	o.Block = min(o.Block, streams.MaxBlock)
	if o.MinIdle <= 0 {
		o.MinIdle = streams.DefaultMinIdle
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

// Backoff bounds of a worker waiting for Redis to come back. The longest
// wait is short: a cluster failover is over in about 2 s, and a retry is
// also what makes the client reload its slot map (slotReloader), so a
// worker resumes at most about a second after the replica takes over.
const (
	backoffMin = 100 * time.Millisecond
	backoffMax = time.Second
	// retrySoonBlock is the first read's wait when deliveries are to be
	// tried again: the read is the pause (doubling each batch), so a worker
	// waits for a predecessor without sleeping in a batch.
	retrySoonBlock = 20 * time.Millisecond
)

// worker is one consumer of one group on one partition's stream.
type worker struct {
	s       *streams.Store
	stream  string
	retry   string // the group's retry stream in this partition
	h       Handler
	o       Options
	x       *executor
	backoff time.Duration
}

// Run runs h as consumer o.Consumer of group h.Group() on
// claims:events until ctx is cancelled, then finishes the batch in hand and
// returns nil. It
//   - first re-reads this consumer's own pending entries once (a restarted
//     worker finishes what it had been given);
//   - reads new entries (XREADGROUP >) in batches of Count and has the
//     executor carry each batch out (one read pipeline, one write
//     pipeline, one XACK);
//   - every RecoverEvery takes over entries idle for MinIdle (XAUTOCLAIM),
//     including its own failures, which is how a failed entry is retried;
//   - reads the group's retry stream, where RetryDLQ hands back its dead
//     letters, at start, every RecoverEvery and whenever the event stream
//     has nothing new (the same three passes: own, idle, new);
//   - sends malformed entries, entries the store did not write, permanent
//     failures and entries delivered MaxDeliveries times to the DLQ;
//   - waits for Redis with backoff when it is unavailable, logging one line
//     per retry, and never gives up on its own.
//
// It returns an error only for unusable options (an invalid name). With
// trace on, its commands are traced like any other; pass Untraced(ctx) to
// keep a background worker out of a student's trace.
func Run(ctx context.Context, s *streams.Store, h Handler, o Options) error {
	if h == nil {
		return fmt.Errorf("run worker: no handler: %w", claims.ErrInvalid)
	}
	group := h.Group()
	o = o.withDefaults(group)
	if err := claims.ValidName("group", group); err != nil {
		return fmt.Errorf("run worker: %w", err)
	}
	if err := claims.ValidName("consumer", o.Consumer); err != nil {
		return fmt.Errorf("run worker %s: %w", group, err)
	}
	events := s.Keys().EventStreams()
	loops := make([]*worker, len(events))
	known := streams.NewLastKnown()
	for i, stream := range events {
		w := &worker{s: s, h: h, o: o, stream: stream, retry: s.Keys().Partition(i).Retry(group)}
		w.x = &executor{s: s, h: h, o: o, label: h.Label(), lastErr: map[string]string{}, known: known, wait: w.trouble}
		if len(events) > 1 {
			w.x.label += fmt.Sprintf("[p%d]", i)
		}
		loops[i] = w
	}
	defer loops[0].flush(ctx)
	for ctx.Err() == nil {
		err := s.EnsureGroup(ctx, group)
		if err == nil {
			break
		}
		loops[0].trouble(ctx, err)
	}
	if ctx.Err() != nil {
		return nil
	}
	on := events[0]
	if len(events) > 1 {
		on = fmt.Sprintf("%d partitions (%s …)", len(events), events[0])
	}
	loops[0].x.logf("started: group %s on %s, batches of %d, recovering entries idle > %s every %s, dead-letter after %d deliveries",
		group, on, o.Count, o.MinIdle, o.RecoverEvery, o.MaxDeliveries)
	// One loop per partition: each blocks on its own stream, and a batch's
	// keys then share one hash slot (one script call on one node).
	var wg sync.WaitGroup
	for _, w := range loops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.loop(ctx)
		}()
	}
	wg.Wait()
	if killed(ctx) {
		return nil // as dead as a killed process: no last word
	}
	loops[0].x.logf("stopped")
	return nil
}

// loop reads this worker's stream until ctx is cancelled.
func (w *worker) loop(ctx context.Context) {
	// A read whose reply was lost with the connection leaves entries in our
	// PEL that we never saw, so the own-PEL pass runs again after an error.
	needOwn := true
	var lastRecover time.Time
	var retry []streams.Delivery
	o := w.o
	for ctx.Err() == nil {
		if needOwn {
			if !w.ownPending(ctx, w.stream) || !w.ownPending(ctx, w.retry) {
				continue
			}
			needOwn = false
		}
		if time.Since(lastRecover) >= o.RecoverEvery {
			if !w.recover(ctx, w.stream) || !w.recover(ctx, w.retry) || !w.newRetries(ctx) {
				needOwn = true
				continue
			}
			lastRecover = time.Now()
		}
		block := min(o.Block, time.Until(lastRecover.Add(o.RecoverEvery)))
		if len(retry) > 0 {
			block = min(block, retrySoonBlock<<retry[0].Attempts)
		}
		ds, err := w.s.ReadGroup(ctx, streams.GroupRead{
			Stream: w.stream, Group: w.h.Group(), Consumer: o.Consumer, Start: ">",
			Count: o.Count, Block: max(block, time.Millisecond),
		})
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			w.trouble(ctx, err)
			needOwn = true
			continue
		}
		w.backoff = 0
		if len(ds) == 0 && len(retry) == 0 && !w.newRetries(ctx) {
			needOwn = true
			continue
		}
		retry = w.x.execute(ctx, append(retry, ds...))
	}
}

// newRetries handles what RetryDLQ handed back to the group and nobody
// read yet, a batch at a time; a group that never had a retry has no retry
// stream, which costs one short reply. It reports false if Redis failed.
func (w *worker) newRetries(ctx context.Context) bool {
	for ctx.Err() == nil {
		ds, err := w.s.ReadGroup(ctx, streams.GroupRead{Stream: w.retry, Group: w.h.Group(), Consumer: w.o.Consumer, Start: ">", Count: w.o.Count})
		if redisconn.Missing(err) || (err == nil && len(ds) == 0) {
			return true
		}
		if err != nil {
			w.trouble(ctx, err)
			return false
		}
		w.x.logf("handed back by retry_dlq: %s (%s)", claims.Plural(int64(len(ds)), "entry", "entries"), w.retry)
		// What arrives before its predecessor is left pending here:
		// recovery of the retry stream hands it out again.
		w.x.execute(ctx, ds)
	}
	return true
}

// ownPending handles this consumer's own pending entries of a stream once,
// page by page (never re-reading one: that would bump its count and hide
// it from recovery). It reports false if Redis failed.
func (w *worker) ownPending(ctx context.Context, stream string) bool {
	after := "0"
	for ctx.Err() == nil {
		ds, err := readOwnPending(ctx, w.s, stream, w.h.Group(), w.o.Consumer, after, w.o.Count)
		if stream == w.retry && redisconn.Missing(err) {
			return true // no retry stream: nothing handed back
		}
		if err != nil {
			w.trouble(ctx, err)
			return false
		}
		if len(ds) == 0 {
			return true
		}
		w.x.logf("re-reading %d of its own pending entries", len(ds))
		// What is retried soon is left pending: recovery hands it out again.
		w.x.execute(ctx, ds)
		after = ds[len(ds)-1].ID
	}
	return true
}

// recover takes over idle entries of a stream and handles them; false if
// Redis failed.
func (w *worker) recover(ctx context.Context, stream string) bool {
	for range maxAutoClaimCalls {
		res, err := recoverStream(ctx, w.s, stream, w.h.Group(), w.o.Consumer, RecoverOptions{MinIdle: w.o.MinIdle, Count: w.o.Count})
		if err != nil {
			w.trouble(ctx, err)
			return false
		}
		if n := len(res.DeletedIDs); n > 0 {
			w.x.logf("%d pending entries were deleted from the stream; Redis dropped them from the group: %s", n, strings.Join(res.DeletedIDs, " "))
		}
		if len(res.Claimed) == 0 {
			return true
		}
		w.x.logf("took over %s idle for more than %s", claims.Plural(int64(len(res.Claimed)), "entry", "entries"), w.o.MinIdle)
		w.x.execute(ctx, res.Claimed)
		if int64(len(res.Claimed)) < w.o.Count || ctx.Err() != nil {
			return true
		}
	}
	return true
}

// trouble logs a failed Redis call and waits before the retry, longer each
// time in a row (100ms doubling to 1s, each wait between half and all of
// that so that the partitions' loops do not retry in step). A deleted
// group is recreated. It reports false when the worker is stopping
// instead.
func (w *worker) trouble(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false // stopping: a cancelled call is not Redis's trouble
	}
	if redisconn.Classify(err) == redisconn.KindMissing {
		w.x.logf("group %s is gone (deleted?); creating it again", w.h.Group())
		if w.s.EnsureGroup(ctx, w.h.Group()) == nil {
			return true
		}
	}
	w.backoff = min(max(w.backoff*2, backoffMin), backoffMax)
	wait := jitter(w.backoff)
	what := "redis unavailable"
	if !redisconn.Transient(err) {
		what = "redis error"
	}
	w.x.logf("%s, retrying in %s: %v", what, wait.Round(time.Millisecond), err)
	sleep(ctx, wait)
	return ctx.Err() == nil
}

func (w *worker) flush(ctx context.Context) {
	f, ok := w.h.(Flusher)
	if !ok || killed(ctx) {
		return
	}
	fctx, cancel := context.WithTimeout(survivor(ctx), 5*time.Second)
	defer cancel()
	if err := f.Flush(fctx); err != nil {
		w.x.logf("flush on stop: %v", err)
	}
}

// jitter is a random duration between d/2 and d.
func jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d/2+1)
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
