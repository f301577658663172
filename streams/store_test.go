package streams

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"claimsctl/streams/claims"
	"claimsctl/streams/redisconn"
	"claimsctl/streams/redistest"
	"claimsctl/streams/streamview"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// keysOf lists every key of the store's prefix, sorted: on a cluster,
// those of every master (KEYS on the cluster client asks one node).
func keysOf(t *testing.T, s *Store) []string {
	t.Helper()
	ctx := context.Background()
	pattern := redisconn.GlobEscape(s.Keys().Prefix) + "*"
	var (
		mu   sync.Mutex
		keys []string
	)
	collect := func(ctx context.Context, c redis.Cmdable) error {
		found, err := c.Keys(ctx, pattern).Result()
		mu.Lock()
		keys = append(keys, found...)
		mu.Unlock()
		return err
	}
	if cc, ok := s.Client().(*redis.ClusterClient); ok {
		require.NoError(t, cc.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error { return collect(ctx, node) }))
	} else {
		require.NoError(t, collect(ctx, s.Client()))
	}
	sort.Strings(keys)
	return keys
}

// replayAll returns every entry of claims:events through Replay.
func replayAll(t *testing.T, s *Store, opts ReplayOptions) []Delivery {
	t.Helper()
	var out []Delivery
	require.NoError(t, s.Replay(context.Background(), opts, func(d Delivery) error {
		out = append(out, d)
		return nil
	}))
	return out
}

func deliveryIDs(ds []Delivery) []string {
	var ids []string
	for _, d := range ds {
		ids = append(ids, d.ID)
	}
	return ids
}

func TestStoreLifecycle(t *testing.T) {
	t.Parallel()
	forEachBackendWith(t, Options{Actor: "lab"}, func(t *testing.T, s *Store, _ *fakeClock) {
		ctx := context.Background()
		ev, c, err := s.Submit(ctx, testSubmission(), EmitOptions{})
		require.NoError(t, err)
		assert.Len(t, c.ID, 36, "a new claim gets a uuid")
		assert.Equal(t, c.ID, ev.ClaimID)
		assert.Equal(t, claims.ClaimSubmitted, ev.Type)
		assert.Equal(t, int64(1), ev.Version)
		assert.Equal(t, "lab", ev.Actor)
		assert.NotEmpty(t, ev.EventID)
		assert.True(t, claims.ValidStreamID(ev.ID), "stream id %q", ev.ID)
		assert.Equal(t, claims.StatusSubmitted, c.Status)
		assert.Equal(t, []string{ev.ID}, c.Entries)

		ids := []string{ev.ID}
		for i, st := range lifecycleSteps() {
			ev, c, err = s.Emit(ctx, c.ID, st.Type, st.Data, EmitOptions{Actor: "ADJ-001"})
			require.NoError(t, err, "step %d %s", i, st.Type)
			assert.Equal(t, int64(i+2), ev.Version)
			assert.Equal(t, "ADJ-001", ev.Actor)
			assert.Equal(t, int64(i+2), c.Version)
			ids = append(ids, ev.ID)
		}
		assert.Equal(t, claims.StatusPaid, c.Status)
		assert.Equal(t, 2000.0, c.PaidAmount)
		assert.Equal(t, ids, c.Entries)
		assert.Equal(t, int64(8), xlen(t, s))

		stored, err := s.Claim(ctx, c.ID)
		require.NoError(t, err)
		assert.Equal(t, c, stored, "the aggregate holds what Emit returned")

		// The wire format is readable without this tool.
		msgs, err := s.Client().XRange(ctx, s.Keys().ForClaim(c.ID).Events(), ids[5], ids[5]).Result()
		require.NoError(t, err)
		require.Len(t, msgs, 1)
		assert.Equal(t, "claim.approved", msgs[0].Values["type"])
		assert.Equal(t, c.ID, msgs[0].Values["claim_id"])
		assert.Equal(t, "6", msgs[0].Values["version"])
		assert.Equal(t, `{"approved_amount":2000}`, msgs[0].Values["data"])
		assert.Equal(t, "2026-11-25T10:00:00.000Z", msgs[0].Values["occurred_at"])
		assert.Equal(t, "1", msgs[0].Values["schema"])

		_, err = s.Claim(ctx, "no-such-claim")
		assert.ErrorIs(t, err, claims.ErrNotFound)
	})
}

func TestStoreEmitOnUnknownClaim(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, s *Store) {
		_, _, err := s.Emit(context.Background(), "C-404", claims.ClaimAssigned, map[string]any{"adjuster": "A"}, EmitOptions{})
		require.Error(t, err)
		assert.ErrorIs(t, err, claims.ErrNotFound)
		assert.Contains(t, err.Error(), "assign C-404: claim C-404 has no events (submit it first)")
		assert.Empty(t, keysOf(t, s))
	})
}

func TestStoreInvalidInputWritesNothing(t *testing.T) {
	t.Parallel()
	sub := func(edit func(*Submission)) Submission {
		s := testSubmission()
		edit(&s)
		return s
	}
	tests := []struct {
		name  string
		sub   Submission
		field string
	}{
		{"negative amount", sub(func(s *Submission) { s.Amount = -1 }), "amount"},
		{"zero amount", sub(func(s *Submission) { s.Amount = 0 }), "amount"},
		{"unknown claim type", sub(func(s *Submission) { s.ClaimType = "boat" }), "claim_type"},
		{"future incident", sub(func(s *Submission) { s.IncidentDate = "2026-11-26" }), "incident_date"},
		{"missing customer", sub(func(s *Submission) { s.CustomerID = "" }), "customer_id"},
	}
	forEachBackendWith(t, Options{}, func(t *testing.T, s *Store, _ *fakeClock) {
		ctx := context.Background()
		for _, tt := range tests {
			_, c, err := s.Submit(ctx, tt.sub, EmitOptions{EventID: "ev-" + tt.name})
			require.Error(t, err, tt.name)
			assert.Nil(t, c)
			assert.ErrorIs(t, err, claims.ErrInvalid, tt.name)
			var ve *claims.ValidationError
			require.ErrorAs(t, err, &ve, tt.name)
			assert.Equal(t, tt.field, ve.Field, tt.name)
			assert.Contains(t, err.Error(), "submit: claim.submitted: "+tt.field, tt.name)
		}
		_, _, err := s.Emit(ctx, "C-1", claims.ClaimSubmitted, withField(validPayloads()[claims.ClaimSubmitted], "amout", 1.0), EmitOptions{})
		assert.ErrorIs(t, err, claims.ErrInvalid)
		assert.Contains(t, err.Error(), "amout is not a field of this event")
		_, _, err = s.Emit(ctx, " ", claims.ClaimAssigned, map[string]any{"adjuster": "A"}, EmitOptions{})
		assert.ErrorIs(t, err, claims.ErrInvalid)
		assert.Contains(t, err.Error(), "claim_id must not be empty")

		assert.Zero(t, xlen(t, s))
		assert.Empty(t, keysOf(t, s), "no stream, aggregate or event-id key")
	})
}

