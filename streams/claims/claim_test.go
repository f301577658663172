package claims

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var claimT0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// lifecycleEvents is a full claim lifecycle, submitted to paid, one event
// a minute from t0, as a reader decodes it (float64 numbers).
func lifecycleEvents(claimID string, t0 time.Time) []Event {
	payloads := []struct {
		typ  EventType
		data map[string]any
	}{
		{ClaimSubmitted, map[string]any{"customer_id": "CUST-0001", "policy_id": "POL-0001", "amount": 2500.0, "claim_type": "auto", "incident_date": "2026-11-20", "description": "rear-ended"}},
		{ClaimAssigned, map[string]any{"adjuster": "ADJ-001"}},
		{DocumentUploaded, map[string]any{"document_type": "photo", "filename": "bumper.jpg"}},
		{ClaimInvestigated, map[string]any{"phase": "started"}},
		{ClaimInvestigated, map[string]any{"phase": "completed", "findings": "damage matches", "fraud_risk": "low"}},
		{ClaimApproved, map[string]any{"approved_amount": 2000.0}},
		{PaymentInitiated, map[string]any{"payment_id": "PAY-1", "amount": 2000.0, "method": "bank_transfer"}},
		{PaymentCompleted, map[string]any{"payment_id": "PAY-1", "amount": 2000.0}},
	}
	events := make([]Event, len(payloads))
	for i, p := range payloads {
		events[i] = Event{
			ID: fmt.Sprintf("%d-0", t0.UnixMilli()+int64(i)), Type: p.typ, ClaimID: claimID,
			Version: int64(i + 1), EventID: fmt.Sprintf("ev-%s-%d", claimID, i+1),
			OccurredAt: t0.Add(time.Duration(i) * time.Minute), Actor: "tester", Data: p.data,
		}
	}
	return events
}

// claimIn folds the prefix of a lifecycle that leaves a claim in status.
func claimIn(t *testing.T, status Status) *Claim {
	t.Helper()
	all := lifecycleEvents("C-1", claimT0)
	prefix := map[Status][]Event{
		StatusNone:             nil,
		StatusSubmitted:        all[:1],
		StatusAssigned:         all[:2],
		StatusInvestigating:    all[:4],
		StatusInvestigated:     all[:5],
		StatusApproved:         all[:6],
		StatusRejected:         append(all[:1:1], rejectedEvent("C-1", 2, claimT0.Add(time.Minute))),
		StatusPaymentInitiated: all[:7],
		StatusPaid:             all,
	}
	events, ok := prefix[status]
	require.True(t, ok, "no prefix for %s", status)
	c, err := Fold(events)
	require.NoError(t, err)
	if status == StatusNone {
		c.ID = "C-1"
	}
	require.Equal(t, status, c.Status)
	return c
}

func rejectedEvent(claimID string, version int64, at time.Time) Event {
	return Event{
		ID: fmt.Sprintf("%d-0", at.UnixMilli()), Type: ClaimRejected, ClaimID: claimID, Version: version,
		EventID: fmt.Sprintf("rej-%s-%d", claimID, version), OccurredAt: at, Actor: "processor",
		Data: map[string]any{"reason": "policy POL-0001 lapsed", "code": "policy_inactive"},
	}
}

// transitionCommand is an event a test tries on a claim, with a payload that passes
// every cross-event check of a claim from claimIn.
type transitionCommand struct {
	name string
	typ  EventType
	data map[string]any
}

var transitionCommands = []transitionCommand{
	{"submit", ClaimSubmitted, validPayloads()[ClaimSubmitted]},
	{"assign", ClaimAssigned, map[string]any{"adjuster": "ADJ-002"}},
	{"upload", DocumentUploaded, map[string]any{"document_type": "invoice", "filename": "a.pdf"}},
	{"investigate-started", ClaimInvestigated, map[string]any{"phase": "started"}},
	{"investigate-completed", ClaimInvestigated, map[string]any{"phase": "completed", "findings": "ok"}},
	{"approve", ClaimApproved, map[string]any{"approved_amount": 2000.0}},
	{"reject", ClaimRejected, map[string]any{"reason": "fraud suspected", "code": "fraud"}},
	{"pay", PaymentInitiated, map[string]any{"payment_id": "PAY-1", "amount": 2000.0, "method": "check"}},
	{"settle", PaymentCompleted, map[string]any{"payment_id": "PAY-1", "amount": 2000.0}},
}

