package workers

import (
	"claimsctl/streams"
	"claimsctl/streams/scripts"
	"context"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"

	"claimsctl/streams/claims"
	"claimsctl/streams/redisconn"
)

// executor carries out one consumer's batches: the one place where a
// handler's decisions become writes. Per batch it makes at most three
// round trips whatever the batch size: one pipeline reads what the batch
// needs, one writes every effect (and the dead letters known up front),
// one acknowledges and dead-letters what the replies settled.
type executor struct {
	s       *streams.Store
	h       Handler
	o       Options
	label   string
	lastErr map[string]string // entry id -> last handler error, for the DLQ message
	// wait is called while Redis is unavailable (it logs and backs off);
	// it returns false when the worker is stopping.
	wait func(ctx context.Context, err error) bool
	// known is what Read.LastKnown keys held when last read (shared by a
	// worker's partitions); stale says the last batch used some of it
	// (logged when that starts and ends).
	known *streams.LastKnown
	stale bool
}

// maxRememberedErrors bounds the last-error memory used for DLQ messages.
const maxRememberedErrors = 1000

// outcome is what became of one delivery of a batch.
type outcome struct {
	d       streams.Delivery
	disp    disposition
	summary string
	err     error // why it failed, or why it is dead
}

// execute handles a batch in stream order and returns the deliveries to
// try again with the next batch (arrived before their predecessor).
//
// ctx is the worker's: when it is cancelled the batch in hand is still
// finished (its writes run on a context that is not cancelled with it), so
// a stop never cuts an effect from its acknowledgement.
func (x *executor) execute(ctx context.Context, batch []streams.Delivery) []streams.Delivery {
	if len(batch) == 0 {
		return nil
	}
	wctx := survivor(ctx)
	outcomes, early, ok := x.handle(ctx, wctx, batch)
	if !ok || killed(ctx) {
		// Stopping while Redis is away, or killed: the batch stays
		// pending, and a killed worker says nothing more.
		return nil
	}
	return x.settle(ctx, wctx, outcomes, early)
}

// handle reads, vets, decides and writes a batch, and says what became of
// each delivery; early are the dead letters written with the effects. It
// reports false when the worker stopped while Redis was away.
func (x *executor) handle(ctx, wctx context.Context, batch []streams.Delivery) ([]outcome, []int, bool) {
	snap, ok := x.read(ctx, wctx, batch)
	if !ok {
		return nil, nil, false
	}
	outcomes := make([]outcome, len(batch))
	var handle []int
	for i := range batch {
		d := batch[i]
		if d.Err == nil && len(d.Fields) > 0 {
			d.Err = snap.Vet(d)
		}
		disp, why := dispose(d, errUnhandled, x.o)
		outcomes[i] = outcome{d: d, disp: disp, err: why}
		if disp == toHandle {
			handle = append(handle, i)
		}
	}
	handled := make([]streams.Delivery, len(handle))
	for j, i := range handle {
		handled[j] = outcomes[i].d
	}
	decisions := x.h.Decide(wctx, handled, snap)
	if len(decisions) != len(handled) {
		err := fmt.Errorf("handler %s decided %d of %d deliveries", x.label, len(decisions), len(handled))
		for _, i := range handle {
			outcomes[i].disp, outcomes[i].err = toLeavePending, err
		}
		decisions = nil
	}

	// One pipeline: every decision's effects, then the dead letters known
	// before handling.
	var effects []scripts.Effect
	first := make([]int, len(decisions)) // index of each decision's first effect
	for j, dec := range decisions {
		first[j] = len(effects)
		if dec.Err == nil {
			effects = append(effects, dec.Effects...)
		}
	}
	var early []int
	for i, oc := range outcomes {
		if oc.disp == toDeadLetter {
			early = append(early, i)
			effects = append(effects, x.deadLetter(oc.d, x.cause(oc.d, oc.err)))
		}
	}
	replies, errs, ok := x.write(ctx, wctx, effects)
	if !ok {
		return nil, nil, false
	}
	for j, dec := range decisions {
		i := handle[j]
		summary, err := dec.Summary, dec.Err
		if err == nil {
			n := len(dec.Effects)
			for k := first[j]; k < first[j]+n; k++ {
				if errs[k] != nil {
					err = errs[k]
					break
				}
			}
			if err == nil && dec.Explain != nil {
				summary, err = dec.Explain(replies[first[j] : first[j]+n])
			}
		}
		if summary == "" {
			summary = "handled"
		}
		disp, why := dispose(outcomes[i].d, err, x.o)
		outcomes[i].disp, outcomes[i].summary, outcomes[i].err = disp, summary, why
		if err != nil && disp != toDeadLetter {
			outcomes[i].err = err
		}
	}
	dead := len(effects) - len(early)
	for k, i := range early {
		outcomes[i].summary = deadLetterSummary(replies[dead+k], errs[dead+k])
	}
	return outcomes, early, true
}