func TestStoreInvalidTransitionWritesNothing(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		c := submitAndRun(t, s)
		keys := keysOf(t, s)
		tests := []struct {
			name string
			typ  claims.EventType
			data map[string]any
			is   error
			msg  string
		}{
			{"approve a submitted claim", claims.ClaimApproved, map[string]any{"approved_amount": 100.0}, claims.ErrInvalidTransition,
				"approve " + claims.Short(c.ID) + ": claim is submitted; claim.approved needs an investigated claim (nothing written)"},
			{"pay before approve", claims.PaymentInitiated, map[string]any{}, claims.ErrInvalidTransition,
				"claim is submitted; claim.payment.initiated needs an approved claim"},
			{"investigate started on a submitted claim", claims.ClaimInvestigated, map[string]any{"phase": "started"}, claims.ErrInvalidTransition,
				"claim.investigated needs an assigned claim"},
			{"submit twice", claims.ClaimSubmitted, validPayloads()[claims.ClaimSubmitted], claims.ErrInvalidTransition,
				"claim.submitted needs a new claim id"},
		}
		for _, tt := range tests {
			_, got, err := s.Emit(ctx, c.ID, tt.typ, tt.data, EmitOptions{})
			require.Error(t, err, tt.name)
			assert.Nil(t, got)
			assert.ErrorIs(t, err, tt.is, tt.name)
			assert.Contains(t, err.Error(), tt.msg, tt.name)
		}
		assert.Equal(t, int64(1), xlen(t, s))
		assert.Equal(t, keys, keysOf(t, s))
		stored, err := s.Claim(ctx, c.ID)
		require.NoError(t, err)
		assert.Equal(t, c, stored)

		// A cross-event rule refuses as well: approve more than claimed.
		c = submitAndRun(t, s, lifecycleSteps()[:4]...)
		n := xlen(t, s)
		_, _, err = s.Emit(ctx, c.ID, claims.ClaimApproved, map[string]any{"approved_amount": 2500.5}, EmitOptions{})
		assert.ErrorIs(t, err, claims.ErrInvalid)
		assert.Contains(t, err.Error(), "approved_amount must be at most the claimed amount 2500, got 2500.50")
		assert.Equal(t, n, xlen(t, s))
	})
}

func TestStoreStaleExpectedVersion(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		c := submitAndRun(t, s, lifecycleSteps()[0])
		require.Equal(t, int64(2), c.Version)
		for _, expected := range []int64{0, 1, 3} {
			_, got, err := s.Emit(ctx, c.ID, claims.DocumentUploaded, map[string]any{"document_type": "photo", "filename": "x.jpg"},
				EmitOptions{ExpectedVersion: &expected})
			require.Error(t, err)
			assert.Nil(t, got)
			assert.ErrorIs(t, err, claims.ErrConflict)
			var ce *claims.ConflictError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, claims.ConflictError{ClaimID: c.ID, Expected: expected, Actual: 2}, *ce)
			assert.Contains(t, err.Error(), fmt.Sprintf("claim is at version 2, not the expected %d", expected))
		}
		assert.Equal(t, int64(2), xlen(t, s))

		current := int64(2)
		ev, _, err := s.Emit(ctx, c.ID, claims.DocumentUploaded, map[string]any{"document_type": "photo", "filename": "x.jpg"},
			EmitOptions{ExpectedVersion: &current})
		require.NoError(t, err)
		assert.Equal(t, int64(3), ev.Version)
	})
}

// TestStoreRacingWriters has many writers decide one investigated claim at
// once: the version check in the append script lets exactly one through.
func TestStoreRacingWriters(t *testing.T) {
	t.Parallel()
	const writers = 20
	for _, mode := range []string{"expected version", "version just read"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			forEachBackend(t, func(t *testing.T, s *Store) {
				ctx := context.Background()
				c := submitAndRun(t, s, lifecycleSteps()[:4]...)
				require.Equal(t, claims.StatusInvestigated, c.Status)
				version := c.Version

				start := make(chan struct{})
				errs := make([]error, writers)
				events := make([]claims.Event, writers)
				var wg sync.WaitGroup
				for i := range writers {
					wg.Go(func() {
						typ, data := claims.ClaimApproved, map[string]any{"approved_amount": 1000.0 + float64(i)}
						if i%2 == 1 {
							typ, data = claims.ClaimRejected, map[string]any{"reason": fmt.Sprintf("writer %d says no", i)}
						}
						opts := EmitOptions{Actor: fmt.Sprintf("writer-%d", i)}
						if mode == "expected version" {
							opts.ExpectedVersion = &version
						}
						<-start
						events[i], _, errs[i] = s.Emit(ctx, c.ID, typ, data, opts)
					})
				}
				close(start)
				wg.Wait()

				winner := -1
				for i, err := range errs {
					if err == nil {
						assert.Equal(t, -1, winner, "writers %d and %d both won", winner, i)
						winner = i
						continue
					}
					if !errors.Is(err, claims.ErrConflict) && !errors.Is(err, claims.ErrInvalidTransition) {
						t.Errorf("writer %d: want a conflict or invalid transition, got %v", i, err)
					}
				}
				require.NotEqual(t, -1, winner, "one writer must win")

				decisions := 0
				for _, d := range replayAll(t, s, ReplayOptions{}) {
					require.NoError(t, d.Err)
					if d.Event.Type == claims.ClaimApproved || d.Event.Type == claims.ClaimRejected {
						decisions++
						assert.Equal(t, events[winner].ID, d.ID)
						assert.Equal(t, fmt.Sprintf("writer-%d", winner), d.Event.Actor)
					}
				}
				assert.Equal(t, 1, decisions, "exactly one decision in the stream")
				assert.Equal(t, version+1, xlen(t, s), "stream length: the lifecycle plus one decision")
				stored, err := s.Claim(ctx, c.ID)
				require.NoError(t, err)
				assert.Equal(t, version+1, stored.Version)
				assert.True(t, stored.Status.Decided())
			})
		})
	}
}

// TestStoreRetriedAppend retries an append with the same event_id, as a
// caller does after a timeout whose append may or may not have happened.
func TestStoreRetriedAppend(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		sub := testSubmission()
		first, c1, err := s.Submit(ctx, sub, EmitOptions{EventID: "submit-1"})
		require.NoError(t, err)
		again, c2, err := s.Submit(ctx, sub, EmitOptions{EventID: "submit-1"})
		require.NoError(t, err, "a retried submit with the same event id is not an error")
		assert.Equal(t, first.ID, again.ID)
		assert.Equal(t, c1.ID, c2.ID, "the retry names the claim the first call created")
		assert.Equal(t, c1.Version, c2.Version)
		assert.Equal(t, int64(1), xlen(t, s))

		v := int64(1)
		data := map[string]any{"adjuster": "ADJ-001"}
		a1, _, err := s.Emit(ctx, c1.ID, claims.ClaimAssigned, data, EmitOptions{EventID: "assign-1", ExpectedVersion: &v})
		require.NoError(t, err)
		a2, c, err := s.Emit(ctx, c1.ID, claims.ClaimAssigned, data, EmitOptions{EventID: "assign-1", ExpectedVersion: &v})
		require.NoError(t, err, "the retry is not a conflict: its first attempt is the one that moved the claim")
		assert.Equal(t, a1.ID, a2.ID)
		assert.Equal(t, int64(2), a2.Version)
		assert.Equal(t, "assign-1", a2.EventID)
		assert.Equal(t, int64(2), c.Version)
		assert.Equal(t, int64(2), xlen(t, s))

		// Without an expected version a second upload would pass every
		// check in Go (more documents are allowed): the event id stops it.
		upload := map[string]any{"document_type": "photo", "filename": "a.jpg"}
		u1, _, err := s.Emit(ctx, c1.ID, claims.DocumentUploaded, upload, EmitOptions{EventID: "upload-1"})
		require.NoError(t, err)
		u2, c, err := s.Emit(ctx, c1.ID, claims.DocumentUploaded, upload, EmitOptions{EventID: "upload-1"})
		require.NoError(t, err)
		assert.Equal(t, u1.ID, u2.ID)
		full, err := s.Claim(ctx, c.ID)
		require.NoError(t, err)
		assert.Equal(t, 1, full.Documents, "the document is counted once")
		assert.Equal(t, int64(3), xlen(t, s))

		// An event id is one event: reusing it for another event is refused,
		// as a conflict when an expected version says which state the
		// caller saw (the processor's "already decided").
		_, _, err = s.Emit(ctx, c1.ID, claims.ClaimInvestigated, map[string]any{"phase": "started"}, EmitOptions{EventID: "assign-1"})
		assert.ErrorIs(t, err, claims.ErrInvalid)
		assert.Contains(t, err.Error(), `event_id "assign-1" was already used for claim.assigned of claim `+c1.ID)
		_, _, err = s.Emit(ctx, c1.ID, claims.ClaimRejected, map[string]any{"reason": "late"}, EmitOptions{EventID: "assign-1", ExpectedVersion: &v})
		var ce *claims.ConflictError
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, claims.ConflictError{ClaimID: c1.ID, Expected: 1, Actual: 3}, *ce)
		other := submitAndRun(t, s)
		_, _, err = s.Emit(ctx, other.ID, claims.ClaimAssigned, data, EmitOptions{EventID: "assign-1"})
		assert.ErrorIs(t, err, claims.ErrInvalid)
		assert.Equal(t, int64(4), xlen(t, s))
	})
}