// allowedCommands is the state machine of DESIGN.md, written out here
// independently of claim.go: status -> command -> resulting status.
var allowedCommands = map[Status]map[string]Status{
	StatusNone:      {"submit": StatusSubmitted},
	StatusSubmitted: {"assign": StatusAssigned, "upload": StatusSubmitted, "reject": StatusRejected},
	StatusAssigned: {
		"assign": StatusAssigned, "upload": StatusAssigned, "investigate-started": StatusInvestigating,
		"investigate-completed": StatusInvestigated, "reject": StatusRejected,
	},
	StatusInvestigating:    {"upload": StatusInvestigating, "investigate-completed": StatusInvestigated, "reject": StatusRejected},
	StatusInvestigated:     {"approve": StatusApproved, "reject": StatusRejected},
	StatusApproved:         {"pay": StatusPaymentInitiated},
	StatusRejected:         {},
	StatusPaymentInitiated: {"settle": StatusPaid},
	StatusPaid:             {},
}

func TestTransitionMatrix(t *testing.T) {
	t.Parallel()
	require.Len(t, allowedCommands, len(Statuses)+1, "every status has a row")
	for from, allowed := range allowedCommands {
		for _, cmd := range transitionCommands {
			to, ok := allowed[cmd.name]
			t.Run(from.String()+"/"+cmd.name, func(t *testing.T) {
				t.Parallel()
				c := claimIn(t, from)
				before := *c
				err := c.CheckTransition(cmd.typ, cmd.data)
				if ok {
					require.NoError(t, err)
					next := *c
					ev := Event{Type: cmd.typ, ClaimID: c.ID, Version: c.Version + 1, OccurredAt: claimT0.Add(time.Hour), Data: cmd.data}
					require.NoError(t, next.Apply(ev))
					assert.Equal(t, to, next.Status)
					assert.Equal(t, c.Version+1, next.Version)
					return
				}
				require.Error(t, err)
				assert.ErrorIs(t, err, ErrInvalidTransition)
				assert.NotErrorIs(t, err, ErrInvalid)
				var te *TransitionError
				require.ErrorAs(t, err, &te)
				assert.Equal(t, from, te.From)
				assert.Equal(t, cmd.typ, te.Event)
				assert.Contains(t, err.Error(), "claim is "+from.String())
				assert.Contains(t, err.Error(), string(cmd.typ))
				assert.Contains(t, err.Error(), "nothing written")
				assert.Equal(t, before, *c, "a refused transition leaves the claim alone")

				next := *c
				ev := Event{Type: cmd.typ, ClaimID: c.ID, Version: c.Version + 1, OccurredAt: claimT0.Add(time.Hour), Data: cmd.data}
				assert.ErrorIs(t, next.Apply(ev), ErrInvalidTransition, "Apply refuses what CheckTransition refuses")
			})
		}
	}
}