// read fetches what the batch needs: each claim's aggregate (for the
// integrity rule) and the handler's reads, in one pipeline.
func (x *executor) read(ctx, wctx context.Context, batch []streams.Delivery) (*streams.Snapshot, bool) {
	reads := x.h.Needs(batch)
	var claimIDs []string
	seen := map[string]bool{}
	for _, d := range batch {
		if d.Err == nil && len(d.Fields) > 0 && !seen[d.Event.ClaimID] {
			seen[d.Event.ClaimID] = true
			claimIDs = append(claimIDs, d.Event.ClaimID)
		}
	}
	for {
		snap, err := x.s.ReadSnapshot(wctx, claimIDs, reads, x.known)
		if err == nil {
			stale, why := snap.Stale()
			switch {
			case len(stale) > 0 && !x.stale:
				x.logf("redis unavailable for %s: deciding with the value last read (%s)", strings.Join(stale, ", "), why)
			case len(stale) == 0 && x.stale:
				x.logf("every read is current again")
			}
			x.stale = len(stale) > 0
			return snap, true
		}
		if !x.wait(ctx, err) {
			return nil, false
		}
	}
}

// write carries out the effects, waiting while Redis is unavailable (every
// effect is idempotent, so a write that half happened is simply sent again).
func (x *executor) write(ctx, wctx context.Context, effects []scripts.Effect) ([]scripts.Reply, []error, bool) {
	return x.writeWith(ctx, wctx, nil, effects)
}

// writeWith is write with plain commands sent first in the same pipeline.
func (x *executor) writeWith(ctx, wctx context.Context, first func(redis.Pipeliner), effects []scripts.Effect) ([]scripts.Reply, []error, bool) {
	for {
		if killed(ctx) {
			return nil, nil, false // a killed worker writes nothing more
		}
		replies, errs, err := x.s.RunAll(wctx, first, effects)
		if err == nil {
			for _, e := range errs {
				if redisconn.Transient(e) {
					err = e
					break
				}
			}
		}
		if err == nil {
			return replies, errs, true
		}
		if !x.wait(ctx, err) {
			return nil, nil, false
		}
	}
}

// settle acknowledges what is done, dead-letters what failed for good (in
// one more pipeline), logs the batch and returns what to retry soon.
// early are the dead letters written with the effects.
func (x *executor) settle(ctx, wctx context.Context, outcomes []outcome, early []int) []streams.Delivery {
	var late []int
	acks := map[string][]string{} // stream -> ids
	var retry []streams.Delivery
	isEarly := map[int]bool{}
	for _, i := range early {
		isEarly[i] = true
	}
	for i := range outcomes {
		oc := &outcomes[i]
		switch oc.disp {
		case toAck:
			acks[oc.d.Stream] = append(acks[oc.d.Stream], oc.d.ID)
			delete(x.lastErr, oc.d.ID)
		case toRetrySoon:
			d := oc.d
			d.Attempts++
			retry = append(retry, d)
		case toDeadLetter:
			if !isEarly[i] {
				late = append(late, i)
			}
		case toLeavePending:
			if oc.err != nil {
				if len(x.lastErr) >= maxRememberedErrors {
					clear(x.lastErr)
				}
				x.lastErr[oc.d.ID] = oc.err.Error()
			}
		}
	}
	var effects []scripts.Effect
	for _, i := range late {
		effects = append(effects, x.deadLetter(outcomes[i].d, x.cause(outcomes[i].d, outcomes[i].err)))
	}
	if len(acks) > 0 || len(effects) > 0 {
		ack := func(pipe redis.Pipeliner) {
			for stream, ids := range acks {
				pipe.XAck(wctx, stream, x.h.Group(), ids...)
				if x.s.Keys().IsRetry(stream) {
					// Handled: only this group reads it, and the log keeps
					// the event.
					pipe.XDel(wctx, stream, ids...)
				}
			}
		}
		if replies, errs, ok := x.writeWith(ctx, wctx, ack, effects); ok {
			for k, i := range late {
				outcomes[i].summary = deadLetterSummary(replies[k], errs[k])
			}
		}
	}
	x.log(outcomes)
	if ab, ok := x.h.(AfterBatcher); ok {
		applied := 0
		for _, oc := range outcomes {
			if oc.disp == toAck && oc.err == nil && len(oc.d.Fields) > 0 {
				applied++
			}
		}
		if note := ab.AfterBatch(wctx, applied); note != "" {
			x.logf("%s", note)
		}
	}
	return retry
}