// TestStoreAppendsAfterTheServerLostItsScripts: an append whose EVALSHA
// meets NOSCRIPT (a restarted server, SCRIPT FLUSH) loads the scripts
// again and lands, once.
func TestStoreAppendsAfterTheServerLostItsScripts(t *testing.T) {
	t.Parallel()
	forEachBackendWith(t, Options{}, func(t *testing.T, s *Store, _ *fakeClock) {
		ctx := context.Background()
		_, c, err := s.Submit(ctx, testSubmission(), EmitOptions{})
		require.NoError(t, err)
		flush := func(ctx context.Context, node *redis.Client) error { return node.ScriptFlush(ctx).Err() }
		if cc, ok := s.Client().(*redis.ClusterClient); ok {
			require.NoError(t, cc.ForEachMaster(ctx, flush))
		} else {
			require.NoError(t, flush(ctx, s.Client().(*redis.Client)))
		}
		_, c, err = s.Emit(ctx, c.ID, claims.ClaimAssigned, map[string]any{"adjuster": "ADJ-001"}, EmitOptions{})
		require.NoError(t, err)
		assert.Equal(t, int64(2), c.Version)
		_, again, err := s.Submit(ctx, testSubmission(), EmitOptions{})
		require.NoError(t, err)
		assert.Equal(t, int64(1), xlen(t, s)-int64(len(c.Entries)), "each append once: %s", again.ID)
	})
}

func TestStoreConsumeAck(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		var entries []EntryRef
		for range 3 {
			entries = append(entries, entryOf(s, submitAndRun(t, s), 1))
		}
		entries = inConsumeOrder(s, entries)
		group := func() *streamview.GroupState {
			st, err := s.State(ctx)
			require.NoError(t, err)
			g := st.Events().Group(GroupProcessors)
			require.NotNil(t, g)
			return g
		}

		got, err := s.Consume(ctx, GroupProcessors, "w1", ConsumeOptions{Count: 2})
		require.NoError(t, err)
		assert.Equal(t, entries[:2], refsOf(got))
		for _, d := range got {
			require.NoError(t, d.Err)
			assert.Equal(t, claims.ClaimSubmitted, d.Event.Type)
			assert.Equal(t, d.ID, d.Event.ID)
			assert.Equal(t, "claim.submitted", d.Fields["type"])
		}
		g := group()
		assert.Equal(t, int64(2), g.Pending)
		assert.Equal(t, int64(1), g.Lag)
		assert.Equal(t, []streamview.ConsumerState{{Name: "w1", Pending: 2, Idle: g.Consumers[0].Idle}}, g.Consumers)

		// By (stream, id): with partitions a bare id may be pending in two.
		n, err := s.AckEntries(ctx, GroupProcessors, entries[:1])
		require.NoError(t, err)
		assert.Equal(t, int64(1), n)
		n, err = s.AckEntries(ctx, GroupProcessors, entries[:1])
		require.NoError(t, err)
		assert.Zero(t, n, "acking twice is harmless")
		assert.Equal(t, int64(1), group().Pending)

		// Another consumer gets the rest; w1's own pending entry is re-read with Pending.
		got, err = s.Consume(ctx, GroupProcessors, "w2", ConsumeOptions{})
		require.NoError(t, err)
		assert.Equal(t, entries[2:], refsOf(got))
		got, err = s.Consume(ctx, GroupProcessors, "w1", ConsumeOptions{Pending: true})
		require.NoError(t, err)
		assert.Equal(t, entries[1:2], refsOf(got))
		got, err = s.Consume(ctx, GroupProcessors, "w1", ConsumeOptions{})
		require.NoError(t, err)
		assert.Empty(t, got, "nothing new: a non-blocking read returns at once")

		g = group()
		assert.Equal(t, int64(2), g.Pending)
		assert.Zero(t, g.Lag)
		n, err = s.AckEntries(ctx, GroupProcessors, entries[1:])
		require.NoError(t, err)
		assert.Equal(t, int64(2), n)
		assert.Zero(t, group().Pending)

		n, err = s.Ack(ctx, GroupProcessors)
		require.NoError(t, err)
		assert.Zero(t, n)
		_, err = s.Ack(ctx, GroupProcessors, "not-an-id")
		assert.ErrorIs(t, err, claims.ErrInvalid)
		_, err = s.Consume(ctx, GroupProcessors, "w 1", ConsumeOptions{})
		assert.ErrorIs(t, err, claims.ErrInvalid)
		_, err = s.Consume(ctx, "", "w1", ConsumeOptions{})
		assert.ErrorIs(t, err, claims.ErrInvalid)
	})
}

// blockingReadSeen is a go-redis hook that closes seen when the first
// blocking read is on its way to the server: the moment to cancel a
// blocked consumer, or to append what it waits for. One stream waits in
// XREADGROUP; several (partitions) wait in XREAD, which takes nothing
// from the group.
type blockingReadSeen struct {
	once sync.Once
	seen chan struct{}
}

func watchBlockingReads(s *Store) *blockingReadSeen {
	h := &blockingReadSeen{seen: make(chan struct{})}
	s.Client().AddHook(h)
	return h
}

func (h *blockingReadSeen) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *blockingReadSeen) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if isBlockingRead(cmd) {
			h.once.Do(func() { close(h.seen) })
		}
		return next(ctx, cmd)
	}
}

func (h *blockingReadSeen) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// isBlockingRead is an XREADGROUP or XREAD with BLOCK.
func isBlockingRead(cmd redis.Cmder) bool {
	if cmd.Name() != "xreadgroup" && cmd.Name() != "xread" {
		return false
	}
	for _, a := range cmd.Args() {
		if s, ok := a.(string); ok && strings.EqualFold(s, "block") {
			return true
		}
	}
	return false
}

// hangGuard bounds a wait that must end; it is a deadlock detector, not a
// timing assertion (a blocked read returns within a one-second slice).
const hangGuard = 30 * time.Second

func awaitSignal(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(hangGuard):
		t.Fatal(what)
	}
}