func TestForbiddenTransitionMessages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		from Status
		typ  EventType
		data map[string]any
		want string // the whole message: both states in words
	}{
		{"approve a submitted claim", StatusSubmitted, ClaimApproved, map[string]any{"approved_amount": 100.0},
			"claim is submitted; claim.approved needs an investigated claim (nothing written)"},
		{"pay before approve", StatusInvestigated, PaymentInitiated, map[string]any{"payment_id": "P", "amount": 1.0, "method": "card"},
			"claim is investigated; claim.payment.initiated needs an approved claim (nothing written)"},
		{"settle before pay", StatusApproved, PaymentCompleted, map[string]any{"payment_id": "P", "amount": 2000.0},
			"claim is approved; claim.payment.completed needs a payment_initiated claim (nothing written)"},
		{"investigate started twice", StatusInvestigating, ClaimInvestigated, map[string]any{"phase": "started"},
			"claim is investigating; claim.investigated needs an assigned claim (nothing written)"},
		{"investigate a submitted claim", StatusSubmitted, ClaimInvestigated, map[string]any{"phase": "completed", "findings": "x"},
			"claim is submitted; claim.investigated needs a claim that is assigned or investigating (nothing written)"},
		{"upload to an investigated claim", StatusInvestigated, DocumentUploaded, map[string]any{"document_type": "photo", "filename": "x"},
			"claim is investigated; claim.document.uploaded needs a claim that is submitted, assigned or investigating (nothing written)"},
		{"submit twice", StatusSubmitted, ClaimSubmitted, validPayloads()[ClaimSubmitted],
			"claim is submitted; claim.submitted needs a new claim id (nothing written)"},
		{"assign a new claim", StatusNone, ClaimAssigned, map[string]any{"adjuster": "A"},
			"claim is new; claim.assigned needs a claim that is submitted or assigned (nothing written)"},
		{"reject an approved claim", StatusApproved, ClaimRejected, map[string]any{"reason": "changed our mind"},
			"claim is approved; claim.rejected needs a claim that is submitted, assigned, investigating or investigated (nothing written)"},
		{"approve after rejected", StatusRejected, ClaimApproved, map[string]any{"approved_amount": 100.0},
			"claim is rejected, which is final; no claim.approved can follow (nothing written)"},
		{"reject after rejected", StatusRejected, ClaimRejected, map[string]any{"reason": "again"},
			"claim is rejected, which is final; no claim.rejected can follow (nothing written)"},
		{"upload after paid", StatusPaid, DocumentUploaded, map[string]any{"document_type": "receipt", "filename": "r.pdf"},
			"claim is paid, which is final; no claim.document.uploaded can follow (nothing written)"},
		{"settle after paid", StatusPaid, PaymentCompleted, map[string]any{"payment_id": "PAY-1", "amount": 2000.0},
			"claim is paid, which is final; no claim.payment.completed can follow (nothing written)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := claimIn(t, tt.from)
			err := c.CheckTransition(tt.typ, tt.data)
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrInvalidTransition)
			var te *TransitionError
			require.ErrorAs(t, err, &te)
			assert.Equal(t, "C-1", te.ClaimID)
			assert.Equal(t, tt.want, err.Error())
		})
	}
}

// Cross-event rules are about a field's value, not the claim's status, so
// they are validation errors naming the field (DESIGN.md: "approved amount
// <= claimed" is part of the schema), not transition errors.
func TestCrossEventRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		from  Status
		typ   EventType
		data  map[string]any
		field string
		rule  string
	}{
		{"approved amount above claimed", StatusInvestigated, ClaimApproved, map[string]any{"approved_amount": 2500.01},
			"approved_amount", "must be at most the claimed amount 2500, got 2500.01"},
		{"payment other than approved", StatusApproved, PaymentInitiated, map[string]any{"payment_id": "P", "amount": 1999.0, "method": "card"},
			"amount", "must equal the approved amount 2000, got 1999"},
		{"settle with wrong payment id", StatusPaymentInitiated, PaymentCompleted, map[string]any{"payment_id": "PAY-2", "amount": 2000.0},
			"payment_id", `must be the initiated payment PAY-1, got "PAY-2"`},
		{"settle with wrong amount", StatusPaymentInitiated, PaymentCompleted, map[string]any{"payment_id": "PAY-1", "amount": 20.0},
			"amount", "must equal the approved amount 2000, got 20"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := claimIn(t, tt.from)
			requireValidation(t, c.CheckTransition(tt.typ, tt.data), tt.typ, tt.field, tt.rule)
			ev := Event{Type: tt.typ, ClaimID: c.ID, Version: c.Version + 1, Data: tt.data}
			before := *c
			assert.ErrorIs(t, c.Apply(ev), ErrInvalid)
			assert.Equal(t, before, *c)
		})
	}
	t.Run("approved amount equal to claimed", func(t *testing.T) {
		t.Parallel()
		c := claimIn(t, StatusInvestigated)
		assert.NoError(t, c.CheckTransition(ClaimApproved, map[string]any{"approved_amount": 2500.0}))
	})
}

func TestFoldFullLifecycle(t *testing.T) {
	t.Parallel()
	events := lifecycleEvents("C-1", claimT0)
	c, err := Fold(events)
	require.NoError(t, err)

	ids := make([]string, len(events))
	for i, e := range events {
		ids[i] = e.ID
	}
	want := &Claim{
		ID: "C-1", Status: StatusPaid, Version: 8,
		CustomerID: "CUST-0001", PolicyID: "POL-0001", ClaimType: "auto", IncidentDate: "2026-11-20",
		Description: "rear-ended", Amount: 2500, ApprovedAmount: 2000, PaidAmount: 2000,
		Adjuster: "ADJ-001", Documents: 1, Findings: "damage matches", FraudRisk: "low", PaymentID: "PAY-1",
		SubmittedAt: claimT0, UpdatedAt: claimT0.Add(7 * time.Minute),
		DecidedAt: claimT0.Add(5 * time.Minute), PaidAt: claimT0.Add(7 * time.Minute),
		Entries: ids,
	}
	assert.Equal(t, want, c)
	assert.True(t, c.Status.Final())
	assert.True(t, c.Status.Decided())
}

