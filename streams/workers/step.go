package workers

import (
	"claimsctl/streams"
	"context"
	"fmt"

	"claimsctl/streams/claims"
)

// Stepper runs a worker one batch at a time, when told, instead of in a
// loop of its own: a seeded run (claimsctl --seed) steps its workers in a
// fixed order, so what they read, decide and write, and in which order, is
// the same on every run. A batch is carried out exactly as Run's
// are (the same executor: snapshot, vet, decide, write, acknowledge). A
// stepper never blocks and never takes over idle entries (XAUTOCLAIM
// depends on how long they waited): what it retries goes with its next
// batch, as a worker's does. Like an LState, it is for one goroutine.
type Stepper struct {
	s     *streams.Store
	h     Handler
	o     Options
	loops []*worker
	retry [][]streams.Delivery // per partition: to try again with its next batch
	own   []bool               // per partition: this consumer's own pending entries were read
	ready bool                 // the group exists
	next  int                  // the partition the next step looks at first
}

// NewStepper is a worker of h as consumer o.Consumer that runs only when
// Step is called. o.Block, MinIdle and RecoverEvery do not apply.
func NewStepper(s *streams.Store, h Handler, o Options) (*Stepper, error) {
	if h == nil {
		return nil, fmt.Errorf("step worker: no handler: %w", claims.ErrInvalid)
	}
	group := h.Group()
	o = o.withDefaults(group)
	if err := claims.ValidName("group", group); err != nil {
		return nil, fmt.Errorf("step worker: %w", err)
	}
	if err := claims.ValidName("consumer", o.Consumer); err != nil {
		return nil, fmt.Errorf("step worker %s: %w", group, err)
	}
	events := s.Keys().EventStreams()
	st := &Stepper{s: s, h: h, o: o, retry: make([][]streams.Delivery, len(events)), own: make([]bool, len(events))}
	known := streams.NewLastKnown()
	for i, stream := range events {
		w := &worker{s: s, h: h, o: o, stream: stream}
		w.x = &executor{s: s, h: h, o: o, label: h.Label(), lastErr: map[string]string{}, known: known, wait: w.trouble}
		if len(events) > 1 {
			w.x.label += fmt.Sprintf("[p%d]", i)
		}
		st.loops = append(st.loops, w)
	}
	return st, nil
}

// Group is the consumer group the stepper reads.
func (st *Stepper) Group() string { return st.h.Group() }

// Consumer is its consumer name in that group.
func (st *Stepper) Consumer() string { return st.o.Consumer }

// Step carries out one batch, of the first partition (in turn, from the
// one after the last step's) that has entries for this consumer: its own
// pending entries first (a restarted worker finishes what it had been
// given), then entries new to the group (XREADGROUP > without BLOCK), with
// what the last batch left to retry. It returns how many entries the batch
// held, 0 when there was nothing to do. A Redis error is returned, not
// waited out: the caller steps again when it likes.
func (st *Stepper) Step(ctx context.Context) (int, error) {
	if !st.ready {
		if err := st.s.EnsureGroup(ctx, st.h.Group()); err != nil {
			return 0, err
		}
		st.ready = true
		st.loops[0].x.logf("started: group %s, stepped (a seeded run): one batch of up to %d at a time, in turn with the session's other workers", st.h.Group(), st.o.Count)
	}
	n := len(st.loops)
	for k := range n {
		i := (st.next + k) % n
		w := st.loops[i]
		var batch []streams.Delivery
		if !st.own[i] {
			ds, err := readOwnPending(ctx, st.s, w.stream, st.h.Group(), st.o.Consumer, "0", st.o.Count)
			if err != nil {
				return 0, err
			}
			if len(ds) == 0 {
				st.own[i] = true
			} else {
				w.x.logf("re-reading %d of its own pending entries", len(ds))
				batch = ds
			}
		}
		if batch == nil {
			ds, err := st.s.ReadGroup(ctx, streams.GroupRead{Stream: w.stream, Group: st.h.Group(), Consumer: st.o.Consumer, Start: ">", Count: st.o.Count})
			if err != nil {
				return 0, err
			}
			batch = append(st.retry[i], ds...)
		}
		if len(batch) == 0 {
			continue
		}
		st.retry[i] = w.x.execute(ctx, batch)
		st.next = (i + 1) % n
		return len(batch), nil
	}
	return 0, nil
}

// Stop ends the stepper as a stopped worker ends: a handler that buffers
// something (the analytics snapshot) writes it.
func (st *Stepper) Stop(ctx context.Context) {
	if st.ready {
		st.loops[0].flush(ctx)
		st.loops[0].x.logf("stopped")
	}
}