type consumeResult struct {
	got []Delivery
	err error
}

func TestStoreConsumeBlock(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		require.NoError(t, s.EnsureGroup(ctx, GroupProcessors))
		blocking := watchBlockingReads(s)

		t.Run("cancelled", func(t *testing.T) {
			cctx, cancel := context.WithCancel(ctx)
			defer cancel()
			done := make(chan consumeResult, 1)
			go func() {
				got, err := s.Consume(cctx, GroupProcessors, "blocked", ConsumeOptions{Block: time.Hour})
				done <- consumeResult{got, err}
			}()
			awaitSignal(t, blocking.seen, "the consumer never started a blocking read")
			cancel()
			select {
			case res := <-done:
				require.Error(t, res.err)
				assert.ErrorIs(t, res.err, context.Canceled)
				assert.Contains(t, res.err.Error(), "consume processors/blocked")
				assert.Empty(t, res.got)
			case <-time.After(hangGuard):
				t.Fatal("Consume did not return after its context was cancelled")
			}
		})

		t.Run("cancelled before", func(t *testing.T) {
			cctx, cancel := context.WithCancel(ctx)
			cancel()
			_, err := s.Consume(cctx, GroupProcessors, "late", ConsumeOptions{Block: time.Hour})
			assert.ErrorIs(t, err, context.Canceled)
		})

		t.Run("woken by an append", func(t *testing.T) {
			woken := watchBlockingReads(s)
			cctx, cancel := context.WithCancel(ctx)
			defer cancel() // stops the read if the test fails before it returns
			done := make(chan consumeResult, 1)
			go func() {
				got, err := s.Consume(cctx, GroupProcessors, "waiter", ConsumeOptions{Block: time.Hour})
				done <- consumeResult{got, err}
			}()
			awaitSignal(t, woken.seen, "the consumer never started a blocking read")
			c := submitAndRun(t, s)
			select {
			case res := <-done:
				require.NoError(t, res.err)
				require.Len(t, res.got, 1)
				assert.Equal(t, c.ID, res.got[0].Event.ClaimID)
			case <-time.After(hangGuard):
				t.Fatal("Consume did not return the appended event")
			}
		})
	})
}

// TestConsumeOverPartitionsWakesAtOnce: a consume over several partitions
// waits with an XREAD of every stream (one per stream on a cluster). An
// append made while that read is on its way must end the wait, and so
// must a cancel, without waiting for the reads of the streams that got
// nothing: a hook holds those until Consume has returned, as a read that
// stays blocked for the rest of its slice.
func TestConsumeOverPartitionsWakesAtOnce(t *testing.T) {
	t.Parallel()
	forEachBackendWith(t, Options{Partitions: 6}, func(t *testing.T, s *Store, _ *fakeClock) {
		ctx := context.Background()
		require.NoError(t, s.EnsureGroup(ctx, GroupProcessors))

		t.Run("woken by an append", func(t *testing.T) {
			h := holdIdleWaits(t, s)
			cctx, cancel := context.WithCancel(ctx)
			defer cancel()
			done := make(chan consumeResult, 1)
			go func() {
				got, err := s.Consume(cctx, GroupProcessors, "waiter", ConsumeOptions{Block: time.Hour})
				done <- consumeResult{got, err}
			}()
			awaitSignal(t, h.sent, "the consumer never started a blocking read")
			c := submitAndRun(t, s)
			close(h.appended) // the waiting reads reach the server after the entry
			select {
			case res := <-done:
				require.NoError(t, res.err)
				require.Len(t, res.got, 1)
				assert.Equal(t, c.ID, res.got[0].Event.ClaimID)
			case <-time.After(hangGuard):
				t.Fatal("Consume did not return the event appended while it was about to wait")
			}
		})

		t.Run("cancelled", func(t *testing.T) {
			if !cluster(s) {
				// One server waits in one XREAD, which go-redis cannot
				// interrupt: TestStoreConsumeBlock has it end with its slice.
				t.Skip("one XREAD for every partition: nothing to stop waiting for")
			}
			h := holdIdleWaits(t, s)
			cctx, cancel := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() {
				_, err := s.Consume(cctx, GroupProcessors, "cancelled", ConsumeOptions{Block: time.Hour})
				done <- err
			}()
			awaitSignal(t, h.sent, "the consumer never started a blocking read")
			cancel()
			close(h.appended)
			select {
			case err := <-done:
				assert.ErrorIs(t, err, context.Canceled)
			case <-time.After(hangGuard):
				t.Fatal("Consume did not return after its context was cancelled")
			}
		})
	})
}

// idleWaits is a go-redis hook on blocking XREADs: each waits for
// appended before it is sent, and one that comes back empty is held until
// the test ends.
type idleWaits struct {
	once              sync.Once
	sent              chan struct{} // closed when the first is on its way
	appended, release chan struct{}
}

func holdIdleWaits(t *testing.T, s *Store) *idleWaits {
	h := &idleWaits{sent: make(chan struct{}), appended: make(chan struct{}), release: make(chan struct{})}
	s.Client().AddHook(h)
	t.Cleanup(func() { close(h.release) })
	return h
}

func (h *idleWaits) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *idleWaits) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() != "xread" || !isBlockingRead(cmd) {
			return next(ctx, cmd)
		}
		h.once.Do(func() { close(h.sent) })
		select {
		case <-h.appended:
		case <-h.release:
		}
		err := next(ctx, cmd)
		if errors.Is(err, redis.Nil) {
			<-h.release
		}
		return err
	}
}

func (h *idleWaits) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// replayFixture writes six events at known minutes past storeT0:
//
//	0 A submitted, 1 A assigned, 2 A uploaded, 3 B submitted, 4 B rejected, 5 A investigating
func replayFixture(t *testing.T, s *Store, clock *fakeClock) (a, b string, entries []EntryRef) {
	t.Helper()
	ctx := context.Background()
	emit := func(minute int, claimID string, typ claims.EventType, data map[string]any) string {
		clock.Set(storeT0.Add(time.Duration(minute) * time.Minute))
		ev, _, err := s.Emit(ctx, claimID, typ, data, EmitOptions{})
		require.NoError(t, err)
		entries = append(entries, EntryRef{Stream: s.Keys().ForClaim(ev.ClaimID).Events(), ID: ev.ID})
		return ev.ClaimID
	}
	sub := validPayloads()[claims.ClaimSubmitted]
	a = emit(0, "", claims.ClaimSubmitted, sub)
	emit(1, a, claims.ClaimAssigned, map[string]any{"adjuster": "ADJ-001"})
	emit(2, a, claims.DocumentUploaded, map[string]any{"document_type": "photo", "filename": "a.jpg"})
	b = emit(3, "", claims.ClaimSubmitted, sub)
	emit(4, b, claims.ClaimRejected, map[string]any{"reason": "policy not found"})
	emit(5, a, claims.ClaimInvestigated, map[string]any{"phase": "started"})
	return a, b, entries
}

