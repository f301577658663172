package luaapi

import (
	"context"
	"sync"
	"time"

	"claimsctl/streams"
	"claimsctl/streams/claims"
	"claimsctl/streams/redisconn"

	"github.com/google/uuid"
	lua "github.com/yuin/gopher-lua"
)

const (
	// DefaultLoopEvery is submit_loop's pause between one claim's
	// acknowledgement and the next claim.
	DefaultLoopEvery = 20 * time.Millisecond
	// loopRetryEvery is how long the loop waits before it tries a claim
	// Redis could not take again (the store itself retries each attempt
	// with backoff for up to Options.RetryFor first).
	loopRetryEvery = 100 * time.Millisecond
	// loopStopWait bounds how long stop() lets the claim in flight keep
	// trying once asked to stop; one still not acknowledged then is unsure.
	loopStopWait = 30 * time.Second
	// loopSampleBatch is how many sample claims the loop generates at once.
	loopSampleBatch = 1000
)

// loopSet is the submit loops of one Runtime, stopped when it closes.
type loopSet struct {
	mu    sync.Mutex
	loops []*submitLoop
}

func (s *loopSet) add(l *submitLoop) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loops = append(s.loops, l)
}

// stopAll abandons every loop's claim in flight (Runtime.Close: the
// session ends) and waits for their goroutines.
func (s *loopSet) stopAll() {
	s.mu.Lock()
	loops := s.loops
	s.mu.Unlock()
	for _, l := range loops {
		l.cancel()
		<-l.done
	}
}

// submitLoop is submit_loop(): sample claims filed one after another in a
// goroutine of its own, as a service in front of the store would file
// them, while the session goes on (starts workers, breaks things, watches).
// Each claim is submitted under an event id of its own and, if Redis
// cannot take it, tried again under the same id until it is acknowledged:
// an attempt that landed unseen is then returned, not written twice.
type submitLoop struct {
	store    *streams.Store
	every    time.Duration
	stopping chan struct{}      // closed by stop(): no new claim after the one in flight
	cancel   context.CancelFunc // Runtime.Close: abandon the one in flight too
	done     chan struct{}

	mu      sync.Mutex
	stopped bool
	ids     []string      // acknowledged claims, in order
	failed  int           // claims refused for good (not a Redis outage)
	retried int           // attempts Redis could not take, tried again
	lastID  string        // the last acknowledged claim and its entry
	lastIn  string        // its stream (the claim's partition)
	lastAt  string        // and entry id
	lastErr string        // the last error an attempt met
	waiting time.Time     // when the claim in flight was first tried; zero: none
	longest time.Duration // the longest a claim took from first try to acknowledgement
	unsure  []string      // claims in flight when the loop was abandoned: they may have landed
}

func newSubmitLoop(store *streams.Store, every time.Duration) *submitLoop {
	ctx, cancel := context.WithCancel(redisconn.Untraced(context.Background()))
	l := &submitLoop{store: store, every: every, stopping: make(chan struct{}), cancel: cancel, done: make(chan struct{})}
	go l.run(ctx)
	return l
}

func (l *submitLoop) run(ctx context.Context) {
	defer close(l.done)
	var batch []claims.SampleClaim
	for i := 0; ; i++ {
		select {
		case <-l.stopping:
			return
		case <-ctx.Done():
			return
		default:
		}
		if i%loopSampleBatch == 0 {
			batch = claims.SampleClaims(loopSampleBatch, int64(i/loopSampleBatch+1), time.Now())
		}
		c := batch[i%loopSampleBatch]
		sub := streams.Submission{CustomerID: c.CustomerID, PolicyID: c.PolicyID, Amount: c.Amount,
			ClaimType: c.ClaimType, IncidentDate: c.IncidentDate, Description: c.Description, ClaimID: uuid.NewString()}
		if !l.submit(ctx, sub, uuid.NewString()) {
			return
		}
		if l.every > 0 {
			select {
			case <-l.stopping:
				return
			case <-ctx.Done():
				return
			case <-time.After(l.every):
			}
		}
	}
}