// deadLetter is the effect that moves d to the DLQ with its cause.
func (x *executor) deadLetter(d streams.Delivery, cause error) scripts.Effect {
	return deadLetterEffect(x.s, x.h.Group(), d, cause, d.Deliveries)
}

// cause is why d is dead, with the last error it failed with when it gave
// up after too many deliveries.
func (x *executor) cause(d streams.Delivery, why error) error {
	if last := x.lastErr[d.ID]; last != "" && d.Err == nil && !strings.Contains(why.Error(), last) {
		return fmt.Errorf("%w; last error: %s", why, last)
	}
	return why
}

func deadLetterSummary(r scripts.Reply, err error) string {
	switch {
	case err != nil:
		return "dead-letter failed (left pending): " + err.Error()
	case r.Status == "gone":
		return "dead-lettered or acked by another consumer already"
	}
	return "dead-lettered as " + r.Detail
}

// log writes one line per delivery with Verbose, else one line for the
// batch; incidents (dead letters, failures) always get a line of their own.
func (x *executor) log(outcomes []outcome) {
	// An entry's fields, summaries and errors may come from another tool's
	// XADD: each line is escaped, so none can forge a line or drive the
	// terminal.
	say := func(line string) { x.o.Log(claims.Printable(line)) }
	var handled, retried, pending int
	for _, oc := range outcomes {
		if !x.o.Verbose && (oc.disp == toAck || oc.disp == toRetrySoon) {
			// Counted for the batch line; no line of its own.
			if oc.disp == toAck {
				handled++
			} else {
				retried++
			}
			continue
		}
		line := x.prefix(oc.d)
		switch oc.disp {
		case toAck:
			handled++
			if x.o.Verbose {
				say(line + " -> " + orDefault(oc.summary, "acked"))
			}
		case toRetrySoon:
			retried++
			if x.o.Verbose {
				say(fmt.Sprintf("%s -> arrived before its predecessor; tried again with the next batch (%d of %d)", line, oc.d.Attempts+1, retrySoonLimit))
			}
		case toLeavePending:
			pending++
			if oc.err != nil {
				say(fmt.Sprintf("%s -> error (delivery %d of %d; left pending, retried once idle for %s): %v",
					line, oc.d.Deliveries, x.o.MaxDeliveries, x.o.MinIdle, oc.err))
			}
		case toDeadLetter:
			say(fmt.Sprintf("%s -> %s to %s after %s: %v", line, oc.summary, x.s.Keys().DLQOf(oc.d.Stream), claims.Plural(oc.d.Deliveries, "delivery", "deliveries"), x.cause(oc.d, oc.err)))
		}
	}
	if !x.o.Verbose && handled+retried > 0 {
		note := fmt.Sprintf("batch of %d: %d handled", len(outcomes), handled)
		if retried > 0 {
			note += fmt.Sprintf(", %d to retry (arrived before their predecessor)", retried)
		}
		if pending > 0 {
			note += fmt.Sprintf(", %d left pending", pending)
		}
		x.logf("%s", note)
	}
}

// prefix starts a log line: "processor w1  1795597353284-0  claim.submitted  3f9c1234 v1".
func (x *executor) prefix(d streams.Delivery) string {
	head := fmt.Sprintf("%s %s  %s", x.label, x.o.Consumer, d.ID)
	if d.RetryOf != "" {
		head += " (retry of " + d.RetryOf + ")"
	}
	if d.Err != nil || len(d.Fields) == 0 {
		return head + "  (not a claim event)"
	}
	return fmt.Sprintf("%s  %s  %s v%d", head, d.Event.Type, claims.Short(d.Event.ClaimID), d.Event.Version)
}

func (x *executor) logf(format string, args ...any) {
	x.o.Log(claims.Printable(fmt.Sprintf("%s %s  ", x.label, x.o.Consumer) + fmt.Sprintf(format, args...)))
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// HandleOne runs one delivery through h as a worker's executor does (read,
// vet, decide, write) but neither acknowledges nor dead-letters it: for
// driving a handler by hand, as the store's worker tests do. It returns
// the log summary and the error the delivery failed with (for a dead
// letter, why).
func HandleOne(ctx context.Context, s *streams.Store, h Handler, d streams.Delivery) (string, error) {
	x := &executor{s: s, h: h, o: Options{}.withDefaults(h.Group()), label: h.Label(), lastErr: map[string]string{},
		wait: func(context.Context, error) bool { return false }}
	outcomes, _, ok := x.handle(ctx, ctx, []streams.Delivery{d})
	if !ok {
		return "", fmt.Errorf("handle %s: redis unavailable", d.ID)
	}
	return outcomes[0].summary, outcomes[0].err
}