func TestStoreReplay(t *testing.T) {
	t.Parallel()
	forEachBackendWith(t, Options{}, func(t *testing.T, s *Store, clock *fakeClock) {
		a, b, entries := replayFixture(t, s, clock)
		at := func(minute int) time.Time { return storeT0.Add(time.Duration(minute) * time.Minute) }
		every, ofA := []int{0, 1, 2, 3, 4, 5}, []int{0, 1, 2, 5}
		// An id bound applies to every partition, and ids of two streams
		// order only by millisecond: the entries between two ids are those
		// whose ids lie between (on one stream, those written between).
		between := func(from, to int, of []int) []int {
			var out []int
			for _, i := range of {
				id := entries[i].ID
				if claims.CompareIDs(id, entries[from].ID) >= 0 && claims.CompareIDs(id, entries[to].ID) <= 0 {
					out = append(out, i)
				}
			}
			return out
		}
		tests := []struct {
			name string
			opts ReplayOptions
			want []int // of the fixture's entries, in any order
		}{
			{"all", ReplayOptions{}, every},
			{"all in pages of 2", ReplayOptions{PageSize: 2}, every},
			{"pages of 4", ReplayOptions{PageSize: 4}, every},
			{"page of 1", ReplayOptions{PageSize: 1}, every},
			{"type", ReplayOptions{Type: claims.ClaimSubmitted, PageSize: 2}, []int{0, 3}},
			{"claim A", ReplayOptions{ClaimID: a}, ofA},
			{"claim B", ReplayOptions{ClaimID: b, PageSize: 2}, []int{3, 4}},
			{"claim and type", ReplayOptions{ClaimID: a, Type: claims.ClaimAssigned}, []int{1}},
			{"time window inclusive", ReplayOptions{FromTime: at(2), ToTime: at(4), PageSize: 2}, []int{2, 3, 4}},
			{"from time", ReplayOptions{FromTime: at(4).Add(time.Millisecond)}, []int{5}},
			{"to time", ReplayOptions{ToTime: at(1), PageSize: 2}, []int{0, 1}},
			{"claim and time", ReplayOptions{ClaimID: a, FromTime: at(1), ToTime: at(2)}, []int{1, 2}},
			{"id range", ReplayOptions{FromID: entries[1].ID, ToID: entries[4].ID, PageSize: 2}, between(1, 4, every)},
			{"id range of a claim", ReplayOptions{ClaimID: a, FromID: entries[1].ID, ToID: entries[4].ID}, between(1, 4, ofA)},
			{"open id bounds", ReplayOptions{FromID: "-", ToID: "+", PageSize: 2}, every},
			{"nothing", ReplayOptions{FromTime: at(6)}, nil},
		}
		for _, tt := range tests {
			var want []EntryRef
			for _, i := range tt.want {
				want = append(want, entries[i])
			}
			got := replayAll(t, s, tt.opts)
			assert.Equal(t, inReplayOrder(s, want), refsOf(got), tt.name)
			for _, d := range got {
				assert.NoError(t, d.Err, tt.name)
				assert.Equal(t, d.ID, d.Event.ID, tt.name)
			}
		}

		ctx := context.Background()
		err := s.Replay(ctx, ReplayOptions{Type: "claim.exploded"}, func(Delivery) error { return nil })
		assert.ErrorIs(t, err, claims.ErrInvalid)
		err = s.Replay(ctx, ReplayOptions{ClaimID: "nope"}, func(Delivery) error { return nil })
		assert.ErrorIs(t, err, claims.ErrNotFound)

		stop := errors.New("stop")
		seen := 0
		err = s.Replay(ctx, ReplayOptions{PageSize: 2}, func(Delivery) error {
			seen++
			if seen == 3 {
				return stop
			}
			return nil
		})
		assert.ErrorIs(t, err, stop, "the callback's error ends the replay")
		assert.Equal(t, 3, seen)

		cctx, cancel := context.WithCancel(ctx)
		cancel()
		err = s.Replay(cctx, ReplayOptions{PageSize: 2}, func(Delivery) error { return nil })
		assert.ErrorIs(t, err, context.Canceled)
	})
}

func TestParseBound(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		id   string
		at   time.Time
		fail bool
	}{
		{in: "1795597353284-0", id: "1795597353284-0"},
		{in: "1795597353284", id: "1795597353284"},
		{in: "-", id: "-"},
		{in: " + ", id: "+"},
		{in: "2026-11-25T10:00:00Z", at: storeT0},
		{in: "2026-11-25T11:00:00+01:00", at: storeT0},
		{in: "2026-11-25 10:00", at: storeT0},
		{in: "2026-11-25T10:00:00", at: storeT0},
		{in: "2026-11-25", at: storeT0.Add(-10 * time.Hour)},
		{in: "yesterday", fail: true},
		{in: "12-ab", fail: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			id, at, err := claims.ParseBound(tt.in)
			if tt.fail {
				assert.ErrorIs(t, err, claims.ErrInvalid)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.id, id)
			assert.True(t, tt.at.Equal(at), "got %s", at)
		})
	}
}

func TestStoreHistoryAndClaimAt(t *testing.T) {
	t.Parallel()
	forEachBackendWith(t, Options{}, func(t *testing.T, s *Store, clock *fakeClock) {
		ctx := context.Background()
		// One event every ten minutes: submitted at 10:00 ... paid at 11:10.
		_, c, err := s.Submit(ctx, testSubmission(), EmitOptions{})
		require.NoError(t, err)
		for _, st := range lifecycleSteps() {
			clock.Advance(10 * time.Minute)
			_, c, err = s.Emit(ctx, c.ID, st.Type, st.Data, EmitOptions{})
			require.NoError(t, err)
		}
		// A second claim interleaves nothing into the first's history.
		submitAndRun(t, s, lifecycleSteps()[0])

		history, err := s.History(ctx, c.ID)
		require.NoError(t, err)
		require.Len(t, history, 8)
		for i, e := range history {
			assert.Equal(t, int64(i+1), e.Version)
			assert.Equal(t, c.ID, e.ClaimID)
			assert.Equal(t, storeT0.Add(time.Duration(i)*10*time.Minute), e.OccurredAt)
			assert.Equal(t, c.Entries[i], e.ID)
		}
		folded, err := claims.Fold(history)
		require.NoError(t, err)
		assert.Equal(t, c, folded, "folding the history gives the aggregate")

		_, err = s.History(ctx, "nope")
		assert.ErrorIs(t, err, claims.ErrNotFound)

		tests := []struct {
			at      time.Time
			status  claims.Status
			version int64
		}{
			{storeT0, claims.StatusSubmitted, 1},
			{storeT0.Add(9 * time.Minute), claims.StatusSubmitted, 1},
			{storeT0.Add(10 * time.Minute), claims.StatusAssigned, 2},
			{storeT0.Add(35 * time.Minute), claims.StatusInvestigating, 4},
			{storeT0.Add(50 * time.Minute), claims.StatusApproved, 6},
			{storeT0.Add(65 * time.Minute), claims.StatusPaymentInitiated, 7},
			{storeT0.Add(70 * time.Minute), claims.StatusPaid, 8},
			{storeT0.Add(48 * time.Hour), claims.StatusPaid, 8},
		}
		for _, tt := range tests {
			got, err := s.ClaimAt(ctx, c.ID, tt.at)
			require.NoError(t, err, "at %s", tt.at)
			assert.Equal(t, tt.status, got.Status, "at %s", tt.at)
			assert.Equal(t, tt.version, got.Version, "at %s", tt.at)
			assert.Equal(t, c.Entries[:tt.version], got.Entries)
		}
		_, err = s.ClaimAt(ctx, c.ID, storeT0.Add(-time.Millisecond))
		assert.ErrorIs(t, err, claims.ErrNotFound)
		assert.Contains(t, err.Error(), "did not exist yet at 2026-11-25T09:59:59Z")

		// By version: exact even when events share a millisecond.
		for v := int64(1); v <= 8; v++ {
			got, err := s.ClaimAtVersion(ctx, c.ID, v)
			require.NoError(t, err)
			assert.Equal(t, v, got.Version)
			assert.Equal(t, history[v-1].OccurredAt, got.UpdatedAt)
		}
		for _, v := range []int64{0, 9} {
			_, err = s.ClaimAtVersion(ctx, c.ID, v)
			assert.ErrorIs(t, err, claims.ErrNotFound, "version %d", v)
		}
	})
}