// submit files one claim, trying again while Redis is unavailable; false
// when the loop was abandoned meanwhile.
func (l *submitLoop) submit(ctx context.Context, sub streams.Submission, eventID string) bool {
	first := time.Now()
	l.mu.Lock()
	l.waiting = first
	l.mu.Unlock()
	var deadline time.Time // once stop() is called
	for {
		ev, claim, err := l.store.Submit(ctx, sub, streams.EmitOptions{EventID: eventID})
		l.mu.Lock()
		switch {
		case err == nil:
			l.ids = append(l.ids, claim.ID)
			l.lastID, l.lastAt = claim.ID, ev.ID
			l.lastIn = l.store.Keys().Partition(l.store.Keys().PartitionOf(claim.ID)).Events()
			l.longest = max(l.longest, time.Since(first))
			l.waiting = time.Time{}
			l.mu.Unlock()
			return true
		case ctx.Err() == nil && !redisconn.Transient(err):
			l.failed++
			l.lastErr = err.Error()
			l.waiting = time.Time{}
			l.mu.Unlock()
			return true
		}
		l.retried++
		l.lastErr = err.Error()
		if deadline.IsZero() && l.stopped {
			deadline = time.Now().Add(loopStopWait)
		}
		if ctx.Err() != nil || (!deadline.IsZero() && time.Now().After(deadline)) {
			// It may have landed: the caller cannot tell.
			l.unsure = append(l.unsure, sub.ClaimID)
			l.waiting = time.Time{}
			l.mu.Unlock()
			return false
		}
		l.mu.Unlock()
		select {
		case <-ctx.Done():
		case <-time.After(loopRetryEvery):
		}
	}
}

func (l *submitLoop) stop() {
	l.mu.Lock()
	if !l.stopped {
		l.stopped = true
		close(l.stopping)
	}
	l.mu.Unlock()
	<-l.done
}

// status is the loop's progress as a Lua table; with ids, every
// acknowledged claim's id too.
func (l *submitLoop) status(L *lua.LState, ids bool) *lua.LTable {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := L.NewTable()
	t.RawSetString("submitted", lua.LNumber(len(l.ids)))
	t.RawSetString("failed", lua.LNumber(l.failed))
	t.RawSetString("retried", lua.LNumber(l.retried))
	t.RawSetString("last_id", lua.LString(l.lastID))
	t.RawSetString("last_stream", lua.LString(l.lastIn))
	t.RawSetString("last_entry", lua.LString(l.lastAt))
	t.RawSetString("last_error", lua.LString(l.lastErr))
	waiting := int64(0)
	if !l.waiting.IsZero() {
		waiting = time.Since(l.waiting).Milliseconds()
	}
	t.RawSetString("waiting_ms", lua.LNumber(waiting))
	t.RawSetString("longest_ms", lua.LNumber(l.longest.Milliseconds()))
	t.RawSetString("running", lua.LBool(!l.stopped))
	if ids {
		t.RawSetString("ids", toLua(L, l.ids))
		t.RawSetString("unsure", toLua(L, append([]string{}, l.unsure...)))
	}
	return t
}

func (m *produceModule) submitLoop(L *lua.LState) int {
	o := optionsAt(L, 1, "submit_loop", "every")
	every := o.millis("every", DefaultLoopEvery, 0)
	l := newSubmitLoop(m.store, every)
	m.loops.add(l)
	handle := L.NewTable()
	handle.RawSetString("status", L.NewFunction(func(L *lua.LState) int {
		L.Push(l.status(L, false))
		return 1
	}))
	handle.RawSetString("stop", L.NewFunction(func(L *lua.LState) int {
		l.stop()
		L.Push(l.status(L, true))
		return 1
	}))
	L.Push(handle)
	return 1
}