func TestFoldRejected(t *testing.T) {
	t.Parallel()
	events := lifecycleEvents("C-1", claimT0)[:2]
	events = append(events, rejectedEvent("C-1", 3, claimT0.Add(time.Hour)))
	c, err := Fold(events)
	require.NoError(t, err)
	assert.Equal(t, StatusRejected, c.Status)
	assert.Equal(t, "policy POL-0001 lapsed", c.RejectionReason)
	assert.Equal(t, "policy_inactive", c.RejectionCode)
	assert.Equal(t, claimT0.Add(time.Hour), c.DecidedAt)
	assert.True(t, c.Status.Final())
	assert.True(t, c.Status.Decided())
}

func TestApplyRefusesVersionGaps(t *testing.T) {
	t.Parallel()
	events := lifecycleEvents("C-1", claimT0)
	tests := []struct {
		name    string
		version int64
	}{
		{"gap", 3},
		{"replayed", 1},
		{"zero", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := Fold(events[:1])
			require.NoError(t, err)
			ev := events[1]
			ev.Version = tt.version
			err = c.Apply(ev)
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrConflict)
			assert.Contains(t, err.Error(), fmt.Sprintf("v%d", tt.version))
			assert.Contains(t, err.Error(), "at v1")
			assert.Equal(t, int64(1), c.Version)
			assert.Equal(t, StatusSubmitted, c.Status)
		})
	}
	t.Run("fold stops at a gap", func(t *testing.T) {
		t.Parallel()
		gapped := append([]Event{events[0]}, events[2:]...)
		_, err := Fold(gapped)
		assert.ErrorIs(t, err, ErrConflict)
	})
}

func TestApplyRefusesAnotherClaimsEvent(t *testing.T) {
	t.Parallel()
	c, err := Fold(lifecycleEvents("C-1", claimT0)[:1])
	require.NoError(t, err)
	other := lifecycleEvents("C-2", claimT0)[1]
	err = c.Apply(other)
	assert.ErrorIs(t, err, ErrInvalidTransition)
	assert.Contains(t, err.Error(), "C-2")
	assert.Contains(t, err.Error(), "C-1")
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	t.Run("investigate completes by default", func(t *testing.T) {
		t.Parallel()
		got := claimIn(t, StatusAssigned).Defaults(ClaimInvestigated, map[string]any{"findings": "ok"})
		assert.Equal(t, map[string]any{"phase": "completed", "findings": "ok"}, got)
	})
	t.Run("pay takes the approved amount", func(t *testing.T) {
		t.Parallel()
		c := claimIn(t, StatusApproved)
		in := map[string]any{}
		got := c.Defaults(PaymentInitiated, in)
		assert.Empty(t, in, "the caller's map is not changed")
		assert.Equal(t, 2000.0, got["amount"])
		assert.Equal(t, "bank_transfer", got["method"])
		assert.Regexp(t, `^PAY-[0-9A-F]{8}$`, got["payment_id"])
		require.NoError(t, ValidateData(PaymentInitiated, got, schemaNow))
		require.NoError(t, c.CheckTransition(PaymentInitiated, got))
	})
	t.Run("settle takes the initiated payment", func(t *testing.T) {
		t.Parallel()
		got := claimIn(t, StatusPaymentInitiated).Defaults(PaymentCompleted, nil)
		assert.Equal(t, map[string]any{"amount": 2000.0, "payment_id": "PAY-1"}, got)
	})
	t.Run("given values win", func(t *testing.T) {
		t.Parallel()
		got := claimIn(t, StatusApproved).Defaults(PaymentInitiated, map[string]any{"method": "card", "payment_id": "X"})
		assert.Equal(t, "card", got["method"])
		assert.Equal(t, "X", got["payment_id"])
	})
}

func TestStatusWords(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "new", StatusNone.String())
	assert.Equal(t, "payment_initiated", StatusPaymentInitiated.String())
	for _, s := range Statuses {
		assert.Equal(t, s == StatusRejected || s == StatusPaid, s.Final(), "Final(%s)", s)
	}
}