func TestStoreState(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		k := s.Keys()

		st, err := s.State(ctx)
		require.NoError(t, err)
		require.Len(t, st.Streams, 3*k.Partitions()+1, "events, notifications and DLQ of each partition, and analytics")
		for i, key := range k.Streams() {
			node := ""
			if c, ok := s.rdb.(*redis.ClusterClient); ok {
				master, err := c.MasterForKey(ctx, key)
				require.NoError(t, err)
				node = master.Options().Addr
			}
			assert.Equal(t, streamview.StreamState{Key: key, Node: node}, st.Streams[i], "nothing exists yet")
			if cluster(s) {
				assert.NotEmpty(t, st.Streams[i].Node, "on a cluster each stream names its master")
			}
		}

		var entries []EntryRef
		for range 3 {
			entries = append(entries, entryOf(s, submitAndRun(t, s), 1))
		}
		first, last := idSpan(entries)
		require.NoError(t, s.EnsureGroup(ctx, GroupAnalytics))
		require.NoError(t, s.EnsureGroup(ctx, GroupAnalytics), "EnsureGroup is idempotent")
		got, err := s.Consume(ctx, GroupProcessors, "w1", ConsumeOptions{Count: 2})
		require.NoError(t, err)
		require.Len(t, got, 2)
		_, delivered := idSpan(refsOf(got))

		// Twice: the second call takes the consumers from its one pipeline.
		for round := range 2 {
			st, err = s.State(ctx)
			require.NoError(t, err)
			ev := st.Events()
			require.NotNil(t, ev)
			assert.True(t, ev.Exists)
			assert.Equal(t, int64(3), ev.Length)
			assert.Equal(t, first, ev.FirstID)
			assert.Equal(t, last, ev.LastID)
			require.Len(t, ev.Groups, 2, "round %d", round)
			assert.Equal(t, []string{GroupAnalytics, GroupProcessors}, []string{ev.Groups[0].Name, ev.Groups[1].Name}, "sorted by name")

			an := ev.Group(GroupAnalytics)
			assert.Zero(t, an.Pending)
			assert.Equal(t, int64(3), an.Lag, "round %d", round)
			assert.Empty(t, an.Consumers)
			pr := ev.Group(GroupProcessors)
			assert.Equal(t, int64(2), pr.Pending)
			assert.Equal(t, int64(1), pr.Lag, "round %d: lag after reading 2 of 3", round)
			assert.Equal(t, delivered, pr.LastDeliveredID, "the furthest any partition's position got")
			require.Len(t, pr.Consumers, 1)
			assert.Equal(t, "w1", pr.Consumers[0].Name)
			assert.Equal(t, int64(2), pr.Consumers[0].Pending)
			for _, g := range ev.Groups {
				assert.Equal(t, s.opts.CountLag, g.LagCounted, "the embedded server's lag is counted, real Redis's is trusted")
				assert.False(t, g.LagCapped)
			}
			assert.Nil(t, ev.Group("nope"))
			for _, key := range k.Streams()[k.Partitions():] {
				assert.False(t, st.Stream(key).Exists, "%s: only the event streams exist", key)
			}
		}
		assert.Nil(t, st.Stream("nope"))

		_, err = s.Consume(ctx, GroupProcessors, "w2", ConsumeOptions{})
		require.NoError(t, err)
		_, err = s.Consume(ctx, GroupAnalytics, "a1", ConsumeOptions{Count: 1})
		require.NoError(t, err)
		st, err = s.State(ctx)
		require.NoError(t, err)
		ev := st.Events()
		assert.Zero(t, ev.Group(GroupProcessors).Lag)
		assert.Equal(t, int64(3), ev.Group(GroupProcessors).Pending)
		assert.Equal(t, []string{"w1", "w2"}, []string{ev.Group(GroupProcessors).Consumers[0].Name, ev.Group(GroupProcessors).Consumers[1].Name})
		assert.Equal(t, int64(2), ev.Group(GroupAnalytics).Lag)
		require.Len(t, ev.Group(GroupAnalytics).Consumers, 1, "a group first seen with no consumers gets them on the next call")
	})
}

// TestStateLagAfterXDEL: real Redis reports a null lag once an entry the
// group has not read yet is deleted; State counts it from the stream.
func TestStateLagAfterXDEL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newRedisStore(t, Options{})
	var ids []string
	for range 5 {
		ids = append(ids, submitAndRun(t, s).Entries[0])
	}
	require.NoError(t, s.EnsureGroup(ctx, GroupAnalytics))
	_, err := s.Consume(ctx, GroupProcessors, "w1", ConsumeOptions{Count: 2})
	require.NoError(t, err)

	st, err := s.State(ctx)
	require.NoError(t, err)
	pr := st.Events().Group(GroupProcessors)
	assert.Equal(t, int64(3), pr.Lag)
	assert.False(t, pr.LagCounted, "real Redis knows the lag before any XDEL")

	require.NoError(t, s.Client().XDel(ctx, s.Keys().Events(), ids[3]).Err())
	raw, err := s.Client().XInfoGroups(ctx, s.Keys().Events()).Result()
	require.NoError(t, err)
	for _, g := range raw {
		require.Equal(t, int64(-1), g.Lag, "precondition: Redis reports a null lag for %s after XDEL", g.Name)
	}

	st, err = s.State(ctx)
	require.NoError(t, err)
	ev := st.Events()
	assert.Equal(t, int64(4), ev.Length)
	pr = ev.Group(GroupProcessors)
	assert.Equal(t, int64(2), pr.Lag, "ids[2] and ids[4] are still to read")
	assert.True(t, pr.LagCounted)
	an := ev.Group(GroupAnalytics)
	assert.Equal(t, int64(4), an.Lag)
	assert.True(t, an.LagCounted)
}

func TestStoreReport(t *testing.T) {
	t.Parallel()
	forEachBackendWith(t, Options{}, func(t *testing.T, s *Store, clock *fakeClock) {
		ctx := context.Background()
		paid := submitAndRun(t, s, lifecycleSteps()...)
		clock.Advance(time.Hour)
		submitAndRun(t, s, step(claims.ClaimRejected, "reason", "policy lapsed"))
		submitAndRun(t, s, lifecycleSteps()[:1]...)

		r, err := s.Report(ctx)
		require.NoError(t, err)
		assert.Equal(t, storeT0.Add(time.Hour), r.GeneratedAt)
		assert.Equal(t, 12, r.Events)
		assert.Equal(t, 3, r.Claims)
		assert.Zero(t, r.Malformed)
		assert.Zero(t, r.OutOfOrderEvents)
		assert.Equal(t, map[string]int{"paid": 1, "rejected": 1, "assigned": 1}, r.ByStatus)
		assert.Equal(t, map[string]int{"auto": 3}, r.ByClaimType)
		assert.Equal(t, []claims.HourCount{{Hour: "2026-11-25T10:00Z", Claims: 1}, {Hour: "2026-11-25T11:00Z", Claims: 2}}, r.ClaimsPerHour)
		assert.Equal(t, claims.AmountStats{Count: 3, Total: 7500, Average: 2500}, r.Claimed)
		assert.Equal(t, claims.AmountStats{Count: 1, Total: 2000, Average: 2000}, r.Paid)
		assert.Equal(t, 0.5, r.ApprovalRate)
		assert.Equal(t, []claims.AdjusterLoad{{Adjuster: "ADJ-001", Assigned: 2, Open: 1, Resolved: 1}}, r.AdjusterWorkload)

		history, err := s.History(ctx, paid.ID)
		require.NoError(t, err)
		assert.Equal(t, claims.BuildReport(history, r.GeneratedAt).Paid, r.Paid)
	})
}

func step(typ claims.EventType, kv ...any) lifecycleStep {
	return lifecycleStep{Type: typ, Data: withField(map[string]any{}, kv...)}
}

// TestStoreMalformedEntries: entries written by hand (redis-cli XADD) are
// handed out with Err set and skipped by the report, never fatal: an entry
// counts only if the store wrote it.
func TestStoreMalformedEntries(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		c := submitAndRun(t, s)
		good, err := claims.Event{
			Type: claims.ClaimApproved, ClaimID: c.ID, Version: 2, EventID: "by-hand", OccurredAt: storeT0,
			Actor: "redis-cli", Data: map[string]any{"approved_amount": 10.0},
		}.Fields()
		require.NoError(t, err)
		raw := [][]any{
			{"note", "hello from redis-cli"},
			{"type", "claim.exploded", "claim_id", c.ID},
			{"type", "claim.assigned", "claim_id", c.ID, "version", "2", "event_id", "x", "occurred_at", "2026-11-25T10:00:00Z", "actor", "me", "data", "{not json", "schema", "1"},
			good, // well-formed, but the store wrote no v2 of this claim
		}
		// By hand into the claim's own stream, after its first event.
		stream := s.Keys().ForClaim(c.ID).Events()
		var rawRefs []EntryRef
		for _, values := range raw {
			id, err := s.Client().XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: values}).Result()
			require.NoError(t, err)
			rawRefs = append(rawRefs, EntryRef{Stream: stream, ID: id})
		}
		after := submitAndRun(t, s, lifecycleSteps()[0])
		every := append(append([]EntryRef{entryOf(s, c, 1)}, rawRefs...), entryOf(s, after, 1), entryOf(s, after, 2))

		all := replayAll(t, s, ReplayOptions{PageSize: 2})
		assert.Equal(t, inReplayOrder(s, every), refsOf(all))
		reasons := map[EntryRef]string{}
		for _, d := range all {
			var me *claims.MalformedError
			if errors.As(d.Err, &me) {
				assert.Equal(t, d.ID, me.ID)
				reasons[d.Ref()] = me.Reason
				assert.NotEmpty(t, d.Fields)
			}
		}
		assert.Equal(t, map[EntryRef]string{
			rawRefs[0]: `field "type" is missing`,
			rawRefs[1]: `unknown event type "claim.exploded"`,
			rawRefs[2]: "data is not a JSON object",
			rawRefs[3]: "it claims to be v2 of claim " + claims.Short(c.ID) + ", but the store wrote that claim only up to v1",
		}, reasons)
		assert.Len(t, replayAll(t, s, ReplayOptions{Type: claims.ClaimSubmitted}), 2, "filters skip malformed entries")

		r, err := s.Report(ctx)
		require.NoError(t, err)
		assert.Equal(t, 3, r.Malformed)
		assert.Equal(t, 1, r.NotWritten, "the well-formed entry the store did not write")
		assert.Equal(t, 3, r.Events)
		assert.Zero(t, r.OutOfOrderEvents)
		assert.Equal(t, 2, r.Claims)
		assert.Equal(t, map[string]int{"submitted": 1, "assigned": 1}, r.ByStatus)

		got, err := s.Consume(ctx, GroupAudit, "a1", ConsumeOptions{Count: 100})
		require.NoError(t, err)
		require.Equal(t, inConsumeOrder(s, every), refsOf(got))
		note := got[slices.Index(refsOf(got), rawRefs[0])]
		assert.Error(t, note.Err)
		assert.Equal(t, rawRefs[0].ID, note.Event.ID)
		assert.Equal(t, "hello from redis-cli", note.Fields["note"])
		n, err := s.AckEntries(ctx, GroupAudit, refsOf(got))
		require.NoError(t, err)
		assert.Equal(t, int64(7), n)

		stored, err := s.Claim(ctx, after.ID)
		require.NoError(t, err)
		assert.Equal(t, claims.StatusAssigned, stored.Status)
	})
}

// TestACopyInAnotherPartitionIsNotWritten: with partitions two streams
// can hold the same entry id, so an exact copy of a claim's entry, under
// its id, in a partition that is not the claim's, is an entry the store
// did not write: the integrity rule goes by stream and id.
func TestACopyInAnotherPartitionIsNotWritten(t *testing.T) {
	t.Parallel()
	forEachBackendWith(t, Options{Partitions: 6}, func(t *testing.T, s *Store, _ *fakeClock) {
		ctx := context.Background()
		c := submitAndRun(t, s)
		real := entryOf(s, c, 1)
		msgs, err := s.Client().XRange(ctx, real.Stream, real.ID, real.ID).Result()
		require.NoError(t, err)
		require.Len(t, msgs, 1)
		// Another partition, empty: an explicit id is accepted there.
		other := s.Keys().Partition((s.Keys().PartitionOf(c.ID) + 1) % s.Keys().Partitions()).Events()
		require.NoError(t, s.Client().XAdd(ctx, &redis.XAddArgs{Stream: other, ID: real.ID, Values: msgs[0].Values}).Err())
		copied := EntryRef{Stream: other, ID: real.ID}

		all := replayAll(t, s, ReplayOptions{})
		require.Equal(t, inReplayOrder(s, []EntryRef{real, copied}), refsOf(all))
		for _, d := range all {
			if d.Ref() == real {
				assert.NoError(t, d.Err)
				continue
			}
			assert.ErrorIs(t, d.Err, claims.ErrNotWritten)
			assert.ErrorContains(t, d.Err, "claim "+claims.Short(c.ID)+"'s events are in "+real.Stream+", not "+other)
		}
		r, err := s.Report(ctx)
		require.NoError(t, err)
		assert.Equal(t, 1, r.Events, "the claim's submission counts once")
		assert.Equal(t, 1, r.NotWritten)

		got, err := s.Consume(ctx, GroupAudit, "a1", ConsumeOptions{Count: 10})
		require.NoError(t, err)
		require.Equal(t, inConsumeOrder(s, []EntryRef{real, copied}), refsOf(got))
		for _, d := range got {
			assert.Equal(t, d.Ref() != real, errors.Is(d.Err, claims.ErrNotWritten), "%v", d.Ref())
		}
		// Its dead letter is not put back: streams/workers' TestACopysDeadLetterIsNotRetried.
	})
}

// TestStateLagAfterAOFRewriteAndRestart: Redis 7.0 restores a stale
// entries-read after BGREWRITEAOF and a restart, so it reports lag for a
// group that was handed the last entry; the state view says 0.
func TestStateLagAfterAOFRewriteAndRestart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := redistest.Start(t, redistest.WithAOF())
	s := newTestStore(t, srv.Addr(), Options{})
	for range 4 {
		submitAndRun(t, s)
	}
	consumeAll := func(count int64) {
		ds, err := s.Consume(ctx, GroupProcessors, "w1", ConsumeOptions{Count: count})
		require.NoError(t, err)
		_, err = s.Ack(ctx, GroupProcessors, deliveryIDs(ds)...)
		require.NoError(t, err)
	}
	consumeAll(2)
	// The rewrite records entries-read as it is now; what the group reads
	// after it is logged without it.
	require.NoError(t, s.Client().BgRewriteAOF(ctx).Err())
	waitForCondition(t, "the AOF rewrite", func() bool {
		info, err := s.Client().Info(ctx, "persistence").Result()
		return err == nil && strings.Contains(info, "aof_rewrite_in_progress:0") && !strings.Contains(info, "aof_rewrite_scheduled:1")
	})
	consumeAll(100)
	srv.Restart(t)
	raw, err := s.Client().XInfoGroups(ctx, s.Keys().Events()).Result()
	require.NoError(t, err)
	require.Len(t, raw, 1)
	require.NotZero(t, raw[0].Lag, "precondition: Redis reports a stale lag after the restart")
	st, err := s.State(ctx)
	require.NoError(t, err)
	g := st.Events().Group(GroupProcessors)
	assert.Zero(t, g.Lag, "the group was handed the last entry")
	assert.Zero(t, g.Pending)
}

// TestSubmitMany: every submission is checked before anything is written;
// the rest are appended as Submit appends them, a chunk per call.
func TestSubmitMany(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		subs := make([]NewClaim, 250)
		for i := range subs {
			sub := testSubmission()
			sub.Amount = float64(100 + i)
			subs[i] = sub.NewClaim()
		}
		bad := append([]NewClaim(nil), subs...)
		bad[137] = NewClaim{Data: withField(subs[137].Data, "amount", -5.0)}
		_, err := s.SubmitMany(ctx, bad, BulkOptions{Chunk: 40})
		var be *BulkError
		require.ErrorAs(t, err, &be)
		assert.Equal(t, 138, be.Index, "1-based, as Lua counts")
		assert.ErrorIs(t, err, claims.ErrInvalid)
		assert.Contains(t, err.Error(), "submission 138: claim.submitted: amount must be greater than 0")
		assert.Zero(t, xlen(t, s), "nothing written")

		var progress []int
		res, err := s.SubmitMany(ctx, subs, BulkOptions{Chunk: 40, Progress: func(done, total int) {
			assert.Equal(t, 250, total)
			progress = append(progress, done)
		}})
		require.NoError(t, err)
		assert.Equal(t, 250, res.Submitted)
		assert.Equal(t, int64(250), xlen(t, s))
		require.Len(t, progress, 7)
		assert.Equal(t, 250, progress[len(progress)-1])
		for i, id := range res.ClaimIDs {
			c, err := s.Claim(ctx, id)
			require.NoError(t, err)
			assert.Equal(t, int64(1), c.Version)
			assert.Equal(t, float64(100+i), c.Amount)
			assert.Equal(t, []string{res.EntryIDs[i]}, c.Entries)
		}
		// A claim id that exists is refused by the script; the others go in.
		again := []NewClaim{testSubmission().NewClaim(), testSubmission().NewClaim()}
		again[0].ClaimID = res.ClaimIDs[0]
		res2, err := s.SubmitMany(ctx, again, BulkOptions{})
		assert.ErrorIs(t, err, claims.ErrConflict)
		assert.Contains(t, err.Error(), "submission 1: claim "+res.ClaimIDs[0]+" exists already")
		assert.Equal(t, 1, res2.Submitted)
		dup := []NewClaim{testSubmission().NewClaim(), testSubmission().NewClaim()}
		dup[0].ClaimID, dup[1].ClaimID = "same-id", "same-id"
		_, err = s.SubmitMany(ctx, dup, BulkOptions{})
		assert.ErrorContains(t, err, "submission 2: claim id same-id is also submission 1's")
	})
}

// TestAShortIDFindsItsClaimInAnyPartition: a prefix of a claim id does
// not hash to its claim's partition, so another process (no claim of its
// own in memory) looks for it in every one, on every master.
func TestAShortIDFindsItsClaimInAnyPartition(t *testing.T) {
	t.Parallel()
	forEachBackendWith(t, Options{Partitions: 6}, func(t *testing.T, s *Store, _ *fakeClock) {
		ctx := context.Background()
		var ids []string
		for p := range s.Keys().Partitions() {
			ids = append(ids, claimIDsIn(s, p, 1)...)
		}
		ids = append(ids, "abcdefgh-1", "abcdefgh-2")
		for _, id := range ids {
			sub := testSubmission()
			sub.ClaimID = id
			_, _, err := s.Submit(ctx, sub, EmitOptions{})
			require.NoError(t, err)
		}
		other := s.WithPrefix(s.Keys().Prefix)
		for _, id := range ids[:len(ids)-2] {
			got, err := other.Claim(ctx, id[:8])
			require.NoError(t, err, "claim %s in partition %d", id[:8], s.Keys().PartitionOf(id))
			assert.Equal(t, id, got.ID)
		}
		_, err := other.Claim(ctx, "abcdefgh")
		assert.ErrorIs(t, err, claims.ErrInvalid)
		assert.ErrorContains(t, err, "claim id abcdefgh is ambiguous, it starts abcdefgh-1, abcdefgh-2")
		_, err = other.Claim(ctx, "zzzzzzzz")
		assert.ErrorIs(t, err, claims.ErrNotFound)
	})
}

// TestPaymentIDsAreUnique: a payment id belongs to one claim across the
// keyspace (every partition); a refused or failed payment leaves the id
// free and writes nothing.
func TestPaymentIDsAreUnique(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		approved := lifecycleSteps()[:5]
		a, b, c := submitAndRun(t, s, approved...), submitAndRun(t, s, approved...), submitAndRun(t, s, approved...)
		pay := func(claim *claims.Claim, id string, opts EmitOptions) error {
			_, _, err := s.Emit(ctx, claim.ID, claims.PaymentInitiated, map[string]any{"payment_id": id}, opts)
			return err
		}
		require.NoError(t, pay(a, "PAY-1", EmitOptions{}))
		before := xlen(t, s)
		err := pay(b, "PAY-1", EmitOptions{})
		assert.ErrorIs(t, err, claims.ErrInvalid)
		assert.ErrorContains(t, err, `payment_id must be unique: "PAY-1" is already the payment of claim `+claims.Short(a.ID))
		assert.Equal(t, before, xlen(t, s), "nothing written")

		// Another process pays b first; this one, working from the state it
		// holds, reserves PAY-2 and loses the race in the script. PAY-2
		// stays b's: whether a payment whose reply was lost landed cannot
		// be told, so a reservation is never given back.
		other := s.WithPrefix(s.Keys().Prefix)
		_, _, err = other.Emit(ctx, b.ID, claims.PaymentInitiated, map[string]any{"payment_id": "PAY-3"}, EmitOptions{})
		require.NoError(t, err)
		err = pay(b, "PAY-2", EmitOptions{})
		assert.ErrorContains(t, err, "payment_initiated", "refused once the claim was read again")
		err = pay(c, "PAY-2", EmitOptions{})
		assert.ErrorIs(t, err, claims.ErrInvalid)
		assert.ErrorContains(t, err, `"PAY-2" is reserved by claim `+claims.Short(b.ID)+", whose payment with it did not go through; choose another")
		require.NoError(t, pay(c, "PAY-4", EmitOptions{}))

		owners, err := s.Client().HGetAll(ctx, s.Keys().Payments()).Result()
		require.NoError(t, err)
		assert.Equal(t, map[string]string{"PAY-1": a.ID, "PAY-2": b.ID, "PAY-3": b.ID, "PAY-4": c.ID}, owners)
	})
}
